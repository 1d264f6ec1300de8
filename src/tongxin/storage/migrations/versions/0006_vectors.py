"""semantic layer: stored listing vectors and the embedding queue

Revision ID: 0006
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "listing_vectors",
        sa.Column("listing_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(40), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_listing_vectors_created_at", "listing_vectors", ["created_at"])
    op.create_table(
        "embedding_queue",
        sa.Column("listing_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
    )
    op.create_index("ix_embedding_queue_leased_until", "embedding_queue", ["leased_until"])


def downgrade() -> None:
    op.drop_index("ix_embedding_queue_leased_until", "embedding_queue")
    op.drop_table("embedding_queue")
    op.drop_index("ix_listing_vectors_created_at", "listing_vectors")
    op.drop_table("listing_vectors")
