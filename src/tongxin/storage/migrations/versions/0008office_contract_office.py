"""the technology-contract registration office: a status per contract (submitted, under review,
returned, registered) with the submitter and reviewer, and the history of each step

Revision ID: 0008office
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0008office"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    # plain ADD COLUMNs (no table rebuild on SQLite)
    op.add_column("tech_contracts", sa.Column("status", sa.String(16), nullable=False, server_default="submitted"))
    op.add_column("tech_contracts", sa.Column("status_reason", sa.Text(), nullable=False, server_default=""))
    op.add_column("tech_contracts", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tech_contracts", sa.Column("submitted_by", sa.BigInteger(), nullable=True))
    op.add_column("tech_contracts", sa.Column("submitted_org_id", sa.BigInteger(), nullable=True))
    op.add_column("tech_contracts", sa.Column("reviewer_id", sa.BigInteger(), nullable=True))
    # a contract that already carries an official number was registered; the others wait for the office
    op.execute("UPDATE tech_contracts SET status = 'registered' WHERE registration_no IS NOT NULL")
    op.execute("UPDATE tech_contracts SET submitted_at = created_at")
    op.create_index("ix_tech_contracts_status", "tech_contracts", ["status"])
    op.create_table(
        "tech_contract_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("contract_id", BigId, sa.ForeignKey("tech_contracts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),  # submit, resubmit, review, return, register, import
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_org_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
    )
    op.create_index("ix_tech_contract_events_contract", "tech_contract_events", ["contract_id", "id"])
    # the history of the contracts already there starts with how they came in
    empty = "CAST('{}' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'{}'"
    op.execute("INSERT INTO tech_contract_events (contract_id, action, at, actor, reason, status, changes) "
               f"SELECT id, 'import', created_at, 'migration', '', status, {empty} FROM tech_contracts")


def downgrade() -> None:
    op.drop_index("ix_tech_contract_events_contract", "tech_contract_events")
    op.drop_table("tech_contract_events")
    op.drop_index("ix_tech_contracts_status", "tech_contracts")
    for c in ("reviewer_id", "submitted_org_id", "submitted_by", "submitted_at", "status_reason", "status"):
        op.drop_column("tech_contracts", c)
