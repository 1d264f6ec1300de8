"""organisations, listings and the listing change log

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(64), nullable=True, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False, unique=True),
        sa.Column("org_type", sa.String(32), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("industry", sa.String(8), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=False),
        sa.Column("contact_phone", sa.String(50), nullable=False),
        sa.Column("website", sa.String(200), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_organisations_region", "organisations", ["region"])
    op.create_table(
        "listings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(64), nullable=True, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("industry", sa.String(8), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("owner_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_listings_owner_id", "listings", ["owner_id"])
    op.create_index("ix_listings_kind_status", "listings", ["kind", "status"])
    op.create_index("ix_listings_region", "listings", ["region"])
    op.create_index("ix_listings_industry", "listings", ["industry"])
    op.create_table(
        "listing_changes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("listing_id", BigId, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_listing_changes_listing_id", "listing_changes", ["listing_id"])


def downgrade() -> None:
    op.drop_table("listing_changes")
    op.drop_table("listings")
    op.drop_table("organisations")
