"""Repositories for bookings, vouchers, organisation facts and certification marks. They flush, never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased

from ..core.booking import BLOCKING, CST, Booking, Slot, UsageRecord, Voucher, as_utc, slot_taken
from ..core.certification import Licence, Mark
from ..core.errors import Conflict, Message, NotFound
from ..core.kinds import default_registry
from ..core.org_facts import OrgFacts
from .db import rowcount
from .models import ListingRow, OrganisationRow
from .models_accounts import UserRow
from .models_resources import (
    CertificationMarkRow,
    InnovationVoucherRow,
    InstrumentBlackoutRow,
    InstrumentBookingRow,
    InstrumentTrainingRow,
    MarkLicenceEventRow,
    MarkLicenceRow,
    OrganisationFactEvidenceRow,
    OrganisationFactsRow,
    VoucherProviderRow,
    VoucherUsageRow,
)

OVERLAP_CONSTRAINT = "ex_instrument_bookings_no_overlap"


def to_db(t: dt.datetime) -> dt.datetime:
    return as_utc(t)


def from_db(t: dt.datetime) -> dt.datetime:
    return (t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t).astimezone(CST)


def fen(yuan: float) -> int:
    return int(round(yuan * 100))


def yuan(f: int) -> float:
    return f / 100.0


# -- instruments and bookings -----------------------------------------------------------------

def _bookable(kind: str) -> bool:
    return default_registry().has_role(kind, "bookable")


def lock_instrument(s: Session, instrument_id: int) -> ListingRow:
    """The instrument's listing row, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite: the
    write transaction already holds the database lock). Serialises booking checks per instrument."""
    r = s.scalar(select(ListingRow).where(ListingRow.id == instrument_id).with_for_update())
    if r is None or not _bookable(r.kind):
        raise NotFound(Message(f"仪器 {instrument_id} 不存在", f"instrument {instrument_id} does not exist"))
    return r


def instrument_row(s: Session, instrument_id: int) -> ListingRow:
    r = s.get(ListingRow, instrument_id)
    if r is None or not _bookable(r.kind):
        raise NotFound(Message(f"仪器 {instrument_id} 不存在", f"instrument {instrument_id} does not exist"))
    return r


def booking_from_row(r: InstrumentBookingRow) -> Booking:
    return Booking(
        id=r.id, instrument_id=r.instrument_id, user_id=r.user_id, org_id=r.org_id, slot=Slot(from_db(r.starts_at), from_db(r.ends_at)),
        status=r.status, purpose=r.purpose, samples=r.samples, fee=yuan(r.fee_fen), voucher_id=r.voucher_id,
        voucher_amount=yuan(r.voucher_fen), created_at=from_db(r.created_at) if r.created_at else None,
        note=r.decision_note or "", decided_at=from_db(r.decided_at) if r.decided_at else None,
        cost_centre=r.cost_centre or "", project_code=r.project_code or "",
        checked_in_at=from_db(r.checked_in_at) if r.checked_in_at else None, checked_out_at=from_db(r.checked_out_at) if r.checked_out_at else None,
        billed_hours=r.billed_hours, billing_note=r.billing_note or "", awaiting_confirmation=bool(r.awaiting_confirmation),
    )


def bookings_between(s: Session, instrument_id: int, start: dt.datetime, end: dt.datetime, active_only: bool = True) -> list[Booking]:
    q = select(InstrumentBookingRow).where(
        InstrumentBookingRow.instrument_id == instrument_id, InstrumentBookingRow.starts_at < to_db(end), InstrumentBookingRow.ends_at > to_db(start))
    if active_only:
        q = q.where(InstrumentBookingRow.status.in_(BLOCKING))
    return [booking_from_row(r) for r in s.scalars(q.order_by(InstrumentBookingRow.starts_at))]


def user_hours_between(s: Session, instrument_id: int, user_id: int, window: Slot) -> float:
    rows = s.execute(select(InstrumentBookingRow.starts_at, InstrumentBookingRow.ends_at).where(
        InstrumentBookingRow.instrument_id == instrument_id, InstrumentBookingRow.user_id == user_id,
        InstrumentBookingRow.status.in_(BLOCKING), InstrumentBookingRow.starts_at < to_db(window.end),
        InstrumentBookingRow.ends_at > to_db(window.start)))
    return sum(Slot(from_db(a), from_db(b)).hours for a, b in rows)


DEADLOCK_DETECTED = "40P01"  # PostgreSQL SQLSTATE


def insert_booking(s: Session, b: Booking, rate: float | None = None) -> int:
    """Insert; the database refuses an overlap (exclusion constraint / trigger) and that becomes a Conflict.
    (A past booking already checked in and out, from the demo history, carries its billing: `rate` per unit.)"""
    r = InstrumentBookingRow(
        instrument_id=b.instrument_id, user_id=b.user_id, org_id=b.org_id, starts_at=to_db(b.slot.start), ends_at=to_db(b.slot.end),
        status=b.status, purpose=b.purpose, samples=b.samples, fee_fen=fen(b.fee), voucher_id=b.voucher_id, voucher_fen=fen(b.voucher_amount),
        cost_centre=b.cost_centre or None, project_code=b.project_code or None,
        checked_in_at=to_db(b.checked_in_at) if b.checked_in_at else None, checked_out_at=to_db(b.checked_out_at) if b.checked_out_at else None,
        billed_hours=b.billed_hours, billing_note=b.billing_note or None, awaiting_confirmation=b.awaiting_confirmation,
        rate_fen=fen(rate) if rate is not None else None,
    )
    s.add(r)
    try:
        s.flush()
    except IntegrityError as e:
        if OVERLAP_CONSTRAINT in str(e.orig):
            raise slot_taken(b.slot) from None
        raise
    except OperationalError as e:
        # PostgreSQL: two transactions inserting overlapping slots at once can each wait for the
        # other's row under the exclusion constraint; it aborts one (deadlock_detected), whose
        # slot the other one takes
        if getattr(e.orig, "sqlstate", None) == DEADLOCK_DETECTED:
            raise slot_taken(b.slot) from None
        raise
    return r.id


def get_booking(s: Session, booking_id: int, for_update: bool = False) -> Booking:
    q = select(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id)
    r = s.scalar(q.with_for_update() if for_update else q)
    if r is None:
        raise NotFound(Message(f"预约 {booking_id} 不存在", f"booking {booking_id} does not exist"))
    return booking_from_row(r)


def set_booking_status(s: Session, booking_id: int, status: str, at: dt.datetime, note: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "decided_at": to_db(at)}
    if note is not None:
        values["decision_note"] = note or None
    try:
        s.execute(update(InstrumentBookingRow).where(InstrumentBookingRow.id == booking_id).values(**values))
        s.flush()
    except IntegrityError as e:  # pragma: no cover - only reachable by reviving an overlapped booking
        if OVERLAP_CONSTRAINT in str(e.orig):
            raise Conflict(Message("该时段已被占用", "the slot is taken")) from None
        raise


def bookings_of_user(s: Session, user_id: int, limit: int = 100) -> list[Booking]:
    q = select(InstrumentBookingRow).where(InstrumentBookingRow.user_id == user_id).order_by(InstrumentBookingRow.starts_at.desc()).limit(limit)
    return [booking_from_row(r) for r in s.scalars(q)]


def instruments_of(s: Session, owner_id: int) -> list[tuple[int, str, str]]:
    """(id, title, status) of an organisation's instruments."""
    q = select(ListingRow.id, ListingRow.title, ListingRow.status).where(ListingRow.owner_id == owner_id,
                                                              ListingRow.kind == default_registry().kind_with("bookable"))
    return [(i, t, st) for i, t, st in s.execute(q.order_by(ListingRow.title, ListingRow.id))]


