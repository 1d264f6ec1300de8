"""curated recommendations: what was recommended, and each recipient's answer per listing

Revision ID: 0008cur
Revises: 0007c
"""
import sqlalchemy as sa
from alembic import op

revision = '0008cur'
down_revision = '0007c'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('recommendations',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('author_user_id', _ID, nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('listing_ids', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('left_out', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendations_author_user_id'), ['author_user_id'], unique=False)

    op.create_table('recommendation_items',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('recommendation_id', _ID, nullable=False),
    sa.Column('org_id', _ID, nullable=False),
    sa.Column('listing_id', _ID, nullable=False),
    sa.Column('response', sa.String(length=16), nullable=True),
    sa.Column('responded_by', _ID, nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responded_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'listing_id', name='uq_recommendation_items_org_listing')
    )
    with op.batch_alter_table('recommendation_items', schema=None) as batch_op:
        batch_op.create_index('ix_recommendation_items_rec', ['recommendation_id', 'org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recommendation_items', schema=None) as batch_op:
        batch_op.drop_index('ix_recommendation_items_rec')
    op.drop_table('recommendation_items')
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendations_author_user_id'))
    op.drop_table('recommendations')
