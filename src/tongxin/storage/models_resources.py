"""Tables for the resources part of the exchange (declared on the shared Base).

Resource kinds themselves (instruments, equipment, materials, …) are listings; these tables hold
what a listing row cannot: bookings and their guards (blackouts, trainings), innovation vouchers,
organisation facts for policy rules, and certification marks with their licences.

Money is stored in fen (分, integer); the core works in yuan.
Bookings name the user by an integer `user_id` (no foreign key: accounts are a separate module).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


class InstrumentBookingRow(Base):
    """One booking of an instrument (a listing of the bookable kind, see KindSpec.roles).

    Active bookings (pending, approved, used) of one instrument never overlap: PostgreSQL
    enforces it with an exclusion constraint, SQLite with triggers (migration 0003; a no-show
    releases its slot since 0009bill).
    """

    __tablename__ = "instrument_bookings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instrument_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text, default="")
    samples: Mapped[int] = mapped_column(Integer, default=0)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("innovation_vouchers.id", ondelete="RESTRICT"))
    voucher_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(String(500))  # why it was rejected / cancelled by the owner (0003b)
    # billing (0009bill)
    cost_centre: Mapped[str | None] = mapped_column(String(32))
    project_code: Mapped[str | None] = mapped_column(String(32))
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by: Mapped[int | None] = mapped_column(BigInteger)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_by: Mapped[int | None] = mapped_column(BigInteger)
    awaiting_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    billed_hours: Mapped[float | None] = mapped_column(Float)
    rate_fen: Mapped[int | None] = mapped_column(BigInteger)
    billing_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_instrument_bookings_order"),
        Index("ix_instrument_bookings_instrument_start", "instrument_id", "starts_at"),
        Index("ix_instrument_bookings_user_start", "user_id", "starts_at"),
        Index("ix_instrument_bookings_status_start", "status", "starts_at"),
    )


class InstrumentWaitlistRow(Base):
    """A researcher waiting for a taken slot; offered it (with a claim token) when it is freed (0009bill)."""

    __tablename__ = "instrument_waitlist"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instrument_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting, offered, claimed, expired, withdrawn
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    offered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    offer_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    booking_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (Index("ix_instrument_waitlist_instrument_status", "instrument_id", "status", "starts_at"),)


class VoucherSettlementRow(Base):
    """The voucher issuer paid the provider lab for a booking's voucher deduction (0009bill)."""

    __tablename__ = "voucher_settlements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    booking_id: Mapped[int] = mapped_column(BigId, ForeignKey("instrument_bookings.id", ondelete="RESTRICT"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    settled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[int | None] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(64), default="")


class InstrumentBlackoutRow(Base):
    __tablename__ = "instrument_blackouts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instrument_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200), default="")


class InstrumentTrainingRow(Base):
    __tablename__ = "instrument_trainings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instrument_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    trained_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("instrument_id", "user_id", name="uq_instrument_trainings_user"),)


class InnovationVoucherRow(Base):
    __tablename__ = "innovation_vouchers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    province: Mapped[str] = mapped_column(String(8))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    max_share: Mapped[float] = mapped_column(Float, default=0.5)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")

    __table_args__ = (CheckConstraint("balance_fen >= 0", name="ck_innovation_vouchers_balance"),)


class VoucherProviderRow(Base):
    """A region's recognition of a lab (organisation) as an innovation-voucher service provider."""

    __tablename__ = "voucher_providers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    province: Mapped[str] = mapped_column(String(8))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"))
    recognised_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("province", "org_id", name="uq_voucher_providers_org"),)


class VoucherUsageRow(Base):
    __tablename__ = "voucher_usages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    voucher_id: Mapped[int] = mapped_column(BigId, ForeignKey("innovation_vouchers.id", ondelete="RESTRICT"), index=True)
    booking_id: Mapped[int] = mapped_column(BigId, ForeignKey("instrument_bookings.id", ondelete="RESTRICT"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # positive: charged; negative: refunded on cancellation
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrganisationFactsRow(Base):
    """Facts policy rules ask about (age, size, certifications) beyond the organisation record."""

    __tablename__ = "organisation_facts"

    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    employees: Mapped[int | None] = mapped_column(Integer)
    revenue: Mapped[float | None] = mapped_column(Float)  # 万元
    certifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rd_spending: Mapped[float | None] = mapped_column(Float)  # 万元 a year (0007reg)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # an operator checked them against evidence
    verified_by: Mapped[int | None] = mapped_column(BigInteger)
    published: Mapped[list[Any] | None] = mapped_column(JSON)  # fact keys shown on the public page (0009facts; None: none)


class OrganisationFactEvidenceRow(Base):
    """A file (PDF or image) a firm attaches as evidence of its facts; for the firm and operators only (0009facts)."""

    __tablename__ = "organisation_fact_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    fact: Mapped[str] = mapped_column(String(32), default="")  # the fact it supports ("" = the facts in general)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)


class CertificationMarkRow(Base):
    __tablename__ = "certification_marks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    holder: Mapped[str] = mapped_column(String(200))
    mark_type: Mapped[str] = mapped_column(String(32))
    registration_no: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(6), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    holder_org_id: Mapped[int | None] = mapped_column(BigId)  # the mark owner's organisation on the platform (0007reg)


class MarkLicenceRow(Base):
    __tablename__ = "mark_licences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mark_id: Mapped[int] = mapped_column(BigId, ForeignKey("certification_marks.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    licence_no: Mapped[str] = mapped_column(String(64), unique=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    products: Mapped[str] = mapped_column(String(500), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)  # kept equal to status == "revoked"
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")  # active, suspended, revoked
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    reminded_for: Mapped[dt.date | None] = mapped_column(Date)  # the valid_until an expiry reminder went out for

    __table_args__ = (Index("ix_mark_licences_mark_org", "mark_id", "org_id"),)


class MarkLicenceEventRow(Base):
    """One change of a mark licence (issue, renew, suspend, reinstate, revoke, import, remind): the licence as it stood after it."""

    __tablename__ = "mark_licence_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_id: Mapped[int] = mapped_column(BigId, ForeignKey("mark_licences.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    products: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (Index("ix_mark_licence_events_licence", "licence_id", "id"),)
