"""Instrument booking service: request, approve / reject, cancel, used / no-show, blackouts, training,
vouchers, calendars, iCalendar and usage statistics. One transaction per operation.

Whoever acts is an `Actor`: the signed-in user's id, their organisation and their Viewer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from ..core import booking as B
from ..core import regions
from ..core.access import Viewer
from ..core.errors import Conflict, Forbidden, Message
from ..core.listing import Listing
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(B.CST)


@dataclass(frozen=True)
class Actor:
    user_id: int
    org_id: int
    viewer: Viewer


def _forbidden_manage() -> Forbidden:
    return Forbidden(Message("只有仪器所属单位的管理员或平台运营人员可以执行此操作", "only the instrument's owner organisation or platform staff may do this"))


class Bookings:
    def __init__(self, ex: Exchange, clock: Clock | None = None) -> None:
        self.ex = ex
        self.clock = clock or _now

    # -- reading ----------------------------------------------------------------------------
    def instrument(self, instrument_id: int) -> Listing:
        with self.ex.db.transaction(write=False) as s:
            rr.instrument_row(s, instrument_id)
            return repo.get_listing(s, instrument_id, self.ex.registry)

    def get(self, booking_id: int) -> B.Booking:
        with self.ex.db.transaction(write=False) as s:
            return rr.get_booking(s, booking_id)

    def mine(self, user_id: int) -> list[B.Booking]:
        with self.ex.db.transaction(write=False) as s:
            return rr.bookings_of_user(s, user_id)

    def calendar(self, instrument_id: int, view: str, anchor: dt.date, user_id: int | None = None) -> tuple[Listing, B.CalendarView]:
        days = B.calendar_days("day" if view == "day" else "week", anchor)
        start = dt.datetime(days[0].year, days[0].month, days[0].day, tzinfo=B.CST)
        end = start + dt.timedelta(days=len(days))
        with self.ex.db.transaction(write=False) as s:
            rr.instrument_row(s, instrument_id)
            x = repo.get_listing(s, instrument_id, self.ex.registry)
            bookings = rr.bookings_between(s, instrument_id, start, end)
            blackouts = rr.blackouts_between(s, instrument_id, start, end)
        rules = B.InstrumentRules.of(x.attrs)
        return x, B.build_calendar("day" if view == "day" else "week", anchor, rules, bookings, blackouts, self.clock(), user_id)

    def ics(self, instrument_id: int, days_back: int = 30, days_ahead: int = 180) -> str:
        now = self.clock()
        start, end = now - dt.timedelta(days=days_back), now + dt.timedelta(days=days_ahead)
        with self.ex.db.transaction(write=False) as s:
            rr.instrument_row(s, instrument_id)
            x = repo.get_listing(s, instrument_id, self.ex.registry)
            bookings = rr.bookings_between(s, instrument_id, start, end)
            blackouts = rr.blackouts_between(s, instrument_id, start, end)
        loc = " ".join(p for p in (x.owner_name, x.attrs.get("location", "")) if p)
        return B.to_ics(instrument_id, x.title, loc, bookings, blackouts, now)

    def stats(self, group: str, start: dt.datetime, end: dt.datetime, owner_id: int | None = None) -> list[B.UsageStats]:
        with self.ex.db.transaction(write=False) as s:
            records = rr.usage_records(s, start, end, owner_id)
        return B.usage_stats(records, group)

    # -- booking workflow ---------------------------------------------------------------------
    def request(self, actor: Actor, instrument_id: int, start: dt.datetime, end: dt.datetime, purpose: str = "", samples: int = 0,
                voucher: str | None = None, voucher_amount: float | None = None) -> B.Booking:
        slot = B.Slot.of(start, end)
        now = self.clock()
        with self.ex.db.transaction() as s:
            row = rr.lock_instrument(s, instrument_id)
            if row.status != "published":
                raise Conflict(Message("该仪器未发布，不接受预约", "the instrument is not published"))
            rules = B.InstrumentRules.of(row.attrs or {})
            trained = rr.is_trained(s, instrument_id, actor.user_id, now.date())
            week = B.week_of(slot.start)
            used = rr.user_hours_between(s, instrument_id, actor.user_id, week)
            conflicts = [b.slot for b in rr.bookings_between(s, instrument_id, slot.start, slot.end)]
            blackouts = rr.blackouts_between(s, instrument_id, slot.start, slot.end)
            status = B.decide_request(slot, rules, now, trained, conflicts, blackouts, used)
            user_org = repo.get_organisation(s, actor.org_id)
            fee = B.fee_of(row.attrs or {}, row.owner_id, row.region, actor.org_id, user_org.region, slot.hours, samples)
            b = B.Booking(instrument_id, actor.user_id, actor.org_id, slot, status, purpose.strip()[:2000], max(samples, 0), fee)
            v = None
            if voucher:
                v = rr.get_voucher(s, voucher.strip(), for_update=True)
                recognised = rr.is_recognised(s, v.province, row.owner_id, now.date())
                amount = voucher_amount if voucher_amount is not None else min(v.balance, round(fee * v.max_share, 2))
                b.voucher_id, b.voucher_amount = v.id, B.check_voucher(v, actor.org_id, recognised, fee, amount, now.date())
            b.id = rr.insert_booking(s, b)
            if v is not None:
                rr.charge_voucher(s, v.id, b.id, b.voucher_amount)
            b.created_at = now
            return b

    def _manager_tx(self, actor: Actor, booking_id: int, to: str) -> B.Booking:
        now = self.clock()
        with self.ex.db.transaction() as s:
            b = rr.get_booking(s, booking_id, for_update=True)
            owner = rr.instrument_row(s, b.instrument_id).owner_id
            if not B.can_manage(actor.viewer, owner):
                raise _forbidden_manage()
            B.check_transition(b, to, now)
            rr.set_booking_status(s, booking_id, to, now)
            if to == "rejected" and b.voucher_id and b.voucher_amount:
                rr.charge_voucher(s, b.voucher_id, booking_id, -b.voucher_amount)
            b.status = to
            return b

    def approve(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "approved")

    def reject(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "rejected")

    def mark_used(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "used")

    def mark_no_show(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "no_show")

    def cancel(self, actor: Actor, booking_id: int) -> B.Booking:
        now = self.clock()
        with self.ex.db.transaction() as s:
            b = rr.get_booking(s, booking_id, for_update=True)
            row = rr.instrument_row(s, b.instrument_id)
            manager = B.can_manage(actor.viewer, row.owner_id)
            if not manager and b.user_id != actor.user_id:
                raise Forbidden(Message("只能取消自己的预约", "you can only cancel your own bookings"))
            B.check_cancel(b, now, B.InstrumentRules.of(row.attrs or {}).notice_hours, by_manager=manager)
            rr.set_booking_status(s, booking_id, "cancelled", now)
            if b.voucher_id and b.voucher_amount:
                rr.charge_voucher(s, b.voucher_id, booking_id, -b.voucher_amount)
            b.status = "cancelled"
            return b

    # -- instrument administration ---------------------------------------------------------------
    def add_blackout(self, actor: Actor, instrument_id: int, start: dt.datetime, end: dt.datetime, reason: str) -> int:
        slot = B.Slot.of(start, end)
        if slot.end <= slot.start:
            raise Conflict(Message("停机结束时间应晚于开始时间", "the blackout must end after it starts"))
        with self.ex.db.transaction() as s:
            row = rr.lock_instrument(s, instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            clash = rr.bookings_between(s, instrument_id, slot.start, slot.end)
            if clash:
                raise Conflict(Message(f"该时段已有 {len(clash)} 个预约，请先与预约人协调取消后再设置停机",
                                       f"{len(clash)} booking(s) fall in this period; cancel them with the users first"))
            return rr.add_blackout(s, instrument_id, slot, reason.strip()[:200] or "维护")

    def set_training(self, actor: Actor, instrument_id: int, user_id: int, trained_on: dt.date, valid_until: dt.date | None = None) -> None:
        with self.ex.db.transaction() as s:
            row = rr.instrument_row(s, instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            rr.set_training(s, instrument_id, user_id, trained_on, valid_until)

    # -- vouchers (issued by a region's science bureau: staff / CLI) -----------------------------------
    def issue_voucher(self, actor_viewer: Viewer, code: str, province: str, org_ref: str, amount: float, valid_from: dt.date,
                      valid_until: dt.date, max_share: float = 0.5) -> int:
        if not actor_viewer.is_staff:
            raise Forbidden(Message("只有平台运营人员可以发放创新券", "only platform staff may issue vouchers"))
        if province not in ("BJ", "TJ", "HE"):
            raise Conflict(Message("发放地区应为 BJ / TJ / HE", "province must be BJ, TJ or HE"))
        with self.ex.db.transaction() as s:
            org = rr.resolve_org(s, org_ref)
            return rr.issue_voucher(s, code, province, org.id, amount, valid_from, valid_until, max_share)

    def recognise_lab(self, actor_viewer: Viewer, province: str, org_ref: str, on: dt.date, valid_until: dt.date | None = None) -> None:
        if not actor_viewer.is_staff:
            raise Forbidden(Message("只有平台运营人员可以登记创新券服务机构", "only platform staff may register voucher providers"))
        with self.ex.db.transaction() as s:
            rr.recognise_provider(s, province, rr.resolve_org(s, org_ref).id, on, valid_until)

    def voucher(self, code: str) -> tuple[B.Voucher, list[tuple[int, float]]]:
        with self.ex.db.transaction(write=False) as s:
            v = rr.get_voucher(s, code)
            return v, rr.voucher_usages(s, v.id)


def province_label(code: str, lang: str = "zh") -> str:
    zh, en = regions.PROVINCE_LABELS.get(code, (code, code))
    return en if lang == "en" else zh
