"""Repositories for instrument billing: check-in / check-out, no-shows, the waitlist, statements,
voucher claims and settlements, owners' income. They flush, never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from ..core.booking import Booking, Slot
from ..core.errors import Message, NotFound
from .models import ListingRow, OrganisationRow
from .models_accounts import UserRow
from .models_resources import InnovationVoucherRow, InstrumentBookingRow, InstrumentWaitlistRow, VoucherSettlementRow
from .resources_repo import booking_from_row, fen, from_db, to_db, yuan


def booking_row(s: Session, booking_id: int, for_update: bool = False) -> InstrumentBookingRow:
    q = select(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id)
    r = s.scalar(q.with_for_update() if for_update else q)
    if r is None:
        raise NotFound(Message(f"预约 {booking_id} 不存在", f"booking {booking_id} does not exist"))
    return r


def check_in(s: Session, booking_id: int, at: dt.datetime, by: int, awaiting: bool) -> None:
    s.execute(update(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id).values(
        checked_in_at=to_db(at), checked_in_by=by, awaiting_confirmation=awaiting))
    s.flush()


def check_out(s: Session, booking_id: int, start: dt.datetime, end: dt.datetime, by: int, awaiting: bool, billed: float, rate: float,
              fee: float, voucher: float, note: str) -> None:
    s.execute(update(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id).values(
        status="used", decided_at=to_db(end), checked_in_at=to_db(start), checked_out_at=to_db(end), checked_out_by=by,
        awaiting_confirmation=awaiting, billed_hours=billed, rate_fen=fen(rate), fee_fen=fen(fee), voucher_fen=fen(voucher),
        billing_note=note or None))
    s.flush()


def confirm(s: Session, booking_id: int) -> None:
    s.execute(update(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id).values(awaiting_confirmation=False))
    s.flush()


def due_no_shows(s: Session, now: dt.datetime, limit: int = 500) -> list[tuple[Booking, dict[str, Any]]]:
    """Approved bookings without a check-in whose slot is under way (started, not over), with their instrument's
    attrs. A slot already over is left to the manager (used / no-show), as before check-in existed."""
    q = (select(InstrumentBookingRow, ListingRow.attrs).join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .where(InstrumentBookingRow.status == "approved", InstrumentBookingRow.checked_in_at.is_(None),
                InstrumentBookingRow.starts_at <= to_db(now), InstrumentBookingRow.ends_at > to_db(now))
         .order_by(InstrumentBookingRow.starts_at, InstrumentBookingRow.id).limit(limit))
    return [(booking_from_row(r), dict(attrs or {})) for r, attrs in s.execute(q)]


def mark_no_show(s: Session, booking_id: int, at: dt.datetime, note: str) -> bool:
    """Only if still approved and not checked in (a racing check-in wins)."""
    res = s.execute(update(InstrumentBookingRow).where(
        InstrumentBookingRow.id == booking_id, InstrumentBookingRow.status == "approved", InstrumentBookingRow.checked_in_at.is_(None))
        .values(status="no_show", decided_at=to_db(at), decision_note=note))
    s.flush()
    return bool(getattr(res, "rowcount", 0))


def no_show_counts(s: Session, user_ids: Sequence[int] | None = None, owner_id: int | None = None) -> dict[int, int]:
    q = (select(InstrumentBookingRow.user_id, func.count()).join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .where(InstrumentBookingRow.status == "no_show"))
    if user_ids is not None:
        q = q.where(InstrumentBookingRow.user_id.in_(list(user_ids)))
    if owner_id is not None:
        q = q.where(ListingRow.owner_id == owner_id)
    return {int(u): int(n) for u, n in s.execute(q.group_by(InstrumentBookingRow.user_id))}


# -- waitlist ------------------------------------------------------------------------------------------

def add_wait(s: Session, instrument_id: int, user_id: int, org_id: int, slot: Slot, now: dt.datetime) -> int:
    r = InstrumentWaitlistRow(instrument_id=instrument_id, user_id=user_id, org_id=org_id, starts_at=to_db(slot.start), ends_at=to_db(slot.end),
                              status="waiting", created_at=to_db(now))
    s.add(r)
    s.flush()
    return r.id


def wait_exists(s: Session, instrument_id: int, user_id: int, slot: Slot) -> bool:
    return s.scalar(select(InstrumentWaitlistRow.id).where(
        InstrumentWaitlistRow.instrument_id == instrument_id, InstrumentWaitlistRow.user_id == user_id,
        InstrumentWaitlistRow.status.in_(("waiting", "offered")), InstrumentWaitlistRow.starts_at == to_db(slot.start),
        InstrumentWaitlistRow.ends_at == to_db(slot.end))) is not None


def waiting_for(s: Session, instrument_id: int, start: dt.datetime, end: dt.datetime) -> list[InstrumentWaitlistRow]:
    """Waiting entries whose slot overlaps [start, end), first come first."""
    q = (select(InstrumentWaitlistRow).where(InstrumentWaitlistRow.instrument_id == instrument_id, InstrumentWaitlistRow.status == "waiting",
                                             InstrumentWaitlistRow.starts_at < to_db(end), InstrumentWaitlistRow.ends_at > to_db(start))
         .order_by(InstrumentWaitlistRow.created_at, InstrumentWaitlistRow.id).with_for_update())
    return list(s.scalars(q))


def wait_row(s: Session, wait_id: int | None = None, token: str | None = None, for_update: bool = False) -> InstrumentWaitlistRow:
    q = select(InstrumentWaitlistRow)
    q = q.where(InstrumentWaitlistRow.id == wait_id) if wait_id is not None else q.where(InstrumentWaitlistRow.token == token)
    r = s.scalar(q.with_for_update() if for_update else q)
    if r is None:
        raise NotFound(Message("候补记录不存在或认领链接无效", "no such waitlist entry, or the claim link is not valid"))
    return r


def offer_open(s: Session, instrument_id: int, slot: Slot, now: dt.datetime) -> bool:
    """Another live offer already holds part of this slot."""
    W = InstrumentWaitlistRow
    q = select(W.id).where(W.instrument_id == instrument_id, W.status == "offered", W.offer_expires_at > to_db(now),
                           W.starts_at < to_db(slot.end), W.ends_at > to_db(slot.start))
    return s.scalar(q.limit(1)) is not None


def expired_offers(s: Session, now: dt.datetime, for_update: bool = True) -> list[InstrumentWaitlistRow]:
    q = select(InstrumentWaitlistRow).where(InstrumentWaitlistRow.status == "offered", InstrumentWaitlistRow.offer_expires_at <= to_db(now))
    return list(s.scalars(q.with_for_update() if for_update else q))


def waits_of_user(s: Session, user_id: int) -> list[tuple[InstrumentWaitlistRow, str]]:
    q = (select(InstrumentWaitlistRow, ListingRow.title).join(ListingRow, ListingRow.id == InstrumentWaitlistRow.instrument_id)
         .where(InstrumentWaitlistRow.user_id == user_id).order_by(InstrumentWaitlistRow.starts_at.desc()).limit(100))
    return [(r, t) for r, t in s.execute(q)]


def wait_slot(r: InstrumentWaitlistRow) -> Slot:
    return Slot(from_db(r.starts_at), from_db(r.ends_at))


# -- statements, claims, income --------------------------------------------------------------------------

def billed_bookings(s: Session, start: dt.datetime, end: dt.datetime, *, org_id: int | None = None, owner_id: int | None = None,
                    cost_centre: str = "", project_code: str = "") -> list[tuple[InstrumentBookingRow, str, int, str, str]]:
    """Used bookings starting in [start, end): (row, instrument title, owner id, owner name, user name)."""
    owner = aliased(OrganisationRow)
    q = (select(InstrumentBookingRow, ListingRow.title, ListingRow.owner_id, owner.name, UserRow.name)
         .join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .join(owner, owner.id == ListingRow.owner_id)
         .outerjoin(UserRow, UserRow.id == InstrumentBookingRow.user_id)
         .where(InstrumentBookingRow.status == "used", InstrumentBookingRow.starts_at >= to_db(start), InstrumentBookingRow.starts_at < to_db(end)))
    if org_id is not None:
        q = q.where(InstrumentBookingRow.org_id == org_id)
    if owner_id is not None:
        q = q.where(ListingRow.owner_id == owner_id)
    if cost_centre:
        q = q.where(InstrumentBookingRow.cost_centre == cost_centre)
    if project_code:
        q = q.where(InstrumentBookingRow.project_code == project_code)
    q = q.order_by(InstrumentBookingRow.starts_at, InstrumentBookingRow.id)
    return [(r, title, oid, oname, uname or f"#{r.user_id}") for r, title, oid, oname, uname in s.execute(q)]


def claims(s: Session, start: dt.datetime, end: dt.datetime, province: str | None = None) -> list[tuple[Any, ...]]:
    """Used bookings in [start, end) with a voucher deduction: (booking row, voucher code, province, enterprise name,
    provider id, provider name, instrument title, settlement or None)."""
    owner, ent = aliased(OrganisationRow), aliased(OrganisationRow)
    q = (select(InstrumentBookingRow, InnovationVoucherRow.code, InnovationVoucherRow.province, ent.name, ListingRow.owner_id, owner.name,
                ListingRow.title, VoucherSettlementRow)
         .join(InnovationVoucherRow, InnovationVoucherRow.id == InstrumentBookingRow.voucher_id)
         .join(ent, ent.id == InnovationVoucherRow.org_id)
         .join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .join(owner, owner.id == ListingRow.owner_id)
         .outerjoin(VoucherSettlementRow, VoucherSettlementRow.booking_id == InstrumentBookingRow.id)
         .where(InstrumentBookingRow.status == "used", InstrumentBookingRow.voucher_fen > 0,
                InstrumentBookingRow.starts_at >= to_db(start), InstrumentBookingRow.starts_at < to_db(end)))
    if province:
        q = q.where(InnovationVoucherRow.province == province)
    return [tuple(r) for r in s.execute(q.order_by(InstrumentBookingRow.starts_at, InstrumentBookingRow.id))]


def settlement(s: Session, booking_id: int) -> VoucherSettlementRow | None:
    return s.scalar(select(VoucherSettlementRow).where(VoucherSettlementRow.booking_id == booking_id))


def settle(s: Session, booking_id: int, amount: float, at: dt.datetime, by: int | None, reference: str) -> None:
    s.add(VoucherSettlementRow(booking_id=booking_id, amount_fen=fen(amount), settled_at=to_db(at), settled_by=by, reference=reference))
    s.flush()


def income_rows(s: Session, owner_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[int, str, dt.datetime, float, float, float]]:
    q = (select(InstrumentBookingRow, ListingRow.title).join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .where(ListingRow.owner_id == owner_id, InstrumentBookingRow.status == "used", InstrumentBookingRow.awaiting_confirmation.is_(False),
                InstrumentBookingRow.starts_at >= to_db(start), InstrumentBookingRow.starts_at < to_db(end)))
    out = []
    for r, title in s.execute(q):
        b = booking_from_row(r)
        out.append((r.instrument_id, title, b.slot.start, r.billed_hours if r.billed_hours is not None else b.hours, yuan(r.fee_fen), yuan(r.voucher_fen)))
    return out


def org_name(s: Session, org_id: int) -> str | None:
    return s.scalar(select(OrganisationRow.name).where(OrganisationRow.id == org_id))
