"""Repositories for accounts, organisations' people, contact requests, grants and moderation.
They flush, never commit (the service's transaction is the boundary)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..core.errors import Message, NotFound
from .db import rowcount
from .models import ListingRow, OrganisationRow
from .models_accounts import (
    AccessGrantRow,
    ApiTokenRow,
    ContactEventRow,
    ContactRequestRow,
    GrantLogRow,
    InvitationRow,
    ListingModerationRow,
    ListingReportRow,
    LoginAttemptRow,
    LoginThrottleRow,
    MembershipRow,
    NotificationRow,
    PasswordResetRow,
    RateEventRow,
    SessionRow,
    UserRow,
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Identity:
    """Everything needed to build a Viewer for one user."""

    user_id: int
    email: str
    name: str
    platform_role: str
    org_id: int | None
    org_role: str | None
    org_verified: bool
    org_name: str
    granted: frozenset[int] = field(default_factory=frozenset)


# -- users ------------------------------------------------------------------------------------------

def user_by_email(s: Session, email: str) -> UserRow | None:
    return s.scalar(select(UserRow).where(UserRow.email == email))


def get_user(s: Session, user_id: int) -> UserRow:
    u = s.get(UserRow, user_id)
    if u is None:
        raise NotFound(Message(f"用户 {user_id} 不存在", f"user {user_id} does not exist"))
    return u


def add_user(s: Session, email: str, name: str, password_hash: str, role: str = "user") -> UserRow:
    u = UserRow(email=email, name=name, password_hash=password_hash, role=role, active=True)
    s.add(u)
    s.flush()
    return u


def identity(s: Session, user_id: int) -> Identity | None:
    u = s.get(UserRow, user_id)
    if u is None or not u.active:
        return None
    m = s.scalar(select(MembershipRow).where(MembershipRow.user_id == user_id))
    org = s.get(OrganisationRow, m.org_id) if m else None
    granted: frozenset[int] = frozenset()
    if org is not None:
        granted = frozenset(int(x) for x in s.scalars(select(AccessGrantRow.listing_id).where(AccessGrantRow.org_id == org.id)))
    return Identity(u.id, u.email, u.name, u.role, org.id if org else None, m.role if m else None,
                    bool(org.verified) if org else False, org.name if org else "", granted)


def count_users(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(UserRow)) or 0)


# -- sessions, tokens, resets, login attempts -------------------------------------------------------

def add_session(s: Session, user_id: int, token_hash: str, expires_at: dt.datetime) -> None:
    s.add(SessionRow(user_id=user_id, token_hash=token_hash, expires_at=expires_at))
    s.flush()


def session_by_hash(s: Session, token_hash: str) -> SessionRow | None:
    return s.scalar(select(SessionRow).where(SessionRow.token_hash == token_hash))


def delete_session(s: Session, token_hash: str) -> None:
    s.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))


def delete_user_sessions(s: Session, user_id: int, keep: str | None = None) -> None:
    """End a user's sessions (all but the one whose digest is `keep`)."""
    q = delete(SessionRow).where(SessionRow.user_id == user_id)
    s.execute(q if keep is None else q.where(SessionRow.token_hash != keep))


def add_token(s: Session, user_id: int, name: str, prefix: str, token_hash: str, expires_at: dt.datetime | None = None) -> ApiTokenRow:
    t = ApiTokenRow(user_id=user_id, name=name, prefix=prefix, token_hash=token_hash, expires_at=expires_at)
    s.add(t)
    s.flush()
    return t


def revoke_user_tokens(s: Session, user_id: int) -> int:
    """Revoke every live API token of a user (after a password reset or change); returns how many."""
    q = update(ApiTokenRow).where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None)).values(revoked_at=now())
    return rowcount(s.execute(q))


def token_by_hash(s: Session, token_hash: str) -> ApiTokenRow | None:
    return s.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))


def user_tokens(s: Session, user_id: int) -> list[ApiTokenRow]:
    return list(s.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id)))


def add_reset(s: Session, user_id: int, token_hash: str, expires_at: dt.datetime) -> None:
    s.add(PasswordResetRow(user_id=user_id, token_hash=token_hash, expires_at=expires_at))
    s.flush()


