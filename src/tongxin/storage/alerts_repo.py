"""Repositories for alerts. They flush, never commit (the service's transaction is the boundary).

Claiming work (`claim_*`): on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, so several senders
(web workers, hosts, cron) each take different rows; on SQLite the write transaction
(`BEGIN IMMEDIATE`) already admits one writer at a time. A claim sets `locked_until`; a sender
that dies leaves rows that become claimable again when it passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..core.alerts import DEFAULT_PREFERENCES, Frequency, Preferences
from .db import rowcount
from .models import ListingRow
from .models_accounts import MembershipRow, UserRow
from .models_alerts import (
    AlertItemRow,
    AlertPrefRow,
    MailRow,
    OrgAlertPrefRow,
    OutboxRow,
    SubscriptionRow,
    WebhookDeliveryRow,
    WebhookRow,
)

LEASE = dt.timedelta(minutes=5)  # a claimed row is someone's for this long


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(t: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; they were stored as UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _locking(s: Session, stmt: Any) -> Any:
    return stmt.with_for_update(skip_locked=True) if s.get_bind().dialect.name == "postgresql" else stmt


# -- the outbox ------------------------------------------------------------------------------------

def enqueue(s: Session, topic: str, payload: dict[str, Any], at: dt.datetime | None = None) -> None:
    t = at or now()
    s.add(OutboxRow(topic=topic, payload=payload, created_at=t, available_at=t, attempts=0, failed=False, last_error=""))
    s.flush()


def enqueue_many(s: Session, topic: str, payloads: Sequence[dict[str, Any]], at: dt.datetime | None = None) -> None:
    """One event per payload, in one executemany (bulk imports)."""
    if not payloads:
        return
    t = at or now()
    s.execute(insert(OutboxRow), [{"topic": topic, "payload": p, "created_at": t, "available_at": t, "attempts": 0, "failed": False,
                                   "last_error": ""} for p in payloads])


def claim_events(s: Session, limit: int, at: dt.datetime | None = None, topics: Sequence[str] = ()) -> list[OutboxRow]:
    """Due events (of these topics; all when none are given), claimed for LEASE."""
    t = at or now()
    stmt = (select(OutboxRow).where(OutboxRow.done_at.is_(None), OutboxRow.available_at <= t,
                                    or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until < t))
            .order_by(OutboxRow.id).limit(limit))
    if topics:
        stmt = stmt.where(OutboxRow.topic.in_(list(topics)))
    rows = list(s.scalars(_locking(s, stmt)))
    for r in rows:
        r.locked_until = t + LEASE
    s.flush()
    return rows


def pending_events(s: Session) -> int:
    from sqlalchemy import func

    return int(s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_(None))) or 0)


def last_event_id(s: Session) -> int:
    from sqlalchemy import func

    return int(s.scalar(select(func.max(OutboxRow.id))) or 0)


def failed_events(s: Session, limit: int = 50) -> list[OutboxRow]:
    return list(s.scalars(select(OutboxRow).where(OutboxRow.failed.is_(True)).order_by(OutboxRow.id.desc()).limit(limit)))


# -- preferences and subscriptions -----------------------------------------------------------------

def prefs_of(row: AlertPrefRow | None) -> Preferences:
    if row is None:
        return DEFAULT_PREFERENCES
    return Preferences(Frequency(row.frequency), row.min_band, tuple(row.kinds or ()), tuple(row.regions or ()), bool(row.email))


def prefs(s: Session, user_ids: Sequence[int]) -> dict[int, Preferences]:
    """Each person's settings in effect: their own when they set any, else their organisation's
    defaults (org_alert_prefs, with e-mail on), else DEFAULT_PREFERENCES."""
    rows = {r.user_id: r for r in s.scalars(select(AlertPrefRow).where(AlertPrefRow.user_id.in_(list(user_ids))))} if user_ids else {}
    rest = [u for u in user_ids if u not in rows]
    org_of = orgs_of_users(s, rest)
    defaults = org_prefs(s, sorted(set(org_of.values())))
    out = {u: prefs_of(r) for u, r in rows.items()}
    for u in rest:
        out[u] = defaults.get(org_of.get(u, -1)) or DEFAULT_PREFERENCES
    return out


def has_own_prefs(s: Session, user_id: int) -> bool:
    return s.get(AlertPrefRow, user_id) is not None


def forget_prefs(s: Session, user_id: int) -> None:
    """The person takes their organisation's defaults again."""
    row = s.get(AlertPrefRow, user_id)
    if row is not None:
        s.delete(row)
        s.flush()


def org_prefs(s: Session, org_ids: Sequence[int]) -> dict[int, Preferences]:
    """The organisations' default settings (only those that set them)."""
    if not org_ids:
        return {}
    q = select(OrgAlertPrefRow).where(OrgAlertPrefRow.org_id.in_(list(org_ids)))
    return {r.org_id: Preferences(Frequency(r.frequency), r.min_band, tuple(r.kinds or ()), tuple(r.regions or ())) for r in s.scalars(q)}