def managed_bookings(s: Session, *, owner_id: int | None = None, instrument_id: int | None = None, statuses: Sequence[str] = BLOCKING,
                     ends_after: dt.datetime | None = None, limit: int = 200, newest_first: bool = False) -> list[tuple[Booking, str, int]]:
    """(booking, instrument title, owner id) of one organisation's instruments or of one instrument."""
    q = (select(InstrumentBookingRow, ListingRow.title, ListingRow.owner_id).join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .where(InstrumentBookingRow.status.in_(list(statuses))))
    if owner_id is not None:
        q = q.where(ListingRow.owner_id == owner_id)
    if instrument_id is not None:
        q = q.where(InstrumentBookingRow.instrument_id == instrument_id)
    if ends_after is not None:
        q = q.where(InstrumentBookingRow.ends_at > to_db(ends_after))
    order = (InstrumentBookingRow.decided_at.desc(), InstrumentBookingRow.id.desc()) if newest_first else (InstrumentBookingRow.starts_at, InstrumentBookingRow.id)
    return [(booking_from_row(r), title, oid) for r, title, oid in s.execute(q.order_by(*order).limit(limit))]


def user_bookings(s: Session, user_id: int, limit: int = 200) -> list[tuple[Booking, str, int, str, dict[str, Any]]]:
    """(booking, instrument title, owner id, owner name, instrument attrs) of one user, latest slot first."""
    q = (select(InstrumentBookingRow, ListingRow.title, ListingRow.owner_id, OrganisationRow.name, ListingRow.attrs)
         .join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id).join(OrganisationRow, OrganisationRow.id == ListingRow.owner_id)
         .where(InstrumentBookingRow.user_id == user_id).order_by(InstrumentBookingRow.starts_at.desc(), InstrumentBookingRow.id.desc()).limit(limit))
    return [(booking_from_row(r), title, oid, oname, dict(attrs or {})) for r, title, oid, oname, attrs in s.execute(q)]


