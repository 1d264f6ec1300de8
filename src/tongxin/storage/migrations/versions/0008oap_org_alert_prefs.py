"""organisation alert defaults: an organisation's administrators set the alert settings its people
take until they set their own

Revision ID: 0008oap
Revises: 0007a
"""
import sqlalchemy as sa
from alembic import op

revision = '0008oap'
down_revision = '0007a'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('org_alert_prefs',
    sa.Column('org_id', _ID, autoincrement=False, nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('min_band', sa.String(length=16), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id')
    )


def downgrade() -> None:
    op.drop_table('org_alert_prefs')