def reset_by_hash(s: Session, token_hash: str) -> PasswordResetRow | None:
    return s.scalar(select(PasswordResetRow).where(PasswordResetRow.token_hash == token_hash))


def record_login(s: Session, email: str, ip: str, success: bool) -> None:
    s.add(LoginAttemptRow(email=email, ip=ip, success=success, at=now()))
    s.flush()


def throttle_state(s: Session, email: str) -> tuple[int, dt.datetime | None]:
    """(consecutive failures, next allowed attempt) for an e-mail; creates its row if missing."""
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(ins(LoginThrottleRow).values(email=email, failures=0).on_conflict_do_nothing(index_elements=["email"]))
    row = s.execute(select(LoginThrottleRow.failures, LoginThrottleRow.next_attempt_at).where(LoginThrottleRow.email == email)).one()
    nxt = row.next_attempt_at
    return int(row.failures), (nxt.replace(tzinfo=dt.UTC) if nxt is not None and nxt.tzinfo is None else nxt)


def claim_attempt(s: Session, email: str, seen: int, next_attempt_at: dt.datetime) -> bool:
    """Count one more failure in advance, only if nobody else did since we read `seen` (atomic on
    both databases: a conditional UPDATE). False means a concurrent attempt won."""
    q = (update(LoginThrottleRow).where(LoginThrottleRow.email == email, LoginThrottleRow.failures == seen)
         .values(failures=seen + 1, next_attempt_at=next_attempt_at, updated_at=now()))
    return rowcount(s.execute(q)) == 1


def clear_failures(s: Session, email: str) -> None:
    s.execute(update(LoginThrottleRow).where(LoginThrottleRow.email == email).values(failures=0, next_attempt_at=None, updated_at=now()))


def count_events(s: Session, bucket: str, key: str, since: dt.datetime) -> int:
    q = select(func.count()).select_from(RateEventRow).where(RateEventRow.bucket == bucket, RateEventRow.key == key, RateEventRow.at > since)
    return int(s.scalar(q) or 0)


def add_event_mark(s: Session, bucket: str, key: str, forget_before: dt.datetime) -> int:
    """Count one request; drops this key's marks older than `forget_before`. Returns the mark's id."""
    s.execute(delete(RateEventRow).where(RateEventRow.bucket == bucket, RateEventRow.key == key, RateEventRow.at < forget_before))
    e = RateEventRow(bucket=bucket, key=key, at=now())
    s.add(e)
    s.flush()
    return e.id


def drop_event_mark(s: Session, mark_id: int) -> None:
    s.execute(delete(RateEventRow).where(RateEventRow.id == mark_id))


# -- memberships and invitations ---------------------------------------------------------------------

def membership(s: Session, user_id: int) -> MembershipRow | None:
    return s.scalar(select(MembershipRow).where(MembershipRow.user_id == user_id))


def add_membership(s: Session, user_id: int, org_id: int, role: str) -> MembershipRow:
    m = MembershipRow(user_id=user_id, org_id=org_id, role=role)
    s.add(m)
    s.flush()
    return m


def members(s: Session, org_id: int) -> list[tuple[MembershipRow, UserRow]]:
    q = select(MembershipRow, UserRow).join(UserRow, MembershipRow.user_id == UserRow.id).where(MembershipRow.org_id == org_id).order_by(MembershipRow.id)
    return [(m, u) for m, u in s.execute(q)]


def add_invitation(s: Session, org_id: int, email: str, role: str, token_hash: str, invited_by: int, expires_at: dt.datetime) -> InvitationRow:
    i = InvitationRow(org_id=org_id, email=email, role=role, token_hash=token_hash, invited_by=invited_by, expires_at=expires_at)
    s.add(i)
    s.flush()
    return i


def invitation_by_hash(s: Session, token_hash: str) -> InvitationRow | None:
    return s.scalar(select(InvitationRow).where(InvitationRow.token_hash == token_hash))


def invitations(s: Session, org_id: int) -> list[InvitationRow]:
    return list(s.scalars(select(InvitationRow).where(InvitationRow.org_id == org_id).order_by(InvitationRow.id.desc())))


