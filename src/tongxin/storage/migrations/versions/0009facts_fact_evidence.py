"""organisation facts: which facts the firm publishes, and evidence files (PDF, images) for operators

Revision ID: 0009facts
Revises: 0007reg
"""
import sqlalchemy as sa
from alembic import op

revision = "0009facts"
down_revision = "0007reg"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("organisation_facts", sa.Column("published", sa.JSON(), nullable=True))  # fact keys shown publicly; NULL: none
    op.create_table(
        "organisation_fact_evidence",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fact", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_organisation_fact_evidence_org_id", "organisation_fact_evidence", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_organisation_fact_evidence_org_id", "organisation_fact_evidence")
    op.drop_table("organisation_fact_evidence")
    op.drop_column("organisation_facts", "published")