def people(s: Session, user_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """user id → (name, e-mail) for the ids that are accounts (demo bookings name users that are not)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {i: (n, e) for i, n, e in s.execute(select(UserRow.id, UserRow.name, UserRow.email).where(UserRow.id.in_(ids)))}


def org_names(s: Session, org_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    return {i: n for i, n in s.execute(select(OrganisationRow.id, OrganisationRow.name).where(OrganisationRow.id.in_(ids)))}


def add_blackout(s: Session, instrument_id: int, slot: Slot, reason: str) -> int:
    r = InstrumentBlackoutRow(instrument_id=instrument_id, starts_at=to_db(slot.start), ends_at=to_db(slot.end), reason=reason)
    s.add(r)
    s.flush()
    return r.id


def blackouts_between(s: Session, instrument_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[Slot, str]]:
    q = select(InstrumentBlackoutRow).where(InstrumentBlackoutRow.instrument_id == instrument_id, InstrumentBlackoutRow.starts_at < to_db(end),
                                            InstrumentBlackoutRow.ends_at > to_db(start)).order_by(InstrumentBlackoutRow.starts_at)
    return [(Slot(from_db(r.starts_at), from_db(r.ends_at)), r.reason) for r in s.scalars(q)]


def blackout_list(s: Session, instrument_id: int, ends_after: dt.datetime) -> list[tuple[int, Slot, str]]:
    """(id, period, reason) of an instrument's blackouts that end after the moment."""
    q = select(InstrumentBlackoutRow).where(InstrumentBlackoutRow.instrument_id == instrument_id,
                                            InstrumentBlackoutRow.ends_at > to_db(ends_after)).order_by(InstrumentBlackoutRow.starts_at)
    return [(r.id, Slot(from_db(r.starts_at), from_db(r.ends_at)), r.reason) for r in s.scalars(q)]


def remove_blackout(s: Session, instrument_id: int, blackout_id: int) -> None:
    n = rowcount(s.execute(delete(InstrumentBlackoutRow).where(InstrumentBlackoutRow.id == blackout_id,
                                                               InstrumentBlackoutRow.instrument_id == instrument_id)))
    if not n:
        raise NotFound(Message(f"停机时段 {blackout_id} 不存在", f"blackout {blackout_id} does not exist"))


def trainings_of(s: Session, instrument_id: int) -> list[tuple[int, dt.date, dt.date | None]]:
    """(user id, trained on, valid until) of an instrument's training records."""
    q = select(InstrumentTrainingRow).where(InstrumentTrainingRow.instrument_id == instrument_id).order_by(InstrumentTrainingRow.trained_on.desc())
    return [(r.user_id, r.trained_on, r.valid_until) for r in s.scalars(q)]


def set_training(s: Session, instrument_id: int, user_id: int, trained_on: dt.date, valid_until: dt.date | None = None) -> None:
    r = s.scalar(select(InstrumentTrainingRow).where(InstrumentTrainingRow.instrument_id == instrument_id, InstrumentTrainingRow.user_id == user_id))
    if r is None:
        s.add(InstrumentTrainingRow(instrument_id=instrument_id, user_id=user_id, trained_on=trained_on, valid_until=valid_until))
    else:
        r.trained_on, r.valid_until = trained_on, valid_until
    s.flush()


def is_trained(s: Session, instrument_id: int, user_id: int, day: dt.date) -> bool:
    r = s.scalar(select(InstrumentTrainingRow).where(InstrumentTrainingRow.instrument_id == instrument_id, InstrumentTrainingRow.user_id == user_id))
    return r is not None and r.trained_on <= day and (r.valid_until is None or day <= r.valid_until)


# -- vouchers ---------------------------------------------------------------------------------

def _voucher(r: InnovationVoucherRow) -> Voucher:
    return Voucher(id=r.id, code=r.code, province=r.province, org_id=r.org_id, amount=yuan(r.amount_fen), balance=yuan(r.balance_fen),
                   valid_from=r.valid_from, valid_until=r.valid_until, max_share=r.max_share, status=r.status)


def issue_voucher(s: Session, code: str, province: str, org_id: int, amount: float, valid_from: dt.date, valid_until: dt.date,
                  max_share: float = 0.5) -> int:
    r = InnovationVoucherRow(code=code, province=province, org_id=org_id, amount_fen=fen(amount), balance_fen=fen(amount),
                             max_share=max_share, valid_from=valid_from, valid_until=valid_until, status="active")
    s.add(r)
    s.flush()
    return r.id


def get_voucher(s: Session, ref: str | int, for_update: bool = False) -> Voucher:
    q = select(InnovationVoucherRow).where(InnovationVoucherRow.id == int(ref) if isinstance(ref, int) else InnovationVoucherRow.code == ref)
    r = s.scalar(q.with_for_update() if for_update else q)
    if r is None:
        raise NotFound(Message(f"创新券 {ref} 不存在", f"voucher {ref} does not exist"))
    return _voucher(r)


def voucher_exists(s: Session, code: str) -> bool:
    return s.scalar(select(InnovationVoucherRow.id).where(InnovationVoucherRow.code == code)) is not None


def all_vouchers(s: Session, province: str | None = None, limit: int = 200) -> list[tuple[Voucher, str]]:
    """(voucher, enterprise name), newest first."""
    q = select(InnovationVoucherRow, OrganisationRow.name).join(OrganisationRow, OrganisationRow.id == InnovationVoucherRow.org_id)
    if province:
        q = q.where(InnovationVoucherRow.province == province)
    return [(_voucher(r), name) for r, name in s.execute(q.order_by(InnovationVoucherRow.id.desc()).limit(limit))]


def providers(s: Session, province: str | None = None) -> list[tuple[str, int, str, dt.date, dt.date | None]]:
    """(province, org id, org name, recognised on, valid until) of the recognised voucher service providers (labs)."""
    q = (select(VoucherProviderRow.province, VoucherProviderRow.org_id, OrganisationRow.name, VoucherProviderRow.recognised_on, VoucherProviderRow.valid_until)
         .join(OrganisationRow, OrganisationRow.id == VoucherProviderRow.org_id))
    if province:
        q = q.where(VoucherProviderRow.province == province)
    return [tuple(r) for r in s.execute(q.order_by(VoucherProviderRow.province, OrganisationRow.name))]  # type: ignore[misc]


def vouchers_of(s: Session, org_id: int) -> list[Voucher]:
    return [_voucher(r) for r in s.scalars(select(InnovationVoucherRow).where(InnovationVoucherRow.org_id == org_id).order_by(InnovationVoucherRow.id))]


def charge_voucher(s: Session, voucher_id: int, booking_id: int, amount: float) -> None:
    """Change the balance by -amount (refund: negative amount) and record the usage."""
    s.execute(update(InnovationVoucherRow).where(InnovationVoucherRow.id == voucher_id).values(balance_fen=InnovationVoucherRow.balance_fen - fen(amount)))
    s.add(VoucherUsageRow(voucher_id=voucher_id, booking_id=booking_id, amount_fen=fen(amount)))
    s.flush()


def voucher_usages(s: Session, voucher_id: int) -> list[tuple[int, float]]:
    return [(b, yuan(a)) for b, a in s.execute(select(VoucherUsageRow.booking_id, VoucherUsageRow.amount_fen).where(
        VoucherUsageRow.voucher_id == voucher_id).order_by(VoucherUsageRow.id))]


def recognise_provider(s: Session, province: str, org_id: int, on: dt.date, valid_until: dt.date | None = None) -> None:
    r = s.scalar(select(VoucherProviderRow).where(VoucherProviderRow.province == province, VoucherProviderRow.org_id == org_id))
    if r is None:
        s.add(VoucherProviderRow(province=province, org_id=org_id, recognised_on=on, valid_until=valid_until))
    else:
        r.recognised_on, r.valid_until = on, valid_until
    s.flush()


def is_recognised(s: Session, province: str, org_id: int, day: dt.date) -> bool:
    r = s.scalar(select(VoucherProviderRow).where(VoucherProviderRow.province == province, VoucherProviderRow.org_id == org_id))
    return r is not None and r.recognised_on <= day and (r.valid_until is None or day <= r.valid_until)


# -- usage statistics ---------------------------------------------------------------------------

def usage_records(s: Session, start: dt.datetime, end: dt.datetime, owner_id: int | None = None) -> list[UsageRecord]:
    owner = aliased(OrganisationRow)
    user = aliased(OrganisationRow)
    q = (select(InstrumentBookingRow.instrument_id, ListingRow.title, ListingRow.owner_id, owner.name, ListingRow.region,
                InstrumentBookingRow.org_id, user.region, InstrumentBookingRow.starts_at, InstrumentBookingRow.ends_at, InstrumentBookingRow.status)
         .join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)
         .join(owner, owner.id == ListingRow.owner_id)
         .join(user, user.id == InstrumentBookingRow.org_id)
         .where(InstrumentBookingRow.starts_at >= to_db(start), InstrumentBookingRow.starts_at < to_db(end)))
    if owner_id is not None:
        q = q.where(ListingRow.owner_id == owner_id)
    return [UsageRecord(iid, title, oid, oname, oreg, uid, ureg, Slot(from_db(a), from_db(b)).hours, st)
            for iid, title, oid, oname, oreg, uid, ureg, a, b, st in s.execute(q)]


