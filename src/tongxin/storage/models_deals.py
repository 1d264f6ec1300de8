"""Tables for the deals part of the exchange (declared on the shared Base): deals and their stage
events, financial services attached to deals, the agreement register, technology contracts and
the listings they are linked to. Amounts are whole 元 (BIGINT): exact sums on every database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


class DealRow(Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # the accepted contact request this deal came from (models_accounts.contact_requests; no FK on purpose)
    contact_request_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    origin: Mapped[str] = mapped_column(String(16), default="contact")
    title: Mapped[str] = mapped_column(String(200))
    seller_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    listing_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    stage: Mapped[str] = mapped_column(String(16), default="contact")
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # user id (accounts), no FK
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_activity_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_deals_stage", "stage"),)


class DealEventRow(Base):
    """Every stage change or note on a deal: who, when, what."""

    __tablename__ = "deal_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deal_id: Mapped[int] = mapped_column(BigId, ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_org_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DealFinanceRow(Base):
    """A guarantee, loan or investment offer attached to a deal, with its own status."""

    __tablename__ = "deal_finance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deal_id: Mapped[int] = mapped_column(BigId, ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    provider_org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="SET NULL"))
    amount_yuan: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="offered")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgreementRow(Base):
    """The agreement register: NDAs, licences, development contracts with their dates."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    agreement_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    party_a_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"))
    party_b_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    remind_days: Mapped[int] = mapped_column(Integer, default=30)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TechContractRow(Base):
    """A signed technology contract (技术合同). Regions are the parties' regions at signing."""

    __tablename__ = "tech_contracts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contract_no: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    contract_type: Mapped[str] = mapped_column(String(16))
    seller_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    seller_region: Mapped[str] = mapped_column(String(6))
    buyer_region: Mapped[str] = mapped_column(String(6))
    amount_yuan: Mapped[int] = mapped_column(BigInteger)
    tech_amount_yuan: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    park: Mapped[str] = mapped_column(String(100), default="")
    industry: Mapped[str | None] = mapped_column(String(8))
    deal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    registration_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the registration office's workflow (core.contracts.STATUSES): submitted → under_review → registered / returned
    status: Mapped[str] = mapped_column(String(16), default="submitted", server_default="submitted")
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")  # the reasons of the last return
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)  # user id (accounts), no FK
    submitted_org_id: Mapped[int | None] = mapped_column(BigInteger)  # the party that submitted
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger)  # the registrar who took it into review or decided

    __table_args__ = (Index("ix_tech_contracts_signed_on", "signed_on"), Index("ix_tech_contracts_status", "status"))


class TechContractEventRow(Base):
    """Each step of a contract's registration: submit, resubmit, review, return, register, import."""

    __tablename__ = "tech_contract_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("tech_contracts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_org_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # the status after this step
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field → [before, after] (resubmit); reason codes (return)

    __table_args__ = (Index("ix_tech_contract_events_contract", "contract_id", "id"),)


class TechContractListingRow(Base):
    __tablename__ = "tech_contract_listings"

    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("tech_contracts.id", ondelete="CASCADE"), primary_key=True)
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, index=True)
