"""instrument billing: check-in / check-out and billed hours, cost centres and project codes, the
waitlist with claim offers, voucher settlements; a no-show releases its slot (the no-overlap guard
now covers pending, approved and used bookings)

Revision ID: 0009bill
Revises: 0007reg
"""
import sqlalchemy as sa
from alembic import op

revision = "0009bill"
down_revision = "0007reg"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# must equal tongxin.core.booking.BLOCKING
BLOCKING = "('pending', 'approved', 'used')"
OLD_BLOCKING = "('pending', 'approved', 'used', 'no_show')"


def _guard(blocking: str) -> None:
    """Replace the no-overlap guard of migration 0003 with one over `blocking` statuses."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE instrument_bookings DROP CONSTRAINT IF EXISTS ex_instrument_bookings_no_overlap")
        op.execute(f"ALTER TABLE instrument_bookings ADD CONSTRAINT ex_instrument_bookings_no_overlap "
                   f"EXCLUDE USING gist (instrument_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN {blocking})")
    elif dialect == "sqlite":
        overlap = (f"SELECT RAISE(ABORT, 'ex_instrument_bookings_no_overlap') WHERE EXISTS (SELECT 1 FROM instrument_bookings b "
                   f"WHERE b.instrument_id = NEW.instrument_id AND b.id IS NOT NEW.id AND b.status IN {blocking} "
                   f"AND b.starts_at < NEW.ends_at AND b.ends_at > NEW.starts_at)")
        op.execute("DROP TRIGGER IF EXISTS trg_instrument_bookings_no_overlap_ins")
        op.execute("DROP TRIGGER IF EXISTS trg_instrument_bookings_no_overlap_upd")
        op.execute(f"CREATE TRIGGER trg_instrument_bookings_no_overlap_ins BEFORE INSERT ON instrument_bookings "
                   f"WHEN NEW.status IN {blocking} BEGIN {overlap}; END")
        op.execute(f"CREATE TRIGGER trg_instrument_bookings_no_overlap_upd BEFORE UPDATE OF instrument_id, starts_at, ends_at, status "
                   f"ON instrument_bookings WHEN NEW.status IN {blocking} BEGIN {overlap}; END")


def upgrade() -> None:
    # plain ADD COLUMNs (no table rebuild on SQLite)
    op.add_column("instrument_bookings", sa.Column("cost_centre", sa.String(32), nullable=True))
    op.add_column("instrument_bookings", sa.Column("project_code", sa.String(32), nullable=True))
    op.add_column("instrument_bookings", sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("instrument_bookings", sa.Column("checked_in_by", sa.BigInteger(), nullable=True))
    op.add_column("instrument_bookings", sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("instrument_bookings", sa.Column("checked_out_by", sa.BigInteger(), nullable=True))
    op.add_column("instrument_bookings", sa.Column("awaiting_confirmation", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("instrument_bookings", sa.Column("billed_hours", sa.Float(), nullable=True))
    op.add_column("instrument_bookings", sa.Column("rate_fen", sa.BigInteger(), nullable=True))
    op.add_column("instrument_bookings", sa.Column("billing_note", sa.String(500), nullable=True))
    op.create_index("ix_instrument_bookings_status_start", "instrument_bookings", ["status", "starts_at"])
    op.create_table(
        "instrument_waitlist",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token", sa.String(64), nullable=True, unique=True),
        sa.Column("booking_id", BigId, nullable=True),
    )
    op.create_index("ix_instrument_waitlist_instrument_status", "instrument_waitlist", ["instrument_id", "status", "starts_at"])
    op.create_table(
        "voucher_settlements",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("booking_id", BigId, sa.ForeignKey("instrument_bookings.id", ondelete="RESTRICT"), nullable=False, unique=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_by", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(64), nullable=False),
    )
    _guard(BLOCKING)


def downgrade() -> None:
    op.execute("UPDATE instrument_bookings SET status = 'cancelled' WHERE status = 'no_show'")  # released slots may be taken again
    _guard(OLD_BLOCKING)
    op.drop_table("voucher_settlements")
    op.drop_table("instrument_waitlist")
    op.drop_index("ix_instrument_bookings_status_start", "instrument_bookings")
    for c in ("billing_note", "rate_fen", "billed_hours", "awaiting_confirmation", "checked_out_by", "checked_out_at", "checked_in_by",
              "checked_in_at", "project_code", "cost_centre"):
        op.drop_column("instrument_bookings", c)