# -- organisation facts (policy rules) -------------------------------------------------------------

def set_facts(s: Session, org_id: int, founded_on: dt.date | None = None, employees: int | None = None, revenue: float | None = None,
              certifications: Iterable[str] = (), rd_spending: float | None = None) -> None:
    r = s.get(OrganisationFactsRow, org_id)
    if r is None:
        r = OrganisationFactsRow(org_id=org_id)
        s.add(r)
    r.founded_on, r.employees, r.revenue, r.certifications = founded_on, employees, revenue, list(certifications)
    r.rd_spending = rd_spending
    s.flush()


_FACT_COLUMNS = {"employees": "employees", "revenue": "revenue", "founded": "founded_on", "rd_spending": "rd_spending",
                 "certifications": "certifications"}


def get_facts(s: Session, org_id: int) -> OrgFacts:
    r = s.get(OrganisationFactsRow, org_id)
    if r is None:
        return OrgFacts()
    return OrgFacts(r.employees, r.revenue, r.founded_on, r.rd_spending, tuple(r.certifications or ()), r.updated_at, r.verified_at, r.verified_by,
                    tuple(r.published or ()))


def update_facts(s: Session, org_id: int, changes: dict[str, Any], at: dt.datetime) -> bool:
    """Apply checked changes (core.org_facts keys); a real change clears the operator's verification. True when something changed."""
    r = s.get(OrganisationFactsRow, org_id)
    if r is None:
        r = OrganisationFactsRow(org_id=org_id, certifications=[])
        s.add(r)
    changed = False
    if "published" in changes:  # the firm's choice of what to show: not a fact, so the verification stands
        r.published = list(changes["published"])
    for key, value in changes.items():
        if key == "published":
            continue
        col = _FACT_COLUMNS[key]
        if getattr(r, col) != value:
            setattr(r, col, list(value) if key == "certifications" else value)
            changed = True
    if changed:
        r.updated_at, r.verified_at, r.verified_by = at, None, None
    s.flush()
    return changed


