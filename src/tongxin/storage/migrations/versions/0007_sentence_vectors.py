"""evidence: sentence vectors per listing and their queue

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "listing_sentence_vectors",
        sa.Column("listing_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(40), nullable=False),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("vectors", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_table(
        "sentence_queue",
        sa.Column("listing_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
    )
    op.create_index("ix_sentence_queue_leased_until", "sentence_queue", ["leased_until"])


def downgrade() -> None:
    op.drop_index("ix_sentence_queue_leased_until", "sentence_queue")
    op.drop_table("sentence_queue")
    op.drop_table("listing_sentence_vectors")
