"""Tables for the accounts part of the exchange (declared on the shared Base).

Secrets (session ids, API tokens, reset and invitation links) are stored only as SHA-256
digests; passwords only as argon2 hashes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId

_TS = DateTime(timezone=True)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")  # user, operator, admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())


class MembershipRow(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)  # one organisation per user
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member, org_admin
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())


class InvitationRow(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="member")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(_TS)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(_TS)


class SessionRow(Base):
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(_TS)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    expires_at: Mapped[dt.datetime | None] = mapped_column(_TS)  # None: never expires


class PasswordResetRow(Base):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(_TS)
    used_at: Mapped[dt.datetime | None] = mapped_column(_TS)


class LoginAttemptRow(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(200), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(_TS)


class LoginThrottleRow(Base):
    """Consecutive wrong passwords per e-mail (known or not) and when the next attempt is allowed.

    Claimed with a conditional UPDATE (… WHERE failures = :seen) before the password is checked,
    so concurrent guesses cannot share one allowance."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    updated_at: Mapped[dt.datetime | None] = mapped_column(_TS)


class RateEventRow(Base):
    """One counted request (bucket 'signup', …) per client address, for per-address limits."""

    __tablename__ = "rate_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(_TS)

    __table_args__ = (Index("ix_rate_events_bucket_key_at", "bucket", "key", "at"),)


class ContactRequestRow(Base):
    __tablename__ = "contact_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    from_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    to_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text)
    nda_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    decline_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now(), onupdate=func.now())


class ContactEventRow(Base):
    __tablename__ = "contact_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact_requests.id", ondelete="CASCADE"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # sent, accepted, declined
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(_TS)


class AccessGrantRow(Base):
    """Organisations that may read a confidential listing in full (current state)."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    granted_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())

    __table_args__ = (UniqueConstraint("listing_id", "org_id", name="uq_access_grants_listing_org"),)


class GrantLogRow(Base):
    """Every grant and revocation, append-only."""

    __tablename__ = "access_grant_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(BigId, index=True)
    org_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(16))  # grant, revoke
    actor_user_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(_TS)


class ListingReportRow(Base):
    __tablename__ = "listing_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    reporter_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())
    resolved_by: Mapped[int | None] = mapped_column(BigId)


class ListingModerationRow(Base):
    """Per-listing moderation state: hidden by an operator, or waiting for its organisation's verification."""

    __tablename__ = "listing_moderation"

    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    publish_on_verify: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now(), onupdate=func.now())


class NotificationRow(Base):
    """In-app notifications for an organisation (texts built through core.access)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    read_at: Mapped[dt.datetime | None] = mapped_column(_TS)