def verify_facts(s: Session, org_id: int, user_id: int | None, at: dt.datetime) -> None:
    r = s.get(OrganisationFactsRow, org_id)
    if r is None:
        raise NotFound(Message(f"机构 {org_id} 尚未填写基本情况，无可核验的内容", f"organisation {org_id} has entered no facts to verify"))
    r.verified_at, r.verified_by = at, user_id
    s.flush()


def add_evidence(s: Session, org_id: int, filename: str, content_type: str, fact: str, data: bytes, user_id: int | None,
                 at: dt.datetime) -> int:
    import hashlib

    r = OrganisationFactEvidenceRow(org_id=org_id, filename=filename, content_type=content_type, fact=fact, data=data, size=len(data),
                                    sha256=hashlib.sha256(data).hexdigest(), uploaded_by=user_id, uploaded_at=at)
    s.add(r)
    s.flush()
    return int(r.id)


_EVIDENCE_META = (OrganisationFactEvidenceRow.id, OrganisationFactEvidenceRow.fact, OrganisationFactEvidenceRow.filename,
                  OrganisationFactEvidenceRow.content_type, OrganisationFactEvidenceRow.size, OrganisationFactEvidenceRow.uploaded_at)


def evidence_of(s: Session, org_id: int) -> list[tuple[int, str, str, str, int, dt.datetime]]:
    """(id, fact, filename, content type, size, uploaded at) of an organisation's files, newest first; never the bytes."""
    q = select(*_EVIDENCE_META).where(OrganisationFactEvidenceRow.org_id == org_id).order_by(OrganisationFactEvidenceRow.id.desc())
    return [(int(a), b, c, d, int(e), f) for a, b, c, d, e, f in s.execute(q)]


