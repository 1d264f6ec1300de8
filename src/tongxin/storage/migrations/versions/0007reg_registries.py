"""registries the operators run: mark licence status and history, the mark owner organisation,
organisation facts with R&D spending and operator verification

Revision ID: 0007reg
Revises: 0003b
"""
import sqlalchemy as sa
from alembic import op

revision = "0007reg"
down_revision = "0003b"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    # plain ADD COLUMNs (no table rebuild on SQLite)
    op.add_column("certification_marks", sa.Column("holder_org_id", BigId, nullable=True))  # the mark owner's organisation, when on the platform
    op.add_column("mark_licences", sa.Column("status", sa.String(16), nullable=False, server_default="active"))
    op.add_column("mark_licences", sa.Column("status_reason", sa.Text(), nullable=False, server_default=""))
    op.add_column("mark_licences", sa.Column("reminded_for", sa.Date(), nullable=True))  # the valid_until an expiry reminder was sent for
    op.execute("UPDATE mark_licences SET status = 'revoked' WHERE revoked = true")
    op.execute("UPDATE certification_marks SET holder_org_id = (SELECT o.id FROM organisations o WHERE o.name = certification_marks.holder"
               " ORDER BY o.id LIMIT 1)")
    op.create_table(
        "mark_licence_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("licence_id", BigId, sa.ForeignKey("mark_licences.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),  # issue, renew, suspend, reinstate, revoke, import, remind
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("products", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("ix_mark_licence_events_licence", "mark_licence_events", ["licence_id", "id"])
    op.add_column("organisation_facts", sa.Column("rd_spending", sa.Float(), nullable=True))  # 万元 a year
    op.add_column("organisation_facts", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("organisation_facts", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("organisation_facts", sa.Column("verified_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for c in ("verified_by", "verified_at", "updated_at", "rd_spending"):
        op.drop_column("organisation_facts", c)
    op.drop_index("ix_mark_licence_events_licence", "mark_licence_events")
    op.drop_table("mark_licence_events")
    for c in ("reminded_for", "status_reason", "status"):
        op.drop_column("mark_licences", c)
    op.drop_column("certification_marks", "holder_org_id")