def save_org_prefs(s: Session, org_id: int, p: Preferences) -> None:
    row = s.get(OrgAlertPrefRow, org_id)
    if row is None:
        row = OrgAlertPrefRow(org_id=org_id)
        s.add(row)
    row.frequency, row.min_band, row.kinds, row.regions = p.frequency.value, p.min_band, list(p.kinds), list(p.regions)
    row.updated_at = now()
    s.flush()


def forget_org_prefs(s: Session, org_id: int) -> None:
    row = s.get(OrgAlertPrefRow, org_id)
    if row is not None:
        s.delete(row)
        s.flush()


def save_prefs(s: Session, user_id: int, p: Preferences) -> None:
    row = s.get(AlertPrefRow, user_id)
    if row is None:
        row = AlertPrefRow(user_id=user_id)
        s.add(row)
    row.frequency, row.min_band, row.kinds, row.regions, row.email = p.frequency.value, p.min_band, list(p.kinds), list(p.regions), p.email
    row.updated_at = now()
    s.flush()


def members_of(s: Session, org_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """Active users of these organisations: org id → [(user id, e-mail)]."""
    out: dict[int, list[tuple[int, str]]] = {o: [] for o in org_ids}
    if not org_ids:
        return out
    q = (select(MembershipRow.org_id, UserRow.id, UserRow.email).join(UserRow, UserRow.id == MembershipRow.user_id)
         .where(MembershipRow.org_id.in_(list(org_ids)), UserRow.active.is_(True)).order_by(UserRow.id))
    for org_id, uid, email in s.execute(q):
        out[int(org_id)].append((int(uid), str(email)))
    return out


def mark_checked(s: Session, upto: dict[int, int]) -> None:
    """Saved searches evaluated up to these outbox ids (subscription id → id); one UPDATE per id."""
    by_upto: dict[int, list[int]] = {}
    for sid, u in upto.items():
        by_upto.setdefault(u, []).append(sid)
    for u, sids in by_upto.items():
        s.execute(update(SubscriptionRow).where(SubscriptionRow.id.in_(sids), SubscriptionRow.checked_upto < u).values(checked_upto=u))


def orgs_of_users(s: Session, user_ids: Sequence[int]) -> dict[int, int]:
    """Active users' organisations: user id → org id (users without one are left out)."""
    if not user_ids:
        return {}
    q = (select(MembershipRow.user_id, MembershipRow.org_id).join(UserRow, UserRow.id == MembershipRow.user_id)
         .where(MembershipRow.user_id.in_(list(user_ids)), UserRow.active.is_(True)).order_by(MembershipRow.id))
    out: dict[int, int] = {}
    for uid, org_id in s.execute(q):
        out.setdefault(int(uid), int(org_id))
    return out


def subscriptions(s: Session, user_id: int | None = None, types: Sequence[str] = (), active_only: bool = False) -> list[SubscriptionRow]:
    q = select(SubscriptionRow).order_by(SubscriptionRow.id)
    if user_id is not None:
        q = q.where(SubscriptionRow.user_id == user_id)
    if types:
        q = q.where(SubscriptionRow.type.in_(list(types)))
    if active_only:
        q = q.where(SubscriptionRow.frequency != Frequency.OFF.value)
    return list(s.scalars(q))


# -- the delivered log -----------------------------------------------------------------------------

def add_items(s: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert alert items, skipping any (user, listing) already in the log. Returns how many were new."""
    if not rows:
        return 0
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(AlertItemRow).on_conflict_do_nothing(index_elements=["user_id", "listing_id"]).returning(AlertItemRow.id)
    return len(s.execute(stmt, list(rows)).all())  # executemany in batches (insertmanyvalues); RETURNING counts the new rows


def seen(s: Session, user_ids: Sequence[int], listing_ids: Sequence[int]) -> set[tuple[int, int]]:
    if not user_ids or not listing_ids:
        return set()
    q = select(AlertItemRow.user_id, AlertItemRow.listing_id).where(AlertItemRow.user_id.in_(list(user_ids)),
                                                                    AlertItemRow.listing_id.in_(list(listing_ids)))
    return {(int(u), int(x)) for u, x in s.execute(q)}


def due_items(s: Session, at: dt.datetime, user_id: int | None = None, limit: int = 50_000) -> list[AlertItemRow]:
    q = (select(AlertItemRow).where(AlertItemRow.mail_id.is_(None), AlertItemRow.skipped.is_(False), AlertItemRow.due_at <= at)
         .order_by(AlertItemRow.user_id, AlertItemRow.id).limit(limit))
    if user_id is not None:
        q = q.where(AlertItemRow.user_id == user_id)
    return list(s.scalars(_locking(s, q)))


def waiting_items(s: Session, user_id: int) -> list[AlertItemRow]:
    """Items not yet in any mail (due or not): what the next message would hold."""
    q = (select(AlertItemRow).where(AlertItemRow.user_id == user_id, AlertItemRow.mail_id.is_(None), AlertItemRow.skipped.is_(False))
         .order_by(AlertItemRow.id))
    return list(s.scalars(q))


def listing_titles(s: Session, ids: Sequence[int]) -> dict[int, ListingRow]:
    return {r.id: r for r in s.scalars(select(ListingRow).where(ListingRow.id.in_(list(ids))))} if ids else {}


# -- outgoing mail ---------------------------------------------------------------------------------

def add_mail(s: Session, key: str, user_id: int | None, to: str, subject: str, text: str, html: str = "",
             unsubscribe_url: str = "", at: dt.datetime | None = None) -> MailRow:
    t = at or now()
    row = MailRow(key=key, user_id=user_id, to=to, subject=subject[:300], text=text, html=html, unsubscribe_url=unsubscribe_url,
                  status="pending", attempts=0, next_attempt_at=t, created_at=t, last_error="")
    s.add(row)
    s.flush()
    return row


def mail_exists(s: Session, key: str) -> bool:
    return s.scalar(select(MailRow.id).where(MailRow.key == key)) is not None


def claim_mail(s: Session, limit: int, at: dt.datetime | None = None) -> list[MailRow]:
    """Pending mail whose time has come, plus mail whose sender's claim ran out (it died after
    claiming: the mail may or may not have left, and goes again under the same Message-ID)."""
    t = at or now()
    stmt = (select(MailRow).where(or_(and_(MailRow.status == "pending", MailRow.next_attempt_at <= t),
                                      and_(MailRow.status == "sending", MailRow.locked_until < t)))
            .order_by(MailRow.id).limit(limit))
    rows = list(s.scalars(_locking(s, stmt)))
    for r in rows:
        r.status, r.locked_until = "sending", t + LEASE
    s.flush()
    return rows


def mark_mail(s: Session, mail_id: int, sent: bool, error: str = "", retry: dt.datetime | None = None) -> None:
    """After a send: sent, or back to pending at `retry`, or failed (retry None)."""
    row = s.get(MailRow, mail_id)
    if row is None:
        return
    row.locked_until = None
    if sent:
        row.status, row.sent_at, row.attempts = "sent", now(), row.attempts + 1
        return
    row.attempts += 1
    row.last_error = error[:2000]
    if retry is None:
        row.status = "failed"
    else:
        row.status, row.next_attempt_at = "pending", retry


def mail_counts(s: Session) -> dict[str, int]:
    from sqlalchemy import func

    return {str(st): int(n) for st, n in s.execute(select(MailRow.status, func.count()).group_by(MailRow.status))}


# -- webhooks --------------------------------------------------------------------------------------

def webhooks_of(s: Session, org_ids: Sequence[int], active_only: bool = True) -> list[WebhookRow]:
    if not org_ids:
        return []
    q = select(WebhookRow).where(WebhookRow.org_id.in_(list(org_ids))).order_by(WebhookRow.id)
    if active_only:
        q = q.where(WebhookRow.active.is_(True))
    return list(s.scalars(q))


def add_delivery(s: Session, webhook_id: int, key: str, event: str, body: str, at: dt.datetime | None = None) -> bool:
    """Queue one webhook call; False when a call with this key exists already."""
    t = at or now()
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(WebhookDeliveryRow).values(webhook_id=webhook_id, key=key, event=event, body=body, status="pending", attempts=0,
                                          next_attempt_at=t, created_at=t, last_error="").on_conflict_do_nothing(index_elements=["key"])
    return rowcount(s.execute(stmt)) > 0


def claim_deliveries(s: Session, limit: int, at: dt.datetime | None = None) -> list[WebhookDeliveryRow]:
    t = at or now()
    stmt = (select(WebhookDeliveryRow).where(or_(and_(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= t),
                                                 and_(WebhookDeliveryRow.status == "sending", WebhookDeliveryRow.locked_until < t)))
            .order_by(WebhookDeliveryRow.id).limit(limit))
    rows = list(s.scalars(_locking(s, stmt)))
    for r in rows:
        r.status, r.locked_until = "sending", t + LEASE
    s.flush()
    return rows


def mark_delivery(s: Session, delivery_id: int, sent: bool, status: int | None, error: str = "", retry: dt.datetime | None = None) -> None:
    row = s.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return
    row.locked_until, row.response_status = None, status
    row.attempts += 1
    if sent:
        row.status, row.sent_at = "sent", now()
        return
    row.last_error = error[:2000]
    if retry is None:
        row.status = "failed"
    else:
        row.status, row.next_attempt_at = "pending", retry


def deliveries(s: Session, webhook_id: int, limit: int = 50) -> list[WebhookDeliveryRow]:
    return list(s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id)
                          .order_by(WebhookDeliveryRow.id.desc()).limit(limit)))


def release_stale(s: Session, at: dt.datetime | None = None) -> int:
    """Outbox events whose claim ran out become claimable (used by tests of a killed sender)."""
    t = at or now()
    return rowcount(s.execute(update(OutboxRow).where(OutboxRow.done_at.is_(None), OutboxRow.locked_until < t).values(locked_until=None)))