def org_admin_emails(s: Session, org_id: int) -> list[str]:
    q = select(UserRow.email).join(MembershipRow, MembershipRow.user_id == UserRow.id).where(MembershipRow.org_id == org_id)
    return list(s.scalars(q))


# -- organisations --------------------------------------------------------------------------------

def org_row(s: Session, org_id: int) -> OrganisationRow:
    r = s.get(OrganisationRow, org_id)
    if r is None:
        raise NotFound(Message(f"机构 {org_id} 不存在", f"organisation {org_id} does not exist"))
    return r


def org_by_credit_code(s: Session, code: str) -> OrganisationRow | None:
    return s.scalar(select(OrganisationRow).where(OrganisationRow.credit_code == code))


def orgs(s: Session, verified: bool | None = None, limit: int = 200, offset: int = 0) -> list[OrganisationRow]:
    q = select(OrganisationRow)
    if verified is not None:
        q = q.where(OrganisationRow.verified.is_(verified))
    return list(s.scalars(q.order_by(OrganisationRow.id.desc()).limit(limit).offset(offset)))


def count_orgs(s: Session, verified: bool | None = None) -> int:
    q = select(func.count()).select_from(OrganisationRow)
    if verified is not None:
        q = q.where(OrganisationRow.verified.is_(verified))
    return int(s.scalar(q) or 0)


def owner_listing_ids(s: Session, org_id: int) -> list[int]:
    return list(s.scalars(select(ListingRow.id).where(ListingRow.owner_id == org_id).order_by(ListingRow.id.desc())))


# -- moderation -------------------------------------------------------------------------------------

def moderation(s: Session, listing_id: int) -> ListingModerationRow:
    m = s.get(ListingModerationRow, listing_id)
    if m is None:
        m = ListingModerationRow(listing_id=listing_id, hidden=False, publish_on_verify=False, note="")
        s.add(m)
        s.flush()
    return m


def moderation_of(s: Session, ids: Sequence[int]) -> dict[int, ListingModerationRow]:
    if not ids:
        return {}
    return {m.listing_id: m for m in s.scalars(select(ListingModerationRow).where(ListingModerationRow.listing_id.in_(list(ids))))}


def pending_publications(s: Session, org_id: int) -> list[int]:
    q = (select(ListingModerationRow.listing_id).join(ListingRow, ListingRow.id == ListingModerationRow.listing_id)
         .where(ListingRow.owner_id == org_id, ListingModerationRow.publish_on_verify.is_(True)))
    return list(s.scalars(q))


def hidden_listings(s: Session) -> list[int]:
    return list(s.scalars(select(ListingModerationRow.listing_id).where(ListingModerationRow.hidden.is_(True))))


def add_report(s: Session, listing_id: int, user_id: int | None, reason: str, note: str) -> ListingReportRow:
    r = ListingReportRow(listing_id=listing_id, reporter_user_id=user_id, reason=reason, note=note, status="open")
    s.add(r)
    s.flush()
    return r


def open_reports(s: Session) -> list[ListingReportRow]:
    return list(s.scalars(select(ListingReportRow).where(ListingReportRow.status == "open").order_by(ListingReportRow.id)))


def resolve_reports(s: Session, listing_id: int, by: int | None) -> None:
    s.execute(update(ListingReportRow).where(ListingReportRow.listing_id == listing_id, ListingReportRow.status == "open")
              .values(status="resolved", resolved_by=by))


# -- grants -----------------------------------------------------------------------------------------

def grants(s: Session, listing_id: int) -> list[tuple[AccessGrantRow, OrganisationRow]]:
    q = select(AccessGrantRow, OrganisationRow).join(OrganisationRow, OrganisationRow.id == AccessGrantRow.org_id).where(
        AccessGrantRow.listing_id == listing_id).order_by(AccessGrantRow.id)
    return [(g, o) for g, o in s.execute(q)]


