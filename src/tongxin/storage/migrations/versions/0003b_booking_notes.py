"""instrument bookings: the owner's note on a decision (the reason for a rejection or a cancellation)

Revision ID: 0003b
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003b"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table rebuild on SQLite, so the no-overlap triggers stay)
    op.add_column("instrument_bookings", sa.Column("decision_note", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_column("instrument_bookings", "decision_note")  # SQLite ≥ 3.35 drops a column in place (triggers stay)
