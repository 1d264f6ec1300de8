"""notices: the idempotency keys of reminders and other notices

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


def downgrade() -> None:
    op.drop_table('sent_notices')
