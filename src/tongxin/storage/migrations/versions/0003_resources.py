"""resources: instrument bookings (no-overlap guaranteed by the database), blackouts, trainings,
innovation vouchers, organisation facts, certification marks and licences

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# must equal tongxin.core.booking.BLOCKING
BLOCKING = "('pending', 'approved', 'used', 'no_show')"

_PG_EXCLUDE = f"""
ALTER TABLE instrument_bookings ADD CONSTRAINT ex_instrument_bookings_no_overlap
EXCLUDE USING gist (instrument_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
WHERE (status IN {BLOCKING})
"""

_SQLITE_OVERLAP = f"""
SELECT RAISE(ABORT, 'ex_instrument_bookings_no_overlap')
WHERE EXISTS (SELECT 1 FROM instrument_bookings b
              WHERE b.instrument_id = NEW.instrument_id AND b.id IS NOT NEW.id AND b.status IN {BLOCKING}
                AND b.starts_at < NEW.ends_at AND b.ends_at > NEW.starts_at)
"""


def _no_overlap_guard() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # btree_gist gives GiST an equality operator class for the integer column. It lives in
        # `public` so that schemas (tests use one per test) share it and dropping one keeps it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        op.execute(_PG_EXCLUDE)
    elif dialect == "sqlite":
        op.execute(f"CREATE TRIGGER trg_instrument_bookings_no_overlap_ins BEFORE INSERT ON instrument_bookings "
                   f"WHEN NEW.status IN {BLOCKING} BEGIN {_SQLITE_OVERLAP}; END")
        op.execute(f"CREATE TRIGGER trg_instrument_bookings_no_overlap_upd BEFORE UPDATE OF instrument_id, starts_at, ends_at, status "
                   f"ON instrument_bookings WHEN NEW.status IN {BLOCKING} BEGIN {_SQLITE_OVERLAP}; END")


def upgrade() -> None:
    op.create_table(
        "innovation_vouchers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("province", sa.String(8), nullable=False),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("max_share", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("balance_fen >= 0", name="ck_innovation_vouchers_balance"),
    )
    op.create_index("ix_innovation_vouchers_org_id", "innovation_vouchers", ["org_id"])
    op.create_table(
        "instrument_bookings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", BigId, sa.ForeignKey("listings.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("voucher_id", BigId, sa.ForeignKey("innovation_vouchers.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("voucher_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="ck_instrument_bookings_order"),
    )
    op.create_index("ix_instrument_bookings_org_id", "instrument_bookings", ["org_id"])
    op.create_index("ix_instrument_bookings_instrument_start", "instrument_bookings", ["instrument_id", "starts_at"])
    op.create_index("ix_instrument_bookings_user_start", "instrument_bookings", ["user_id", "starts_at"])
    _no_overlap_guard()
    op.create_table(
        "instrument_blackouts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_instrument_blackouts_instrument_id", "instrument_blackouts", ["instrument_id"])
    op.create_table(
        "instrument_trainings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", BigId, sa.ForeignKey("listings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.UniqueConstraint("instrument_id", "user_id", name="uq_instrument_trainings_user"),
    )
    op.create_table(
        "voucher_providers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("province", sa.String(8), nullable=False),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.UniqueConstraint("province", "org_id", name="uq_voucher_providers_org"),
    )
    op.create_table(
        "voucher_usages",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("voucher_id", BigId, sa.ForeignKey("innovation_vouchers.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("booking_id", BigId, sa.ForeignKey("instrument_bookings.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_voucher_usages_voucher_id", "voucher_usages", ["voucher_id"])
    op.create_index("ix_voucher_usages_booking_id", "voucher_usages", ["booking_id"])
    op.create_table(
        "organisation_facts",
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=True),
        sa.Column("certifications", sa.JSON(), nullable=False),
    )
    op.create_table(
        "certification_marks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("mark_type", sa.String(32), nullable=False),
        sa.Column("registration_no", sa.String(64), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
    )
    op.create_table(
        "mark_licences",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("mark_id", BigId, sa.ForeignKey("certification_marks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("org_id", BigId, sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("licence_no", sa.String(64), nullable=False, unique=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("products", sa.String(500), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_mark_licences_org_id", "mark_licences", ["org_id"])
    op.create_index("ix_mark_licences_mark_org", "mark_licences", ["mark_id", "org_id"])


def downgrade() -> None:
    for t in ("mark_licences", "certification_marks", "organisation_facts", "voucher_usages", "voucher_providers",
              "instrument_trainings", "instrument_blackouts", "instrument_bookings", "innovation_vouchers"):
        op.drop_table(t)  # triggers and the exclusion constraint go with their table