def evidence_row(s: Session, org_id: int, evidence_id: int) -> OrganisationFactEvidenceRow | None:
    r = s.get(OrganisationFactEvidenceRow, evidence_id)
    return r if r is not None and r.org_id == org_id else None


def delete_evidence(s: Session, org_id: int, evidence_id: int) -> bool:
    r = evidence_row(s, org_id, evidence_id)
    if r is None:
        return False
    s.delete(r)
    s.flush()
    return True


def facts_of_orgs(s: Session, org_ids: Sequence[int] | None = None) -> dict[int, OrganisationFactsRow]:
    q = select(OrganisationFactsRow)
    if org_ids is not None:
        q = q.where(OrganisationFactsRow.org_id.in_(list(org_ids)))
    return {r.org_id: r for r in s.scalars(q)}


def _facts_dict(o: OrganisationRow, r: OrganisationFactsRow | None, today: dt.date) -> dict[str, Any]:
    facts: dict[str, Any] = {"org_type": o.org_type, "region": o.region, "industry": o.industry}
    if r is not None:
        if r.founded_on is not None:
            facts["age_years"] = round((today - r.founded_on).days / 365.25, 2)
        for k in ("employees", "revenue", "rd_spending"):
            if getattr(r, k) is not None:
                facts[k] = getattr(r, k)
        facts["certifications"] = list(r.certifications or [])
    return facts


def facts_of_all(s: Session, today: dt.date, verified_orgs_only: bool = True) -> list[tuple[OrganisationRow, dict[str, Any], bool]]:
    """Every (verified) organisation with the facts the policy engine reads and whether an operator verified them."""
    q = (select(OrganisationRow, OrganisationFactsRow).outerjoin(OrganisationFactsRow, OrganisationFactsRow.org_id == OrganisationRow.id)
         .order_by(OrganisationRow.id))
    if verified_orgs_only:
        q = q.where(OrganisationRow.verified.is_(True))
    return [(o, _facts_dict(o, r, today), r is not None and r.verified_at is not None) for o, r in s.execute(q)]


def facts_for(s: Session, org_id: int, today: dt.date) -> dict[str, Any]:
    o = s.get(OrganisationRow, org_id)
    if o is None:
        raise NotFound(Message(f"机构 {org_id} 不存在", f"organisation {org_id} does not exist"))
    facts: dict[str, Any] = {"org_type": o.org_type, "region": o.region, "industry": o.industry}
    r = s.get(OrganisationFactsRow, org_id)
    if r is not None:
        if r.founded_on is not None:
            facts["age_years"] = round((today - r.founded_on).days / 365.25, 2)
        if r.employees is not None:
            facts["employees"] = r.employees
        if r.revenue is not None:
            facts["revenue"] = r.revenue
        if r.rd_spending is not None:
            facts["rd_spending"] = r.rd_spending
        facts["certifications"] = list(r.certifications or [])
    return facts


# -- certification marks and licences ---------------------------------------------------------------

def _mark(r: CertificationMarkRow) -> Mark:
    return Mark(id=r.id, code=r.code, name=r.name, holder=r.holder, mark_type=r.mark_type, registration_no=r.registration_no,
                region=r.region, description=r.description)


def upsert_mark(s: Session, m: Mark) -> int:
    """Insert or update a mark by code; its owner organisation is the platform organisation named `holder`, when there is one."""
    r = s.scalar(select(CertificationMarkRow).where(CertificationMarkRow.code == m.code))
    if r is None:
        r = CertificationMarkRow(code=m.code)
        s.add(r)
    r.name, r.holder, r.mark_type, r.registration_no, r.region, r.description = m.name, m.holder, m.mark_type, m.registration_no, m.region, m.description
    r.holder_org_id = s.scalar(select(OrganisationRow.id).where(OrganisationRow.name == m.holder).order_by(OrganisationRow.id).limit(1))
    s.flush()
    return r.id


def mark_holder_org(s: Session, mark_id: int) -> int | None:
    r = s.get(CertificationMarkRow, mark_id)
    return r.holder_org_id if r is not None else None


