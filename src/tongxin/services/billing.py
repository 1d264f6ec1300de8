"""Instrument billing and usage (issue #15): check-in and check-out with billed hours, automatic
no-shows that release the slot, the waitlist, monthly statements per organisation and cost centre /
project code, voucher claims and their settlement, owners' income. One transaction per action.

Who may do what:
- check-in / check-out: the instrument's managers (core.booking.can_manage), or the booker at the
  instrument; what the booker records waits for a manager's `confirm` and is not billed before;
- statements: members of the organisation that booked, and platform staff;
- voucher claims: whoever issues vouchers (core.booking.can_administer_vouchers);
- income: the owner organisation's members and staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..core import access as acc
from ..core import billing as BL
from ..core import booking as B
from ..core.access import Viewer
from ..core.errors import Conflict, FieldError, Forbidden, Message, NotFound, ValidationError
from ..storage import billing_repo as br
from ..storage import repo
from ..storage import resources_repo as rr
from . import notices, waitlist
from .booking import Actor, Bookings, Clock, _now
from .exchange import Exchange

NO_SHOW_NOTE = "超过宽限期未签到，已自动登记未到场并释放时段 / not checked in within the grace period: marked no-show, slot released"


@dataclass
class DueReport:
    no_shows: list[int] = field(default_factory=list)
    offers_expired: int = 0
    offers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"no_shows": len(self.no_shows), "bookings": self.no_shows, "offers_expired": self.offers_expired, "offers": self.offers}


@dataclass(frozen=True)
class WaitEntry:
    id: int
    instrument_id: int
    instrument: str
    slot: B.Slot
    status: str
    offer_expires_at: dt.datetime | None
    token: str | None
    booking_id: int | None

    def as_dict(self, with_token: bool = True) -> dict[str, Any]:
        return {"id": self.id, "instrument_id": self.instrument_id, "instrument_title": self.instrument, "start": B.as_cst(self.slot.start).isoformat(),
                "end": B.as_cst(self.slot.end).isoformat(), "status": self.status, "status_zh": BL.WAIT_STATUSES[self.status][0],
                "offer_expires_at": B.as_cst(self.offer_expires_at).isoformat() if self.offer_expires_at else None,
                "claim_url": f"/waitlist/claim/{self.token}" if (with_token and self.token and self.status == "offered") else None,
                "booking_id": self.booking_id}


def _wait(r: Any, title: str) -> WaitEntry:
    return WaitEntry(r.id, r.instrument_id, title, br.wait_slot(r), r.status, rr.from_db(r.offer_expires_at) if r.offer_expires_at else None,
                     r.token, r.booking_id)


class Billing:
    def __init__(self, ex: Exchange, clock: Clock | None = None) -> None:
        self.ex = ex
        self.clock = clock or _now

    # -- check-in / check-out ------------------------------------------------------------------------
    def _who(self, actor: Actor, b: B.Booking, owner_id: int) -> bool:
        """True for a manager; False for the booker; anyone else is refused."""
        if B.can_manage(actor.viewer, owner_id):
            return True
        if b.user_id == actor.user_id and actor.viewer.user_id is not None:
            return False
        raise Forbidden(Message("只有仪器管理员或预约人本人可以签到、签退", "only the instrument's managers or the booker may check in or out"))

    def check_in(self, actor: Actor, booking_id: int, at: dt.datetime | None = None) -> B.Booking:
        now = self.clock()
        when = B.as_cst(at) if at is not None else now
        with self.ex.db.transaction() as s:
            r = br.booking_row(s, booking_id, for_update=True)
            b = rr.booking_from_row(r)
            row = rr.instrument_row(s, b.instrument_id)
            manager = self._who(actor, b, row.owner_id)
            BL.check_check_in(b, when, now, BL.grace(row.attrs or {}), b.checked_in_at is not None)
            br.check_in(s, booking_id, when, actor.user_id, awaiting=not manager)
            return rr.get_booking(s, booking_id)

    def check_out(self, actor: Actor, booking_id: int, at: dt.datetime | None = None, started: dt.datetime | None = None) -> B.Booking:
        """Record the actual end (and start, if not checked in yet); bill the actual hours rounded up to the instrument's
        billing unit at its rate; the voucher deduction is cut to its share of the final fee (the difference goes back)."""
        now = self.clock()
        with self.ex.db.transaction() as s:
            r = br.booking_row(s, booking_id, for_update=True)
            b = rr.booking_from_row(r)
            row = rr.instrument_row(s, b.instrument_id)
            manager = self._who(actor, b, row.owner_id)
            if b.status != "approved":
                raise Conflict(Message(f"预约 #{b.id} 状态为“{B.STATUS_LABELS[b.status][0]}”，不能签退", f"booking #{b.id} is {b.status}; it cannot be checked out"))
            start = started if started is not None else b.checked_in_at
            if start is None:
                raise Conflict(Message(f"预约 #{b.id} 尚未签到，请先签到或填写实际开始时间", f"booking #{b.id} is not checked in; check in first or give the actual start"))
            actual = BL.check_actual(start, at if at is not None else now, now)
            attrs = row.attrs or {}
            billed = BL.billed_hours(actual, BL.unit_hours(attrs))
            user_org = rr.org_row(s, b.org_id)
            user_region = user_org.region if user_org is not None else ""
            rate = B.fee_of(attrs, row.owner_id, row.region, b.org_id, user_region, 1.0, 1)
            fee = B.fee_of(attrs, row.owner_id, row.region, b.org_id, user_region, billed, b.samples)
            voucher = b.voucher_amount
            if b.voucher_id and voucher:
                v = rr.get_voucher(s, b.voucher_id, for_update=True)
                voucher = BL.voucher_after_checkout(voucher, fee, v.max_share)
                if voucher < b.voucher_amount:
                    rr.charge_voucher(s, v.id, booking_id, -(round(b.voucher_amount - voucher, 2)))
            note = BL.difference_note(b.slot, actual, billed)
            awaiting = not manager  # a manager's check-out confirms a check-in the booker recorded
            br.check_out(s, booking_id, actual.start, actual.end, actor.user_id, awaiting, billed, rate, fee, voucher, note)
            if not manager and b.org_id != row.owner_id:
                notices.post(s, f"booking{b.id}-checkout", row.owner_id, f"仪器预约 #{b.id}（{row.title}）预约人已签退，请确认使用时间",
                             f"booking #{b.id} ({row.title}) was checked out by the booker; please confirm the times", f"/instruments/{row.id}/manage", at=now)
            return rr.get_booking(s, booking_id)

    def confirm(self, actor: Actor, booking_id: int) -> B.Booking:
        """The manager confirms what the booker recorded at the instrument."""
        with self.ex.db.transaction() as s:
            r = br.booking_row(s, booking_id, for_update=True)
            row = rr.instrument_row(s, r.instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise Forbidden(Message("只有仪器所属单位的管理员或平台运营人员可以确认", "only the instrument's managers may confirm"))
            if not r.awaiting_confirmation:
                raise Conflict(Message(f"预约 #{booking_id} 没有待确认的签到或签退", f"booking #{booking_id} has nothing to confirm"))
            br.confirm(s, booking_id)
            return rr.get_booking(s, booking_id)

    # -- due work: no-shows and offers --------------------------------------------------------------------
    def run_due(self, now: dt.datetime | None = None) -> DueReport:
        """Approved bookings not checked in within their instrument's grace period become no-shows and their slot is
        released (offered to the waitlist); waitlist offers not claimed in time pass to the next person.
        One read to see whether anything is due; then one write transaction."""
        t = now or self.clock()
        rep = DueReport()
        with self.ex.db.transaction(write=False) as s:
            cands = br.due_no_shows(s, t)
            due = [b.id for b, attrs in cands if BL.no_show_due(b, False, BL.grace(attrs), t)]
            offers_due = bool(br.expired_offers(s, t, for_update=False))
        if not due and not offers_due:
            return rep
        with self.ex.db.transaction() as s:
            for bid in due:
                if bid is None:
                    continue
                b = rr.get_booking(s, bid, for_update=True)
                if br.mark_no_show(s, bid, t, NO_SHOW_NOTE):
                    rep.no_shows.append(bid)
                    if b.voucher_id and b.voucher_amount:
                        rr.charge_voucher(s, b.voucher_id, bid, -b.voucher_amount)
                    rep.offers += len(waitlist.offer_freed(s, b.instrument_id, b.slot, t))
            rep.offers_expired, more = waitlist.expire_offers(s, t)
            rep.offers += more
        return rep

    def no_show_counts(self, viewer: Viewer, owner_id: int | None = None) -> list[tuple[int, str, int]]:
        """(user id, name, no-shows) on the instruments of an organisation (the viewer's own by default)."""
        acc.require_signed_in(viewer)
        owner = owner_id if owner_id is not None else viewer.org_id
        if owner is None or not B.can_manage(viewer, owner):
            raise Forbidden(Message("只有仪器所属单位的管理员或平台运营人员可以查看", "only the owner organisation's members or staff may see this"))
        with self.ex.db.transaction(write=False) as s:
            counts = br.no_show_counts(s, owner_id=owner)
            people = rr.people(s, list(counts))
        return sorted(((u, people.get(u, (f"#{u}", ""))[0], n) for u, n in counts.items()), key=lambda x: (-x[2], x[0]))

    # -- waitlist ---------------------------------------------------------------------------------------------
    def join_waitlist(self, actor: Actor, instrument_id: int, start: dt.datetime, end: dt.datetime) -> WaitEntry:
        slot = B.Slot.of(start, end)
        now = self.clock()
        with self.ex.db.transaction() as s:
            row = rr.lock_instrument(s, instrument_id)
            if acc.access(actor.viewer, repo.get_listing(s, instrument_id, self.ex.registry)) < acc.Access.FULL:
                raise acc.not_visible("仪器", "instrument", instrument_id)
            B.check_slot_shape(slot, B.InstrumentRules.of(row.attrs or {}), now)
            taken = bool(rr.bookings_between(s, instrument_id, slot.start, slot.end))
            BL.check_wait(slot, now, taken)
            if br.wait_exists(s, instrument_id, actor.user_id, slot):
                raise Conflict(Message("您已在该时段的候补名单中", "you are already on the waitlist for this slot"))
            wid = br.add_wait(s, instrument_id, actor.user_id, actor.org_id, slot, now)
            return _wait(br.wait_row(s, wid), row.title)

    def my_waits(self, viewer: Viewer) -> list[WaitEntry]:
        acc.require_signed_in(viewer)
        with self.ex.db.transaction(write=False) as s:
            return [_wait(r, t) for r, t in br.waits_of_user(s, int(viewer.user_id or 0))]

    def on_behalf(self, user_id: int, org_ref: str) -> Actor:
        """The operator acting for a user of an organisation named by id, external id, credit code or
        name (`tongxin bookings waitlist-join / waitlist-claim`, like `tongxin resources book`)."""
        with self.ex.db.transaction(write=False) as s:
            return Actor(user_id, rr.resolve_org(s, org_ref).id, acc.SYSTEM)

    def waits_of(self, user_id: int) -> list[WaitEntry]:
        """A user's waitlist entries (the operator's view, `tongxin bookings waitlist`)."""
        with self.ex.db.transaction(write=False) as s:
            return [_wait(r, t) for r, t in br.waits_of_user(s, user_id)]

    def release_due(self, viewer: Viewer, now: dt.datetime | None = None) -> DueReport:
        """`run_due` asked for by platform staff (`POST /api/v1/bookings/release-no-shows`); the web
        server's background loop and `tongxin bookings release-no-shows` run it without asking."""
        acc.require_signed_in(viewer)
        if not viewer.is_staff:
            raise Forbidden(Message("只有平台运营人员可以立即释放未到场预约", "only platform staff may release no-shows now"))
        return self.run_due(now)

    def offer(self, viewer: Viewer, token: str) -> WaitEntry:
        """The offer behind a claim link, for the person waiting."""
        acc.require_signed_in(viewer)
        with self.ex.db.transaction(write=False) as s:
            r = br.wait_row(s, token=token)
            if r.user_id != viewer.user_id:
                raise NotFound(Message("候补记录不存在或认领链接无效", "no such waitlist entry, or the claim link is not valid"))
            return _wait(r, rr.instrument_row(s, r.instrument_id).title)

    def claim(self, actor: Actor, token: str, cost_centre: str = "", project_code: str = "") -> B.Booking:
        """Book the offered slot through the one booking path (same rules, same no-overlap guard)."""
        codes = BL.check_codes(cost_centre, project_code)
        now = self.clock()
        with self.ex.db.transaction() as s:
            r = br.wait_row(s, token=token, for_update=True)
            if r.user_id != actor.user_id:
                raise NotFound(Message("候补记录不存在或认领链接无效", "no such waitlist entry, or the claim link is not valid"))
            if r.status != "offered":
                raise Conflict(Message(f"该候补状态为“{BL.WAIT_STATUSES[r.status][0]}”，不能认领", f"this waitlist entry is {r.status}; it cannot be claimed"))
            if r.offer_expires_at is None or rr.from_db(r.offer_expires_at) <= B.as_cst(now):
                raise Conflict(Message("认领时限已过，时段已转给下一位候补", "the offer has expired; the slot went to the next person waiting"))
            b = Bookings(self.ex, self.clock).request_in(s, Actor(actor.user_id, r.org_id, actor.viewer), r.instrument_id, br.wait_slot(r), now,
                                                         "候补认领 / claimed from the waitlist", codes)
            r.status, r.booking_id = "claimed", b.id
            s.flush()
            return b

    def withdraw(self, actor: Actor, wait_id: int) -> None:
        now = self.clock()
        with self.ex.db.transaction() as s:
            r = br.wait_row(s, wait_id, for_update=True)
            if r.user_id != actor.user_id:
                raise NotFound(Message("候补记录不存在或认领链接无效", "no such waitlist entry, or the claim link is not valid"))
            if r.status not in ("waiting", "offered"):
                raise Conflict(Message(f"该候补状态为“{BL.WAIT_STATUSES[r.status][0]}”，无需退出", f"this waitlist entry is {r.status}"))
            was_offered = r.status == "offered"
            r.status = "withdrawn"
            s.flush()
            if was_offered:
                waitlist.offer_freed(s, r.instrument_id, br.wait_slot(r), now)

    # -- statements -------------------------------------------------------------------------------------------
    def _may_see_org(self, viewer: Viewer, org_id: int) -> bool:
        return viewer.is_staff or (viewer.org_id == org_id and viewer.role != "visitor")

    def statement(self, viewer: Viewer, month: str, org: str | int | None = None, cost_centre: str = "", project_code: str = "") -> BL.Statement:
        """One organisation's monthly statement of billed instrument use (its own by default)."""
        acc.require_signed_in(viewer)
        start, end = BL.month_range(month)
        cc, pc = BL.check_codes(cost_centre, project_code)
        with self.ex.db.transaction(write=False) as s:
            if org is None or str(org).strip() == "":
                if viewer.org_id is None:
                    raise Forbidden(Message("请先加入机构，才能查看账单", "join an organisation to see its statements"))
                oid = int(viewer.org_id)
            else:
                oid = rr.resolve_org(s, str(org)).id
            if not self._may_see_org(viewer, oid):
                raise Forbidden(Message("只能查看本机构的账单", "you can only see your own organisation's statements"))
            rows = br.billed_bookings(s, start, end, org_id=oid, cost_centre=cc, project_code=pc)
            st = BL.Statement(oid, br.org_name(s, oid) or "", f"{start:%Y-%m}", cc, pc)
            for r, title, _owner, oname, uname in rows:
                if r.awaiting_confirmation:
                    st.unconfirmed += 1
                    continue
                st.lines.append(BL.statement_line(rr.booking_from_row(r), title, oname, uname, r.billed_hours,
                                                  rr.yuan(r.rate_fen) if r.rate_fen is not None else None))
            return st

    # -- voucher claims ---------------------------------------------------------------------------------------
    def _issuer(self, viewer: Viewer) -> None:
        acc.require_signed_in(viewer)
        if not B.can_administer_vouchers(viewer):
            raise Forbidden(Message("只有创新券发放方（平台运营人员）可以查看和结算创新券兑付", "only the voucher issuer (platform staff) may see and settle voucher claims"))

    def voucher_claims(self, viewer: Viewer, month: str, province: str = "") -> list[BL.VoucherClaim]:
        """The vouchers used on bookings billed in a month: which voucher, which booking, how much, which lab."""
        self._issuer(viewer)
        start, end = BL.month_range(month)
        if province and province not in B.VOUCHER_PROVINCES:
            raise ValidationError.of([FieldError("province", Message("发放地区应为 BJ / TJ / HE", "the issuing region is BJ, TJ or HE"), province)])
        with self.ex.db.transaction(write=False) as s:
            out = []
            for r, code, prov, ent, pid, pname, title, st in br.claims(s, start, end, province or None):
                out.append(BL.VoucherClaim(r.id, B.as_cst(rr.from_db(r.starts_at)).date(), code, prov, ent, pid, pname, title, rr.yuan(r.fee_fen),
                                           rr.yuan(r.voucher_fen), rr.from_db(st.settled_at) if st is not None else None,
                                           st.reference if st is not None else ""))
            return out

    def settle_claim(self, viewer: Viewer, booking_id: int, reference: str = "") -> BL.VoucherClaim:
        self._issuer(viewer)
        ref = BL.check_reference(reference)
        now = self.clock()
        with self.ex.db.transaction() as s:
            r = br.booking_row(s, booking_id, for_update=True)
            if r.status != "used" or not r.voucher_id or r.voucher_fen <= 0:
                raise Conflict(Message(f"预约 #{booking_id} 没有可结算的创新券抵扣（须已使用并使用了创新券）",
                                       f"booking #{booking_id} has no voucher claim to settle (it must be used, with a voucher)"))
            if r.awaiting_confirmation:
                raise Conflict(Message(f"预约 #{booking_id} 的使用时间尚待仪器管理员确认", f"booking #{booking_id} still waits for the manager's confirmation"))
            if br.settlement(s, booking_id) is not None:
                raise Conflict(Message(f"预约 #{booking_id} 的创新券兑付已结算", f"the voucher claim of booking #{booking_id} is already settled"))
            br.settle(s, booking_id, rr.yuan(r.voucher_fen), now, viewer.user_id, ref)
            month = f"{B.as_cst(rr.from_db(r.starts_at)):%Y-%m}"
        return next(c for c in self.voucher_claims(viewer, month) if c.booking_id == booking_id)

    # -- owners' income ---------------------------------------------------------------------------------------
    def income(self, viewer: Viewer, months: int = 12, org_id: int | None = None) -> tuple[str, list[BL.IncomeRow]]:
        """Billed income per instrument per month over the last `months` months, for the owner organisation."""
        acc.require_signed_in(viewer)
        owner = org_id if org_id is not None else viewer.org_id
        if owner is None or not B.can_manage(viewer, owner):
            raise Forbidden(Message("只有仪器所属单位的成员或平台运营人员可以查看收入", "only the owner organisation's members or staff may see income"))
        months = max(1, min(int(months), 36))
        now = B.as_cst(self.clock())
        end = BL.month_range(f"{now:%Y-%m}")[1]
        y, m = now.year, now.month - (months - 1)
        while m <= 0:
            y, m = y - 1, m + 12
        start = dt.datetime(y, m, 1, tzinfo=B.CST)
        with self.ex.db.transaction(write=False) as s:
            name = br.org_name(s, owner) or ""
            return name, BL.income(br.income_rows(s, owner, start, end))
