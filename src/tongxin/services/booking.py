"""Instrument booking service: request, approve / reject, cancel, used / no-show, blackouts, training,
vouchers, calendars, iCalendar and usage statistics. One transaction per operation.

Whoever acts is an `Actor`: the signed-in user's id, their organisation and their Viewer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import billing as BL
from ..core import booking as B
from ..core import regions
from ..core.access import Viewer
from ..core.accounts import normalise_email
from ..core.errors import Conflict, FieldError, Forbidden, Message, NotFound, ValidationError
from ..core.listing import Listing
from ..storage import accounts_repo as AR
from ..storage import billing_repo as br
from ..storage import repo
from ..storage import resources_repo as rr
from . import notices, waitlist
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


def _forbidden_vouchers() -> Forbidden:
    return Forbidden(Message("只有平台运营人员（代表各地科技主管部门）可以发放创新券、登记服务机构",
                             "only platform staff (for the regions' science bureaus) may issue vouchers and recognise labs"))


@dataclass(frozen=True)
class BookingLine:
    """A booking as the owner's inbox or the requester's list shows it."""

    booking: B.Booking
    instrument: str
    owner_id: int
    owner_name: str = ""
    user_name: str = ""
    user_email: str = ""  # the owner sees it once the booking is approved (as with contact requests)
    org_name: str = ""
    started: bool = False
    cancel_deadline: dt.datetime | None = None
    cancel_refusal: Message | None = None  # why this viewer may not cancel it now (None: they may)

    @property
    def status_label(self) -> tuple[str, str]:
        return B.STATUS_LABELS[self.booking.status]

    @property
    def can_cancel(self) -> bool:
        return self.cancel_refusal is None


@dataclass
class Inbox:
    """An owner's bookings inbox: one organisation's instruments, or one instrument."""

    now: dt.datetime
    owner_id: int
    instruments: list[tuple[int, str, str]] = field(default_factory=list)
    pending: list[BookingLine] = field(default_factory=list)  # to approve or reject
    to_confirm: list[BookingLine] = field(default_factory=list)  # approved and started: used or no-show
    upcoming: list[BookingLine] = field(default_factory=list)  # approved, not started yet
    cancelled: list[BookingLine] = field(default_factory=list)  # recent cancellations
    history: list[BookingLine] = field(default_factory=list)  # recently rejected, used or no-show


@dataclass(frozen=True)
class Trainee:
    user_id: int
    name: str
    email: str
    trained_on: dt.date
    valid_until: dt.date | None
    valid_now: bool


@dataclass
class InstrumentAdmin:
    """What the instrument's managers see: its inbox, blackouts and training records."""

    instrument: Listing
    rules: B.InstrumentRules
    inbox: Inbox
    blackouts: list[tuple[int, B.Slot, str]]
    trainees: list[Trainee]


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

    def stats(self, group: str, start: dt.datetime, end: dt.datetime, owner_id: int | None = None,
              viewer: Viewer = acc.VISITOR) -> list[B.UsageStats]:
        """Usage of the instruments `viewer` may read in full (members-only and confidential
        instruments' titles and hours are not for everyone)."""
        with self.ex.db.transaction(write=False) as s:
            records = rr.usage_records(s, start, end, owner_id)
            ids = {r.instrument_id for r in records}
            seen = {i for i in ids if acc.access(viewer, repo.get_listing(s, i, self.ex.registry)) == acc.Access.FULL}
        return B.usage_stats([r for r in records if r.instrument_id in seen], group)

    # -- screens: the requester's bookings, the owner's inbox and administration ---------------------
    def _lines(self, s: Session, viewer: Viewer, rows: list[tuple[B.Booking, str, int]], now: dt.datetime,
               notice: dict[int, int] | None = None) -> list[BookingLine]:
        people = rr.people(s, [b.user_id for b, _, _ in rows])
        orgs = rr.org_names(s, [b.org_id for b, _, _ in rows] + [o for _, _, o in rows])
        out = []
        for b, title, owner in rows:
            hours = (notice or {}).get(b.instrument_id)
            if hours is None:
                hours = B.InstrumentRules.of(rr.instrument_row(s, b.instrument_id).attrs or {}).notice_hours
                if notice is not None:
                    notice[b.instrument_id] = hours
            manager = B.can_manage(viewer, owner)
            name, email = people.get(b.user_id, (f"#{b.user_id}", ""))
            out.append(BookingLine(
                b, title, owner, orgs.get(owner, ""), name, email if (b.status in B.CONTACT_VISIBLE or b.user_id == viewer.user_id) else "",
                orgs.get(b.org_id, ""), B.as_cst(b.slot.start) <= B.as_cst(now), B.cancel_deadline(b, hours),
                B.cancel_refusal(b, now, hours, by_manager=manager)))
        return out

    def my_bookings(self, viewer: Viewer) -> list[BookingLine]:
        """The signed-in user's own bookings, latest slot first, each with whether it may still be cancelled."""
        acc.require_signed_in(viewer)
        if viewer.user_id is None:
            return []
        now = self.clock()
        with self.ex.db.transaction(write=False) as s:
            rows = rr.user_bookings(s, int(viewer.user_id))
            notice = {b.instrument_id: B.InstrumentRules.of(attrs).notice_hours for b, _, _, _, attrs in rows}
            return self._lines(s, viewer, [(b, title, owner) for b, title, owner, _, _ in rows], now, notice)

    def _inbox(self, s: Session, viewer: Viewer, owner_id: int, instrument_id: int | None, now: dt.datetime) -> Inbox:
        scope = {"instrument_id": instrument_id} if instrument_id is not None else {"owner_id": owner_id}
        notice: dict[int, int] = {}
        open_ = self._lines(s, viewer, rr.managed_bookings(s, statuses=("pending", "approved"), **scope), now, notice)  # type: ignore[arg-type]
        recent = now - dt.timedelta(days=30)
        done = self._lines(s, viewer, rr.managed_bookings(s, statuses=("cancelled", "rejected", "used", "no_show"), ends_after=recent,
                                                          limit=60, newest_first=True, **scope), now, notice)
        box = Inbox(now, owner_id, rr.instruments_of(s, owner_id) if instrument_id is None else [])
        for line in open_:
            if line.booking.status == "pending":
                box.pending.append(line)
            elif line.started:
                box.to_confirm.append(line)
            else:
                box.upcoming.append(line)
        box.cancelled = [x for x in done if x.booking.status == "cancelled"][:20]
        box.history = [x for x in done if x.booking.status != "cancelled"][:30]
        return box

    def inbox(self, viewer: Viewer, org_id: int | None = None) -> Inbox:
        """The bookings inbox of an organisation's instruments (the viewer's own by default)."""
        acc.require_signed_in(viewer)
        owner = org_id if org_id is not None else viewer.org_id
        if owner is None:
            raise Forbidden(Message("请先加入仪器所属单位，才能管理其仪器的预约", "join the owner organisation to manage its instruments' bookings"))
        if not B.can_manage(viewer, owner):
            raise _forbidden_manage()
        with self.ex.db.transaction(write=False) as s:
            return self._inbox(s, viewer, owner, None, self.clock())

    def admin(self, viewer: Viewer, instrument_id: int) -> InstrumentAdmin:
        """One instrument's inbox, blackouts and training records, for its managers."""
        acc.require_signed_in(viewer)
        now = self.clock()
        with self.ex.db.transaction(write=False) as s:
            row = rr.instrument_row(s, instrument_id)
            if not B.can_manage(viewer, row.owner_id):
                raise _forbidden_manage()
            x = repo.get_listing(s, instrument_id, self.ex.registry)
            box = self._inbox(s, viewer, row.owner_id, instrument_id, now)
            blackouts = rr.blackout_list(s, instrument_id, now - dt.timedelta(days=1))
            trained = rr.trainings_of(s, instrument_id)
            people = rr.people(s, [u for u, _, _ in trained])
        today = B.as_cst(now).date()
        trainees = [Trainee(u, *people.get(u, (f"#{u}", "")), on, until, on <= today and (until is None or today <= until)) for u, on, until in trained]
        return InstrumentAdmin(x, B.InstrumentRules.of(x.attrs), box, blackouts, trainees)

    # -- booking workflow ---------------------------------------------------------------------
    def request(self, actor: Actor, instrument_id: int, start: dt.datetime, end: dt.datetime, purpose: str = "", samples: int = 0,
                voucher: str | None = None, voucher_amount: float | None = None, cost_centre: str = "", project_code: str = "") -> B.Booking:
        slot = B.Slot.of(start, end)
        now = self.clock()
        codes = BL.check_codes(cost_centre, project_code)
        with self.ex.db.transaction() as s:
            return self._request(s, actor, instrument_id, slot, now, purpose, samples, voucher, voucher_amount, codes)

    def request_on_behalf(self, user_id: int, org_ref: str, instrument_id: int, start: dt.datetime, end: dt.datetime, purpose: str = "",
                          samples: int = 0, voucher: str | None = None, voucher_amount: float | None = None, cost_centre: str = "",
                          project_code: str = "") -> B.Booking:
        """The operator books for a user of an organisation named by id, external id, credit code or name (`tongxin resources book`)."""
        codes = BL.check_codes(cost_centre, project_code)
        with self.ex.db.transaction() as s:
            actor = Actor(user_id, rr.resolve_org(s, org_ref).id, acc.SYSTEM)
            slot = B.Slot.of(start, end)
            now = self.clock()
            return self._request(s, actor, instrument_id, slot, now, purpose, samples, voucher, voucher_amount, codes)

    def request_in(self, s: Session, actor: Actor, instrument_id: int, slot: B.Slot, now: dt.datetime, purpose: str = "",
                   codes: tuple[str, str] = ("", "")) -> B.Booking:
        """The one booking path as a step of another use case (a waitlist claim), in the caller's transaction."""
        return self._request(s, actor, instrument_id, slot, now, purpose, 0, None, None, codes)

    def _request(self, s: Session, actor: Actor, instrument_id: int, slot: B.Slot, now: dt.datetime, purpose: str, samples: int,
                 voucher: str | None, voucher_amount: float | None, codes: tuple[str, str] = ("", "")) -> B.Booking:
        row = rr.lock_instrument(s, instrument_id)
        if acc.access(actor.viewer, repo.get_listing(s, instrument_id, self.ex.registry)) < acc.Access.FULL:
            raise acc.not_visible("仪器", "instrument", instrument_id)  # summary-only (confidential) or hidden: no booking
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
        b = B.Booking(instrument_id, actor.user_id, actor.org_id, slot, status, purpose.strip()[:2000], max(samples, 0), fee,
                      cost_centre=codes[0], project_code=codes[1])
        v = None
        if voucher:
            v = rr.get_voucher(s, B.voucher_code(voucher), for_update=True)
            recognised = rr.is_recognised(s, v.province, row.owner_id, now.date())
            amount = voucher_amount if voucher_amount is not None else min(v.balance, round(fee * v.max_share, 2))
            b.voucher_id, b.voucher_amount = v.id, B.check_voucher(v, actor.org_id, recognised, fee, amount, now.date())
        b.id = rr.insert_booking(s, b)
        if v is not None:
            rr.charge_voucher(s, v.id, b.id, b.voucher_amount)
        if actor.org_id != row.owner_id:
            label = "已自动批准" if status == "approved" else "待审批"
            notices.post(s, f"booking{b.id}-requested", row.owner_id, f"仪器预约 #{b.id}（{row.title}，{slot.label()}）{label}",
                         f"booking #{b.id} ({row.title}, {slot.label()}) is {B.STATUS_LABELS[status][1]}", "/my/instruments")
        b.created_at = now
        return b

    def _manager_tx(self, actor: Actor, booking_id: int, to: str, note: str | None = None) -> B.Booking:
        now = self.clock()
        with self.ex.db.transaction() as s:
            b = rr.get_booking(s, booking_id, for_update=True)
            row = rr.instrument_row(s, b.instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            B.check_transition(b, to, now)
            rr.set_booking_status(s, booking_id, to, now, note)
            if to == "rejected" and b.voucher_id and b.voucher_amount:
                rr.charge_voucher(s, b.voucher_id, booking_id, -b.voucher_amount)
            if to in ("rejected", "no_show"):
                waitlist.offer_freed(s, b.instrument_id, b.slot, now)
            if to == "used" and b.awaiting_confirmation:  # the manager marking it used confirms the booker's check-in
                br.confirm(s, booking_id)
                b.awaiting_confirmation = False
            if to in ("approved", "rejected") and b.org_id != row.owner_id:
                why_zh, why_en = (f"：{note}", f": {note}") if note else ("", "")
                notices.post(s, f"booking{b.id}-{to}", b.org_id, f"仪器预约 #{b.id}（{row.title}，{b.slot.label()}）{B.STATUS_LABELS[to][0]}{why_zh}",
                             f"booking #{b.id} ({row.title}, {b.slot.label()}) was {B.STATUS_LABELS[to][1]}{why_en}", "/my/bookings")
            b.status, b.decided_at = to, now
            if note is not None:
                b.note = note
            return b

    def approve(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "approved")

    def reject(self, actor: Actor, booking_id: int, reason: str | None = None) -> B.Booking:
        """Reject a pending request. Pages must give a reason (the requester sees it); the API may omit it."""
        return self._manager_tx(actor, booking_id, "rejected", None if reason is None else B.check_note(reason, required=True))

    def mark_used(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "used")

    def mark_no_show(self, actor: Actor, booking_id: int) -> B.Booking:
        return self._manager_tx(actor, booking_id, "no_show")

    def cancel(self, actor: Actor, booking_id: int, reason: str | None = None) -> B.Booking:
        """The requester cancels with notice; the instrument's managers may cancel any time (with a reason on pages)."""
        now = self.clock()
        with self.ex.db.transaction() as s:
            b = rr.get_booking(s, booking_id, for_update=True)
            row = rr.instrument_row(s, b.instrument_id)
            own = b.user_id == actor.user_id
            manager = B.can_manage(actor.viewer, row.owner_id)
            if not manager and not own:
                raise Forbidden(Message("只能取消自己的预约", "you can only cancel your own bookings"))
            B.check_cancel(b, now, B.InstrumentRules.of(row.attrs or {}).notice_hours, by_manager=manager)
            note = None if reason is None else B.check_note(reason, required=False)
            rr.set_booking_status(s, booking_id, "cancelled", now, note)
            if b.voucher_id and b.voucher_amount:
                rr.charge_voucher(s, b.voucher_id, booking_id, -b.voucher_amount)
            waitlist.offer_freed(s, b.instrument_id, b.slot, now)
            if not own and b.org_id != row.owner_id:
                why_zh, why_en = (f"：{note}", f": {note}") if note else ("", "")
                notices.post(s, f"booking{b.id}-cancelled", b.org_id, f"仪器预约 #{b.id}（{row.title}，{b.slot.label()}）已被仪器管理员取消{why_zh}",
                             f"booking #{b.id} ({row.title}, {b.slot.label()}) was cancelled by the instrument's manager{why_en}", "/my/bookings")
            b.status, b.decided_at = "cancelled", now
            if note is not None:
                b.note = note
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

    def remove_blackout(self, actor: Actor, instrument_id: int, blackout_id: int) -> None:
        with self.ex.db.transaction() as s:
            row = rr.lock_instrument(s, instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            rr.remove_blackout(s, instrument_id, blackout_id)

    def set_training(self, actor: Actor, instrument_id: int, user_id: int, trained_on: dt.date, valid_until: dt.date | None = None) -> None:
        if valid_until is not None and valid_until < trained_on:
            raise ValidationError.of([FieldError("valid_until", Message(f"有效期止 {valid_until} 早于培训日期 {trained_on}",
                                                                        f"valid until {valid_until} is before the training date {trained_on}"), valid_until)])
        with self.ex.db.transaction() as s:
            row = rr.instrument_row(s, instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            rr.set_training(s, instrument_id, user_id, trained_on, valid_until)

    def train_user(self, actor: Actor, instrument_id: int, who: str, trained_on: dt.date, valid_until: dt.date | None = None) -> int:
        """Record that a platform user (by e-mail or user id) completed the instrument's training. Returns their id."""
        ref = str(who or "").strip()
        with self.ex.db.transaction(write=False) as s:
            row = rr.instrument_row(s, instrument_id)
            if not B.can_manage(actor.viewer, row.owner_id):
                raise _forbidden_manage()
            u = AR.user_by_email(s, normalise_email(ref)) if "@" in ref else None
            user_id = u.id if u is not None else (int(ref) if ref.isdigit() and rr.people(s, [int(ref)]) else None)
            if user_id is None:
                raise ValidationError.of([FieldError("user", Message(f"平台上没有用户 ‘{ref}’，请填写其注册邮箱",
                                                                     f"no user '{ref}' on the platform; give their sign-up e-mail"), ref)])
        self.set_training(actor, instrument_id, user_id, trained_on, valid_until)
        return user_id

    # -- vouchers (issued by a region's science bureau: staff / CLI) -----------------------------------
    def issue_voucher(self, actor_viewer: Viewer, code: str, province: str, org_ref: str, amount: float, valid_from: dt.date,
                      valid_until: dt.date, max_share: float = 0.5) -> int:
        if not B.can_administer_vouchers(actor_viewer):
            raise _forbidden_vouchers()
        code = B.check_voucher_issue(code, province, amount, valid_from, valid_until, max_share)
        with self.ex.db.transaction() as s:
            org = _org(s, org_ref, "org")
            if rr.voucher_exists(s, code):
                raise Conflict(Message(f"创新券编号 {code} 已存在", f"voucher {code} already exists"))
            return rr.issue_voucher(s, code, province, org.id, amount, valid_from, valid_until, max_share)

    def recognise_lab(self, actor_viewer: Viewer, province: str, org_ref: str, on: dt.date, valid_until: dt.date | None = None) -> None:
        if not B.can_administer_vouchers(actor_viewer):
            raise _forbidden_vouchers()
        errors = []
        if province not in B.VOUCHER_PROVINCES:
            errors.append(FieldError("province", Message("登记地区应为 北京 / 天津 / 河北", "the region is BJ, TJ or HE"), province))
        if valid_until is not None and valid_until < on:
            errors.append(FieldError("valid_until", Message(f"有效期止 {valid_until} 早于登记日期 {on}", f"valid until {valid_until} is before {on}"), valid_until))
        if errors:
            raise ValidationError.of(errors)
        with self.ex.db.transaction() as s:
            rr.recognise_provider(s, province, _org(s, org_ref, "org").id, on, valid_until)

    def voucher_desk(self, actor_viewer: Viewer, province: str | None = None) -> tuple[list[tuple[B.Voucher, str]], list[tuple[str, int, str, dt.date, dt.date | None]]]:
        """Issued vouchers (with the enterprise) and recognised labs, for staff."""
        acc.require_signed_in(actor_viewer)
        if not B.can_administer_vouchers(actor_viewer):
            raise _forbidden_vouchers()
        with self.ex.db.transaction(write=False) as s:
            return rr.all_vouchers(s, province or None), rr.providers(s, province or None)

    def voucher(self, code: str) -> tuple[B.Voucher, list[tuple[int, float]]]:
        with self.ex.db.transaction(write=False) as s:
            v = rr.get_voucher(s, B.voucher_code(code))
            return v, rr.voucher_usages(s, v.id)


def _org(s: Session, ref: str, field_name: str) -> repo.OrganisationRow:
    """An organisation named on a form; a missing one is a field error, not a missing page."""
    if not str(ref or "").strip():
        raise ValidationError.of([FieldError(field_name, Message("请填写机构名称、统一社会信用代码或编号", "give the organisation's name, credit code or id"), ref)])
    try:
        return rr.resolve_org(s, ref)
    except NotFound as e:
        raise ValidationError.of([FieldError(field_name, e.message, ref)]) from None


def province_label(code: str, lang: str = "zh") -> str:
    zh, en = regions.PROVINCE_LABELS.get(code, (code, code))
    return en if lang == "en" else zh