def find_mark(s: Session, ref: str) -> Mark:
    r = s.scalar(select(CertificationMarkRow).where((CertificationMarkRow.code == ref.strip().upper()) | (CertificationMarkRow.name == ref.strip())))
    if r is None:
        raise NotFound(Message(f"认证标志 ‘{ref}’ 不存在", f"certification mark '{ref}' does not exist"))
    return _mark(r)


def list_marks(s: Session) -> list[tuple[Mark, int]]:
    n = func.count(MarkLicenceRow.id)
    q = (select(CertificationMarkRow, n).outerjoin(MarkLicenceRow, MarkLicenceRow.mark_id == CertificationMarkRow.id)
         .group_by(CertificationMarkRow.id).order_by(CertificationMarkRow.id))
    return [(_mark(r), int(c)) for r, c in s.execute(q)]


def add_licence(s: Session, mark_id: int, org_id: int, licence_no: str, valid_from: dt.date, valid_until: dt.date, products: str = "") -> int:
    r = s.scalar(select(MarkLicenceRow).where(MarkLicenceRow.licence_no == licence_no))
    if r is None:
        r = MarkLicenceRow(licence_no=licence_no)
        s.add(r)
    r.mark_id, r.org_id, r.valid_from, r.valid_until, r.products, r.revoked = mark_id, org_id, valid_from, valid_until, products, False
    r.status, r.status_reason = "active", ""
    s.flush()
    return r.id


def revoke_licence(s: Session, licence_no: str) -> None:
    n = rowcount(s.execute(update(MarkLicenceRow).where(MarkLicenceRow.licence_no == licence_no).values(revoked=True, status="revoked")))
    if not n:
        raise NotFound(Message(f"许可 {licence_no} 不存在", f"licence {licence_no} does not exist"))


def licence_row(s: Session, licence_no: str, for_update: bool = False) -> MarkLicenceRow:
    q = select(MarkLicenceRow).where(MarkLicenceRow.licence_no == licence_no.strip().upper())
    r = s.scalar(q.with_for_update() if for_update else q)
    if r is None:
        raise NotFound(Message(f"许可编号 {licence_no} 不存在，请核对许可证上的编号", f"licence {licence_no} does not exist; check the number on the licence"))
    return r


def licence_row_or_none(s: Session, licence_no: str) -> MarkLicenceRow | None:
    return s.scalar(select(MarkLicenceRow).where(MarkLicenceRow.licence_no == licence_no.strip().upper()))


def org_row(s: Session, org_id: int) -> OrganisationRow | None:
    return s.get(OrganisationRow, org_id)


def licence_exists(s: Session, licence_no: str) -> bool:
    return s.scalar(select(MarkLicenceRow.id).where(MarkLicenceRow.licence_no == licence_no)) is not None


def _licence(r: MarkLicenceRow, code: str, org_name: str) -> Licence:
    return Licence(code, r.org_id, org_name, r.licence_no, r.valid_from, r.valid_until, r.products, r.status == "revoked" or r.revoked,
                   r.status == "suspended", r.status_reason or "")


def add_licence_event(s: Session, r: MarkLicenceRow, action: str, actor: str, reason: str = "") -> None:
    s.add(MarkLicenceEventRow(licence_id=r.id, action=action, actor=actor[:200], reason=reason, status=r.status, valid_from=r.valid_from,
                              valid_until=r.valid_until, products=r.products, at=dt.datetime.now(dt.UTC)))
    s.flush()


def licence_events(s: Session, licence_id: int) -> list[MarkLicenceEventRow]:
    return list(s.scalars(select(MarkLicenceEventRow).where(MarkLicenceEventRow.licence_id == licence_id).order_by(MarkLicenceEventRow.id)))


def find_licences(s: Session, *, licence_no: str | None = None, credit_code: str | None = None, name: str | None = None,
                  mark_id: int | None = None, org_id: int | None = None, status: str | None = None, limit: int = 500
                  ) -> list[tuple[Licence, Mark, str | None]]:
    """Licences with their mark and the licensee's credit code, by exact number, exact credit code or a part of the
    licensee's name (any of them), newest end date first."""
    q = (select(MarkLicenceRow, CertificationMarkRow, OrganisationRow.name, OrganisationRow.credit_code)
         .join(CertificationMarkRow, CertificationMarkRow.id == MarkLicenceRow.mark_id)
         .join(OrganisationRow, OrganisationRow.id == MarkLicenceRow.org_id))
    if licence_no is not None:
        q = q.where(MarkLicenceRow.licence_no == licence_no.strip().upper())
    if credit_code is not None:
        q = q.where(OrganisationRow.credit_code == credit_code.strip().upper())
    if name is not None:
        pattern = "%" + name.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(OrganisationRow.name.like(pattern, escape="\\"))
    if mark_id is not None:
        q = q.where(MarkLicenceRow.mark_id == mark_id)
    if org_id is not None:
        q = q.where(MarkLicenceRow.org_id == org_id)
    if status is not None:
        q = q.where(MarkLicenceRow.status == status)
    q = q.order_by(MarkLicenceRow.valid_until.desc(), MarkLicenceRow.licence_no).limit(limit)
    return [(_licence(r, m.code, oname), _mark(m), cc) for r, m, oname, cc in s.execute(q)]