def grant(s: Session, listing_id: int, org_id: int, by: int | None, note: str) -> bool:
    exists = s.scalar(select(AccessGrantRow).where(AccessGrantRow.listing_id == listing_id, AccessGrantRow.org_id == org_id))
    if exists is not None:
        return False
    s.add(AccessGrantRow(listing_id=listing_id, org_id=org_id, granted_by=by))
    s.add(GrantLogRow(listing_id=listing_id, org_id=org_id, action="grant", actor_user_id=by, note=note, at=now()))
    s.flush()
    return True


def revoke(s: Session, listing_id: int, org_id: int, by: int | None, note: str) -> bool:
    n = rowcount(s.execute(delete(AccessGrantRow).where(AccessGrantRow.listing_id == listing_id, AccessGrantRow.org_id == org_id)))
    if not n:
        return False
    s.add(GrantLogRow(listing_id=listing_id, org_id=org_id, action="revoke", actor_user_id=by, note=note, at=now()))
    s.flush()
    return True


def grant_log(s: Session, listing_id: int) -> list[GrantLogRow]:
    return list(s.scalars(select(GrantLogRow).where(GrantLogRow.listing_id == listing_id).order_by(GrantLogRow.id)))


# -- contact requests --------------------------------------------------------------------------------

def add_contact(s: Session, listing_id: int, from_org: int, to_org: int, user_id: int | None, message: str, nda: bool) -> ContactRequestRow:
    c = ContactRequestRow(listing_id=listing_id, from_org_id=from_org, to_org_id=to_org, from_user_id=user_id, message=message,
                          nda_accepted=nda, status="pending", decline_note="")
    s.add(c)
    s.flush()
    add_event(s, c.id, user_id, "sent", message)
    return c


def add_event(s: Session, request_id: int, user_id: int | None, action: str, note: str = "") -> None:
    s.add(ContactEventRow(request_id=request_id, actor_user_id=user_id, action=action, note=note, at=now()))
    s.flush()


def contact(s: Session, request_id: int) -> ContactRequestRow | None:
    return s.get(ContactRequestRow, request_id)


def open_contact(s: Session, listing_id: int, from_org: int) -> ContactRequestRow | None:
    return s.scalar(select(ContactRequestRow).where(ContactRequestRow.listing_id == listing_id, ContactRequestRow.from_org_id == from_org,
                                                    ContactRequestRow.status == "pending"))


def contacts_of(s: Session, org_id: int, direction: str, limit: int | None = None, offset: int = 0) -> list[ContactRequestRow]:
    col = ContactRequestRow.to_org_id if direction == "received" else ContactRequestRow.from_org_id
    q = select(ContactRequestRow).where(col == org_id).order_by(ContactRequestRow.id.desc()).offset(offset)
    return list(s.scalars(q.limit(limit) if limit is not None else q))


def count_contacts(s: Session, org_id: int, direction: str) -> int:
    col = ContactRequestRow.to_org_id if direction == "received" else ContactRequestRow.from_org_id
    return int(s.scalar(select(func.count()).select_from(ContactRequestRow).where(col == org_id)) or 0)


def events(s: Session, request_ids: Sequence[int]) -> dict[int, list[ContactEventRow]]:
    out: dict[int, list[ContactEventRow]] = {i: [] for i in request_ids}
    if request_ids:
        for e in s.scalars(select(ContactEventRow).where(ContactEventRow.request_id.in_(list(request_ids))).order_by(ContactEventRow.id)):
            out[e.request_id].append(e)
    return out


def contact_counts(s: Session) -> dict[str, int]:
    return {st: int(n) for st, n in s.execute(select(ContactRequestRow.status, func.count()).group_by(ContactRequestRow.status))}


# -- notifications ---------------------------------------------------------------------------------

def notify(s: Session, org_id: int, zh: str, en: str, link: str = "") -> None:
    s.add(NotificationRow(org_id=org_id, text_zh=zh, text_en=en, link=link, created_at=now()))
    s.flush()


def notifications(s: Session, org_id: int, limit: int = 20, offset: int = 0) -> list[NotificationRow]:
    return list(s.scalars(select(NotificationRow).where(NotificationRow.org_id == org_id).order_by(NotificationRow.id.desc())
                          .limit(limit).offset(offset)))


def count_notifications(s: Session, org_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(NotificationRow).where(NotificationRow.org_id == org_id)) or 0)
