"""deals and their events, deal financial services, agreements, technology contracts

Revision ID: 0004
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("contact_request_id", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("seller_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("buyer_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("listing_ids", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_deals_seller_org_id", "deals", ["seller_org_id"])
    op.create_index("ix_deals_buyer_org_id", "deals", ["buyer_org_id"])
    op.create_index("ix_deals_stage", "deals", ["stage"])
    op.create_table(
        "deal_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deal_id", BigId, sa.ForeignKey("deals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=True),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_org_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_deal_events_deal_id", "deal_events", ["deal_id"])
    op.create_table(
        "deal_finance",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deal_id", BigId, sa.ForeignKey("deals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provider_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True),
        sa.Column("amount_yuan", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_deal_finance_deal_id", "deal_finance", ["deal_id"])
    op.create_table(
        "agreements",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deal_id", BigId, sa.ForeignKey("deals.id", ondelete="SET NULL"), nullable=True),
        sa.Column("agreement_type", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("party_a_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("party_b_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("remind_days", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_agreements_deal_id", "agreements", ["deal_id"])
    op.create_index("ix_agreements_expires_on", "agreements", ["expires_on"])
    op.create_table(
        "tech_contracts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("contract_no", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("contract_type", sa.String(16), nullable=False),
        sa.Column("seller_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("buyer_org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("seller_region", sa.String(6), nullable=False),
        sa.Column("buyer_region", sa.String(6), nullable=False),
        sa.Column("amount_yuan", sa.BigInteger(), nullable=False),
        sa.Column("tech_amount_yuan", sa.BigInteger(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("park", sa.String(100), nullable=False),
        sa.Column("industry", sa.String(8), nullable=True),
        sa.Column("deal_id", BigId, sa.ForeignKey("deals.id", ondelete="SET NULL"), nullable=True),
        sa.Column("registration_no", sa.String(32), nullable=True, unique=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_tech_contracts_seller_org_id", "tech_contracts", ["seller_org_id"])
    op.create_index("ix_tech_contracts_buyer_org_id", "tech_contracts", ["buyer_org_id"])
    op.create_index("ix_tech_contracts_deal_id", "tech_contracts", ["deal_id"])
    op.create_index("ix_tech_contracts_signed_on", "tech_contracts", ["signed_on"])
    op.create_table(
        "tech_contract_listings",
        sa.Column("contract_id", BigId, sa.ForeignKey("tech_contracts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("listing_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_tech_contract_listings_listing_id", "tech_contract_listings", ["listing_id"])


def downgrade() -> None:
    op.drop_table("tech_contract_listings")
    op.drop_table("tech_contracts")
    op.drop_table("agreements")
    op.drop_table("deal_finance")
    op.drop_table("deal_events")
    op.drop_table("deals")