def expiring_licences(s: Session, today: dt.date, until: dt.date) -> list[tuple[MarkLicenceRow, Mark, str]]:
    """Active licences valid today that end by `until` and have had no reminder for their current end date."""
    q = (select(MarkLicenceRow, CertificationMarkRow, OrganisationRow.name)
         .join(CertificationMarkRow, CertificationMarkRow.id == MarkLicenceRow.mark_id)
         .join(OrganisationRow, OrganisationRow.id == MarkLicenceRow.org_id)
         .where(MarkLicenceRow.status == "active", MarkLicenceRow.valid_from <= today, MarkLicenceRow.valid_until >= today,
                MarkLicenceRow.valid_until <= until)
         .where((MarkLicenceRow.reminded_for.is_(None)) | (MarkLicenceRow.reminded_for != MarkLicenceRow.valid_until))
         .order_by(MarkLicenceRow.valid_until, MarkLicenceRow.licence_no))
    return [(r, _mark(m), oname) for r, m, oname in s.execute(q)]


def mark_claim_listings(s: Session, kinds: Sequence[str]) -> list[ListingRow]:
    """Published listings of the given kinds (those with the licence check) that name a mark."""
    if not kinds:
        return []
    q = select(ListingRow).where(ListingRow.kind.in_(list(kinds)), ListingRow.status == "published").order_by(ListingRow.id)
    return [r for r in s.scalars(q) if str((r.attrs or {}).get("mark_code") or "").strip()]


def licences(s: Session, mark: Mark, org_ids: Sequence[int] | None = None, on: dt.date | None = None) -> list[Licence]:
    q = (select(MarkLicenceRow, OrganisationRow.name).join(OrganisationRow, OrganisationRow.id == MarkLicenceRow.org_id)
         .where(MarkLicenceRow.mark_id == mark.id))
    if org_ids is not None:
        q = q.where(MarkLicenceRow.org_id.in_(list(org_ids)))
    if on is not None:
        q = q.where(and_(MarkLicenceRow.valid_from <= on, MarkLicenceRow.valid_until >= on, MarkLicenceRow.revoked.is_(False)))
    if on is not None:
        q = q.where(MarkLicenceRow.status == "active")
    return [_licence(r, mark.code, name) for r, name in s.execute(q.order_by(MarkLicenceRow.licence_no))]


def orgs_by_credit_code(s: Session, codes: Sequence[str]) -> dict[str, tuple[int, str]]:
    """credit code → (id, name) of the organisations holding these codes."""
    out: dict[str, tuple[int, str]] = {}
    codes = sorted(set(codes))
    for i in range(0, len(codes), 500):
        q = select(OrganisationRow.credit_code, OrganisationRow.id, OrganisationRow.name).where(OrganisationRow.credit_code.in_(codes[i:i + 500]))
        for code, oid, name in s.execute(q):
            out[str(code)] = (int(oid), str(name))
    return out


def resolve_org(s: Session, ref: str) -> OrganisationRow:
    """An organisation by id, external id, credit code or exact name."""
    ref = ref.strip()
    r = None
    if ref.isdigit():
        r = s.get(OrganisationRow, int(ref))
    if r is None:
        r = s.scalar(select(OrganisationRow).where((OrganisationRow.external_id == ref) | (OrganisationRow.credit_code == ref.upper())
                                                   | (OrganisationRow.name == ref)))
    if r is None:
        raise NotFound(Message(f"机构 ‘{ref}’ 不存在", f"organisation '{ref}' does not exist"))
    return r


def clear_resources(s: Session) -> None:
    """Remove bookings and their guards (demo reloads). Listings stay."""
    for t in (VoucherUsageRow, InstrumentBookingRow, InstrumentBlackoutRow, InstrumentTrainingRow):
        s.execute(delete(t))
