"""Tables for alerts: the outbox, preferences, subscriptions, the delivered log, outgoing mail
and webhooks (declared on the shared Base).

Nothing lost: an event enters the outbox in the transaction that makes it true (a listing's
publication). Nothing doubled: `alert_items` is unique on (user, listing); a mail carries an
idempotency key (its Message-ID) and is claimed before it is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId

_TS = DateTime(timezone=True)


class OutboxRow(Base):
    """Events waiting to be turned into alerts (topic "listing.published": payload {"listing_id"})."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    available_at: Mapped[dt.datetime] = mapped_column(_TS)  # not before (backoff after a failure)
    locked_until: Mapped[dt.datetime | None] = mapped_column(_TS)  # claimed by a sender until then
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)  # given up after MAX_ATTEMPTS
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_outbox_pending", "done_at", "available_at"),)


class AlertPrefRow(Base):
    """One person's alert settings; no row means the defaults (core.alerts.DEFAULT_PREFERENCES)."""

    __tablename__ = "alert_prefs"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    frequency: Mapped[str] = mapped_column(String(16))
    min_band: Mapped[str] = mapped_column(String(16))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class OrgAlertPrefRow(Base):
    """An organisation's default alert settings, set by its administrators: its people who never set
    their own (no AlertPrefRow) take these; none means the platform defaults."""

    __tablename__ = "org_alert_prefs"

    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    frequency: Mapped[str] = mapped_column(String(16))
    min_band: Mapped[str] = mapped_column(String(16))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class SubscriptionRow(Base):
    """A saved search (kind, q, filters) or a follow (of an organisation, industry or region)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    q: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target: Mapped[str] = mapped_column(String(32), default="")
    min_band: Mapped[str] = mapped_column(String(16), default="possible")
    frequency: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    checked_upto: Mapped[int] = mapped_column(BigId, default=0)  # outbox events up to this id are evaluated


class AlertItemRow(Base):
    """The delivered log: one listing for one person, at most once ever."""

    __tablename__ = "alert_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    about_listing_id: Mapped[int | None] = mapped_column(BigId)
    subscription_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("subscriptions.id", ondelete="SET NULL"))
    relevance: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    due_at: Mapped[dt.datetime] = mapped_column(_TS)
    mail_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("mail_outbox.id", ondelete="SET NULL"), index=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)  # e-mail off: in-app only

    __table_args__ = (UniqueConstraint("user_id", "listing_id", name="uq_alert_items_user_listing"),
                      Index("ix_alert_items_due", "mail_id", "skipped", "due_at"))


class MailRow(Base):
    """One e-mail to send. `key` is its idempotency key and Message-ID; status pending → sending
    (claimed, `locked_until`) → sent, or failed after MAX_ATTEMPTS."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    to: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    unsubscribe_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(_TS)
    locked_until: Mapped[dt.datetime | None] = mapped_column(_TS)
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    sent_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_mail_outbox_status_next", "status", "next_attempt_at"),)


class WebhookRow(Base):
    """An organisation's webhook: alerts for its people are POSTed there as signed JSON."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(_TS, server_default=func.now())


class WebhookDeliveryRow(Base):
    """One call of a webhook (the delivery log its owner reads); retried like a mail."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)  # idempotency key, sent as X-Tongxin-Delivery
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(_TS)
    locked_until: Mapped[dt.datetime | None] = mapped_column(_TS)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    sent_at: Mapped[dt.datetime | None] = mapped_column(_TS)

    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)


class SentNoticeRow(Base):
    """Notices already posted (a reminder, an answer, an eligibility): the key is the idempotency
    key, so the same notice never goes out twice, however often the scans that find it run."""

    __tablename__ = "sent_notices"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(_TS)

