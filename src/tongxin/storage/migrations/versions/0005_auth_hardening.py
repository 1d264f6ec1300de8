"""auth hardening: API token expiry, per-account sign-in backoff, per-address rate events

Revision ID: 0005
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", TS, nullable=True))  # plain ADD COLUMN, no table rebuild
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("email"),
    )
    op.create_table(
        "rate_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_events_bucket_key_at", "rate_events", ["bucket", "key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_events_bucket_key_at", table_name="rate_events")
    op.drop_table("rate_events")
    op.drop_table("login_throttles")
    op.drop_column("api_tokens", "expires_at")
