"""notices (idempotency keys of reminders and other notices) and curated recommendations

Revision ID: 0007c
Revises: 0007a
"""
import sqlalchemy as sa
from alembic import op

revision = '0007c'
down_revision = '0007a'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sent_notices',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('org_id', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('recommendations',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('author_user_id', _ID, nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('listing_ids', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('recommendation_recipients',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('recommendation_id', _ID, nullable=False),
    sa.Column('org_id', _ID, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recommendation_id', 'org_id', name='uq_recommendation_recipients')
    )
    with op.batch_alter_table('recommendation_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_recipients_org_id'), ['org_id'], unique=False)

    op.create_table('recommendation_responses',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('recommendation_id', _ID, nullable=False),
    sa.Column('org_id', _ID, nullable=False),
    sa.Column('listing_id', _ID, nullable=False),
    sa.Column('response', sa.String(length=16), nullable=False),
    sa.Column('user_id', _ID, nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recommendation_id', 'org_id', 'listing_id', name='uq_recommendation_responses')
    )


def downgrade() -> None:
    op.drop_table('recommendation_responses')
    with op.batch_alter_table('recommendation_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_recipients_org_id'))
    op.drop_table('recommendation_recipients')
    op.drop_table('recommendations')
    op.drop_table('sent_notices')
