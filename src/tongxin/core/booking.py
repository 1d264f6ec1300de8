"""Instrument booking rules (pure): slots, open hours, blackouts, training gate, weekly quota,
cancellation notice, fees, innovation vouchers (创新券), calendars, iCalendar and usage statistics.

Times are timezone-aware; the platform's civil time is China Standard Time (UTC+8, no DST).
Storage keeps UTC; the database itself guarantees that active bookings of one instrument never
overlap (see storage/migrations/versions/0003_resources.py). These rules give the reasons.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import regions
from .access import Viewer
from .errors import Conflict, FieldError, Forbidden, Message, ValidationError

CST = dt.timezone(dt.timedelta(hours=8), "CST")
STEP_MINUTES = 30
MAX_HOURS = 24.0

STATUSES = ("pending", "approved", "rejected", "cancelled", "used", "no_show")
STATUS_LABELS = {
    "pending": ("待审批", "pending"), "approved": ("已批准", "approved"), "rejected": ("已拒绝", "rejected"),
    "cancelled": ("已取消", "cancelled"), "used": ("已使用", "used"), "no_show": ("未到场", "no-show"),
}
# a voucher's status as people read it (stored: active; a stopped voucher is anything else)
VOUCHER_STATUS_LABELS = {"active": ("有效", "active"), "suspended": ("已停用", "suspended"), "revoked": ("已撤销", "revoked")}


def voucher_status_label(status: str, lang: str = "zh") -> str:
    zh, en = VOUCHER_STATUS_LABELS.get(status, ("已停用", status))
    return en if lang == "en" else zh


# statuses that hold the slot (the database exclusion constraint uses the same list, migration 0009bill):
# a no-show releases its slot (billing: released automatically after the grace period)
BLOCKING = ("pending", "approved", "used")
# statuses counted in usage statistics (booked hours)
COUNTED = ("pending", "approved", "used", "no_show")


def as_cst(t: dt.datetime) -> dt.datetime:
    """Aware datetime in CST; naive input is taken as CST wall time."""
    return t.replace(tzinfo=CST) if t.tzinfo is None else t.astimezone(CST)


def as_utc(t: dt.datetime) -> dt.datetime:
    return as_cst(t).astimezone(dt.UTC)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, start: dt.datetime, end: dt.datetime) -> Slot:
        return cls(as_cst(start), as_cst(end))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def overlaps(self, other: Slot) -> bool:
        """Half-open intervals [start, end): back-to-back slots do not overlap."""
        return self.start < other.end and other.start < self.end

    def label(self) -> str:
        s, e = as_cst(self.start), as_cst(self.end)
        end = e.strftime("%H:%M") if e.date() == s.date() else e.strftime("%Y-%m-%d %H:%M")
        return f"{s:%Y-%m-%d %H:%M}–{end}"


@dataclass(frozen=True)
class InstrumentRules:
    """What an instrument's listing says about booking it."""

    service_mode: str = "operator"
    training_required: bool = False
    auto_approve_trained: bool = False
    notice_hours: int = 24
    weekly_quota_hours: float | None = None
    open_from: int = 8
    open_to: int = 20
    status: str = "available"

    @classmethod
    def of(cls, attrs: Mapping[str, Any]) -> InstrumentRules:
        return cls(
            service_mode=attrs.get("service_mode") or "operator",
            training_required=bool(attrs.get("training_required")),
            auto_approve_trained=bool(attrs.get("auto_approve_trained")),
            notice_hours=int(attrs["notice_hours"]) if attrs.get("notice_hours") is not None else 24,
            weekly_quota_hours=attrs.get("weekly_quota_hours"),
            open_from=int(attrs["open_from"]) if attrs.get("open_from") is not None else 8,
            open_to=int(attrs["open_to"]) if attrs.get("open_to") is not None else 20,
            status=attrs.get("instrument_status") or "available",
        )


@dataclass
class Booking:
    instrument_id: int
    user_id: int
    org_id: int
    slot: Slot
    status: str = "pending"
    purpose: str = ""
    samples: int = 0
    fee: float = 0.0
    voucher_id: int | None = None
    voucher_amount: float = 0.0
    id: int | None = None
    created_at: dt.datetime | None = None
    note: str = ""  # the owner's reason for a rejection or a cancellation
    decided_at: dt.datetime | None = None
    cost_centre: str = ""  # optional, validated by core.billing.check_code
    project_code: str = ""
    checked_in_at: dt.datetime | None = None
    checked_out_at: dt.datetime | None = None
    billed_hours: float | None = None  # actual hours rounded up to the billing unit, set at check-out
    billing_note: str = ""  # said when the actual use differs from the booking
    awaiting_confirmation: bool = False  # the booker checked in / out at the instrument; the manager confirms

    @property
    def hours(self) -> float:
        return self.slot.hours

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "instrument_id": self.instrument_id, "user_id": self.user_id, "org_id": self.org_id,
            "start": as_cst(self.slot.start).isoformat(), "end": as_cst(self.slot.end).isoformat(), "hours": round(self.hours, 2),
            "status": self.status, "status_zh": STATUS_LABELS[self.status][0], "purpose": self.purpose, "samples": self.samples,
            "fee": round(self.fee, 2), "voucher_id": self.voucher_id, "voucher_amount": round(self.voucher_amount, 2),
            "payable": round(self.fee - self.voucher_amount, 2), "note": self.note,
            "cost_centre": self.cost_centre or None, "project_code": self.project_code or None,
            "checked_in_at": as_cst(self.checked_in_at).isoformat() if self.checked_in_at else None,
            "checked_out_at": as_cst(self.checked_out_at).isoformat() if self.checked_out_at else None,
            "billed_hours": round(self.billed_hours, 2) if self.billed_hours is not None else None,
            "billing_note": self.billing_note or None, "awaiting_confirmation": self.awaiting_confirmation,
        }


def _invalid(field_name: str, zh: str, en: str, value: object = None) -> ValidationError:
    return ValidationError.of([FieldError(field_name, Message(zh, en), value)])


def check_slot_shape(slot: Slot, rules: InstrumentRules, now: dt.datetime) -> None:
    """A well-formed request: in the future, on 30-minute steps, inside one day's open hours."""
    s, e = as_cst(slot.start), as_cst(slot.end)
    if e <= s:
        raise _invalid("end", "结束时间应晚于开始时间", "the end must be after the start", e.isoformat())
    if slot.hours > MAX_HOURS:
        raise _invalid("end", f"单次预约最长 {MAX_HOURS:g} 小时", f"one booking is at most {MAX_HOURS:g} hours", e.isoformat())
    for name, t in (("start", s), ("end", e)):
        if t.minute % STEP_MINUTES or t.second or t.microsecond:
            raise _invalid(name, f"时间应为整点或半点，实际为 {t:%H:%M}", f"times are on the hour or half hour, got {t:%H:%M}", t.isoformat())
    if s <= as_cst(now):
        raise _invalid("start", "不能预约已经开始或过去的时段", "the slot has already started or passed", s.isoformat())
    day_open = s.replace(hour=rules.open_from, minute=0)
    day_close = s.replace(hour=0, minute=0) + dt.timedelta(hours=rules.open_to)
    if s < day_open or e > day_close:
        raise _invalid("start", f"开放时间为每天 {rules.open_from:02d}:00–{rules.open_to:02d}:00，请在开放时间内预约",
                       f"open {rules.open_from:02d}:00–{rules.open_to:02d}:00 daily; book inside these hours", s.isoformat())


def week_of(t: dt.datetime) -> Slot:
    """Monday 00:00 to next Monday 00:00 (CST) of the week containing t."""
    d = as_cst(t)
    monday = d.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=d.weekday())
    return Slot(monday, monday + dt.timedelta(days=7))


def decide_request(
    slot: Slot,
    rules: InstrumentRules,
    now: dt.datetime,
    trained: bool,
    conflicts: Sequence[Slot],
    blackouts: Sequence[tuple[Slot, str]],
    user_week_hours: float,
) -> str:
    """Check a booking request; return its first status ('approved' or 'pending') or raise the reason."""
    check_slot_shape(slot, rules, now)
    if rules.status != "available":
        zh = "维护中" if rules.status == "maintenance" else "已停用"
        raise Conflict(Message(f"仪器{zh}，暂不接受预约", f"the instrument is {rules.status} and takes no bookings"))
    for b, reason in blackouts:
        if b.overlaps(slot):
            raise Conflict(Message(f"{b.label()} 为维护停机时段（{reason}），请选择其他时间",
                                   f"{b.label()} is a maintenance blackout ({reason}); choose another time"))
    self_service = rules.service_mode == "self"
    if self_service and rules.training_required and not trained:
        raise Forbidden(Message("该仪器需自主上机，须先完成上机培训并经管理员确认，才能预约",
                                "this instrument is self-service: complete the operator training before booking"))
    if rules.weekly_quota_hours is not None and user_week_hours + slot.hours > rules.weekly_quota_hours + 1e-9:
        left = max(0.0, rules.weekly_quota_hours - user_week_hours)
        raise Conflict(Message(f"超出每人每周 {rules.weekly_quota_hours:g} 小时限额：本周已约 {user_week_hours:g} 小时，还可约 {left:g} 小时",
                               f"over the weekly quota of {rules.weekly_quota_hours:g} h: {user_week_hours:g} h booked this week, {left:g} h left"))
    for c in conflicts:
        if c.overlaps(slot):
            raise slot_taken(slot)
    return "approved" if (rules.auto_approve_trained and trained) else "pending"


def slot_taken(slot: Slot) -> Conflict:
    return Conflict(Message(f"{slot.label()} 已被预约，请选择其他时段", f"{slot.label()} is already booked; choose another slot"))


def check_cancel(booking: Booking, now: dt.datetime, notice_hours: int, by_manager: bool) -> None:
    if booking.status not in ("pending", "approved"):
        raise Conflict(Message(f"预约状态为“{STATUS_LABELS[booking.status][0]}”，不能取消", f"a {booking.status} booking cannot be cancelled"))
    if by_manager:
        return
    if as_cst(booking.slot.start) - as_cst(now) < dt.timedelta(hours=notice_hours):
        raise Conflict(Message(f"须在开始前 {notice_hours} 小时取消；已过取消时限，请联系仪器管理员",
                               f"cancel at least {notice_hours} h before the start; the deadline has passed, contact the instrument manager"))


def check_transition(booking: Booking, to: str, now: dt.datetime) -> None:
    """approve / reject (pending only); used / no_show (approved, once the slot has started)."""
    allowed = {"approved": ("pending",), "rejected": ("pending",), "used": ("approved",), "no_show": ("approved",)}
    if to not in allowed:
        raise _invalid("status", f"未知的目标状态 ‘{to}’", f"unknown target status '{to}'", to)
    if booking.status not in allowed[to]:
        raise Conflict(Message(f"预约状态为“{STATUS_LABELS[booking.status][0]}”，不能改为“{STATUS_LABELS[to][0]}”",
                               f"a {booking.status} booking cannot become {to}"))
    if to in ("used", "no_show") and as_cst(now) < as_cst(booking.slot.start):
        raise Conflict(Message("预约时段尚未开始，不能登记使用或未到场", "the slot has not started yet"))


def can_manage(viewer: Viewer, owner_org_id: int | None) -> bool:
    """Instrument managers: staff, or a signed-in member of the owner organisation."""
    return viewer.is_staff or (viewer.org_id is not None and viewer.org_id == owner_org_id and viewer.role != "visitor")


def can_administer_vouchers(viewer: Viewer) -> bool:
    """Issuing innovation vouchers and recognising labs is the regions' work, done by platform staff."""
    return viewer.is_staff


# statuses in which the owner sees the requester's e-mail (as with contact requests: once accepted)
CONTACT_VISIBLE = ("approved", "used", "no_show")
NOTE_MAX = 500


def check_note(note: str | None, required: bool, field_name: str = "reason") -> str:
    """The owner's reason for a decision: required for a rejection, at most 500 characters."""
    text = " ".join(str(note or "").split())
    if required and not text:
        raise _invalid(field_name, "请填写拒绝原因，预约人会看到它", "give a reason; the requester will see it", note)
    if len(text) > NOTE_MAX:
        raise _invalid(field_name, f"原因最多 {NOTE_MAX} 字", f"the reason is at most {NOTE_MAX} characters", len(text))
    return text


def cancel_deadline(booking: Booking, notice_hours: int) -> dt.datetime:
    """The last moment the requester may cancel without the manager."""
    return as_cst(booking.slot.start) - dt.timedelta(hours=notice_hours)


def cancel_refusal(booking: Booking, now: dt.datetime, notice_hours: int, by_manager: bool) -> Message | None:
    """Why this person may not cancel now (None: they may) — the same rule as `check_cancel`."""
    try:
        check_cancel(booking, now, notice_hours, by_manager)
    except Conflict as e:
        return e.message
    return None


# -- fees and vouchers ------------------------------------------------------------------------

def fee_of(attrs: Mapping[str, Any], owner_org_id: int, owner_region: str, user_org_id: int, user_region: str, hours: float, samples: int) -> float:
    """Internal price for the owner's own people, else same-region or cross-region price; per hour or per sample."""
    if user_org_id == owner_org_id and attrs.get("fee_internal") is not None:
        price = attrs["fee_internal"]
    elif regions.province_of(owner_region) == regions.province_of(user_region):
        price = attrs.get("fee_same_region")
    else:
        price = attrs.get("fee_cross_region", attrs.get("fee_same_region"))
    if price is None:
        return 0.0
    qty = max(samples, 1) if attrs.get("fee_unit") == "sample" else hours
    return round(float(price) * qty, 2)


@dataclass(frozen=True)
class Voucher:
    id: int
    code: str
    province: str  # issuing region: BJ / TJ / HE
    org_id: int  # the enterprise it was issued to
    amount: float
    balance: float
    valid_from: dt.date
    valid_until: dt.date
    max_share: float = 0.5  # at most this share of a booking's fee may be paid by voucher
    status: str = "active"


def check_voucher(v: Voucher, booker_org_id: int, lab_recognised: bool, fee: float, amount: float, day: dt.date) -> float:
    """The voucher amount that may be applied (raises with the reason otherwise)."""
    pname = regions.PROVINCE_LABELS.get(v.province, (v.province, v.province))
    if v.status != "active":
        raise Conflict(Message(f"创新券 {v.code} 已停用", f"voucher {v.code} is not active"))
    if v.org_id != booker_org_id:
        raise Forbidden(Message(f"创新券 {v.code} 不属于预约机构", f"voucher {v.code} was not issued to the booking organisation"))
    if not (v.valid_from <= day <= v.valid_until):
        raise Conflict(Message(f"创新券 {v.code} 有效期为 {v.valid_from}–{v.valid_until}", f"voucher {v.code} is valid {v.valid_from} to {v.valid_until}"))
    if not lab_recognised:
        raise Conflict(Message(f"该仪器所属单位不在{pname[0]}创新券服务机构名录内，不能使用此创新券",
                               f"the instrument's owner is not a recognised {pname[1]} voucher service provider"))
    if amount <= 0:
        raise _invalid("voucher_amount", "创新券抵扣金额应大于 0", "the voucher amount must be positive", amount)
    cap = round(fee * v.max_share, 2)
    if amount > cap + 1e-9:
        raise _invalid("voucher_amount", f"创新券最多抵扣费用的 {v.max_share:.0%}，即 {cap:g} 元", f"a voucher pays at most {v.max_share:.0%} of the fee ({cap:g} CNY)", amount)
    if amount > v.balance + 1e-9:
        raise Conflict(Message(f"创新券余额不足：余额 {v.balance:g} 元，拟抵扣 {amount:g} 元", f"voucher balance {v.balance:g} CNY is less than {amount:g}"))
    return round(amount, 2)


VOUCHER_PROVINCES = ("BJ", "TJ", "HE")  # the regions that issue innovation vouchers
VOUCHER_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def voucher_code(code: object) -> str:
    """A voucher code as stored: full-width forms folded (ＴＪ－２０２６ → TJ-2026), trimmed, upper case.
    Issuing and every lookup go through it, so "tj-2026-0001" finds TJ-2026-0001."""
    return unicodedata.normalize("NFKC", str(code or "")).strip().upper()


def check_voucher_issue(code: str, province: str, amount: float, valid_from: dt.date, valid_until: dt.date, max_share: float) -> str:
    """All problems with a voucher to issue at once; returns the normalised code."""
    errors: list[FieldError] = []
    norm = voucher_code(code)
    if not norm or len(norm) > 32 or not set(norm) <= VOUCHER_CODE_CHARS:
        errors.append(FieldError("code", Message("创新券编号为 1–32 位字母、数字或 -，如 TJ-2026-0001", "a voucher code is 1–32 letters, digits or -, e.g. TJ-2026-0001"), code))
    if province not in VOUCHER_PROVINCES:
        errors.append(FieldError("province", Message("发放地区应为 北京 / 天津 / 河北", "the issuing region is BJ, TJ or HE"), province))
    if not amount > 0:
        errors.append(FieldError("amount", Message("面额应大于 0 元", "the amount must be positive"), amount))
    if valid_until < valid_from:
        errors.append(FieldError("valid_until", Message(f"有效期止 {valid_until} 早于有效期起 {valid_from}", f"valid until {valid_until} is before valid from {valid_from}"), valid_until))
    if not 0 < max_share <= 1:
        errors.append(FieldError("max_share", Message("抵扣比例上限应在 0–100% 之间", "the maximum share is between 0 and 100 %"), max_share))
    if errors:
        raise ValidationError.of(errors)
    return norm


# -- calendars and iCalendar -----------------------------------------------------------------

@dataclass
class CalendarCell:
    state: str  # free, booked, mine, blackout, closed, past
    label: str = ""
    booking_id: int | None = None


@dataclass
class CalendarView:
    view: str
    days: list[dt.date]
    hours: list[int]
    cells: dict[tuple[int, int], CalendarCell] = field(default_factory=dict)  # (hour index, day index)

    def cell(self, hi: int, di: int) -> CalendarCell:
        return self.cells[(hi, di)]


def calendar_days(view: str, anchor: dt.date) -> list[dt.date]:
    if view == "day":
        return [anchor]
    monday = anchor - dt.timedelta(days=anchor.weekday())
    return [monday + dt.timedelta(days=i) for i in range(7)]


def build_calendar(view: str, anchor: dt.date, rules: InstrumentRules, bookings: Iterable[Booking],
                   blackouts: Iterable[tuple[Slot, str]], now: dt.datetime, user_id: int | None = None) -> CalendarView:
    days = calendar_days(view, anchor)
    hours = list(range(rules.open_from, rules.open_to))
    cal = CalendarView(view, days, hours)
    bl = list(blackouts)
    bk = [b for b in bookings if b.status in BLOCKING]
    for di, d in enumerate(days):
        for hi, h in enumerate(hours):
            cell_slot = Slot(dt.datetime(d.year, d.month, d.day, h, tzinfo=CST), dt.datetime(d.year, d.month, d.day, h, tzinfo=CST) + dt.timedelta(hours=1))
            cell = CalendarCell("free")
            if cell_slot.end <= as_cst(now):
                cell = CalendarCell("past")
            for s, reason in bl:
                if s.overlaps(cell_slot):
                    cell = CalendarCell("blackout", reason)
            for b in bk:
                if b.slot.overlaps(cell_slot):
                    cell = CalendarCell("mine" if user_id is not None and b.user_id == user_id else "booked", STATUS_LABELS[b.status][0], b.id)
            cal.cells[(hi, di)] = cell
    return cal


def _ics_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets are folded (continuation lines start with a space)."""
    out: list[str] = []
    cur = ""
    for ch in line:
        if len((cur + ch).encode("utf-8")) > (75 if not out else 74):
            out.append(cur)
            cur = ""
        cur += ch
    out.append(cur)
    return [out[0]] + [" " + x for x in out[1:]]


def _ics_time(t: dt.datetime) -> str:
    return as_utc(t).strftime("%Y%m%dT%H%M%SZ")


def to_ics(instrument_id: int, title: str, location: str, bookings: Iterable[Booking], blackouts: Iterable[tuple[Slot, str]],
           stamp: dt.datetime, host: str = "tongxin") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tongxin//instrument booking//ZH", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_ics_escape(title)}"]
    for b in bookings:
        if b.status not in BLOCKING:
            continue
        lines += ["BEGIN:VEVENT", f"UID:booking-{b.id}@{host}", f"DTSTAMP:{_ics_time(stamp)}", f"DTSTART:{_ics_time(b.slot.start)}",
                  f"DTEND:{_ics_time(b.slot.end)}", f"SUMMARY:{_ics_escape(title + ' · ' + STATUS_LABELS[b.status][0])}",
                  f"LOCATION:{_ics_escape(location)}", "STATUS:" + ("TENTATIVE" if b.status == "pending" else "CONFIRMED"), "END:VEVENT"]
    for i, (s, reason) in enumerate(blackouts, start=1):
        lines += ["BEGIN:VEVENT", f"UID:blackout-{instrument_id}-{i}-{_ics_time(s.start)}@{host}", f"DTSTAMP:{_ics_time(stamp)}",
                  f"DTSTART:{_ics_time(s.start)}", f"DTEND:{_ics_time(s.end)}", f"SUMMARY:{_ics_escape('维护停机 · ' + reason)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(x for line in lines for x in _ics_fold(line)) + "\r\n"


# -- usage statistics -------------------------------------------------------------------------

@dataclass(frozen=True)
class UsageRecord:
    instrument_id: int
    instrument: str
    owner_org_id: int
    owner: str
    owner_region: str
    user_org_id: int
    user_region: str
    hours: float
    status: str


@dataclass
class UsageStats:
    key: str
    label: str
    booked_hours: float = 0.0
    used_hours: float = 0.0
    no_show_hours: float = 0.0
    external_hours: float = 0.0  # used by other organisations
    cross_region_hours: float = 0.0  # used by organisations of another province
    bookings: int = 0

    @property
    def sharing_rate(self) -> float:
        """共享率: the share of used hours served to other organisations."""
        return self.external_hours / self.used_hours if self.used_hours else 0.0

    @property
    def use_rate(self) -> float:
        """Used hours over booked hours (no-shows and future bookings lower it)."""
        return self.used_hours / self.booked_hours if self.booked_hours else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "bookings": self.bookings, "booked_hours": round(self.booked_hours, 2),
                "used_hours": round(self.used_hours, 2), "no_show_hours": round(self.no_show_hours, 2),
                "external_hours": round(self.external_hours, 2), "cross_region_hours": round(self.cross_region_hours, 2),
                "sharing_rate": round(self.sharing_rate, 4), "use_rate": round(self.use_rate, 4)}


GROUPS = ("instrument", "owner", "region")


def last_days(now: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    """"The last N days" of usage statistics, the same window on every face (page, API, CLI):
    from N × 24 hours before `now` up to `now` (bookings later today are not usage yet)."""
    return now - dt.timedelta(days=max(1, days)), now


def usage_stats(records: Iterable[UsageRecord], group: str = "instrument") -> list[UsageStats]:
    if group not in GROUPS:
        raise _invalid("group", f"分组应为 {' / '.join(GROUPS)}", f"group must be one of {', '.join(GROUPS)}", group)
    out: dict[str, UsageStats] = {}
    for r in records:
        if r.status not in COUNTED:
            continue
        if group == "instrument":
            key, lab = str(r.instrument_id), r.instrument
        elif group == "owner":
            key, lab = str(r.owner_org_id), r.owner
        else:
            key = regions.province_of(r.owner_region)
            lab = regions.PROVINCE_LABELS.get(key, (key, key))[0]
        st = out.setdefault(key, UsageStats(key, lab))
        st.bookings += 1
        st.booked_hours += r.hours
        if r.status == "no_show":
            st.no_show_hours += r.hours
        if r.status == "used":
            st.used_hours += r.hours
            if r.user_org_id != r.owner_org_id:
                st.external_hours += r.hours
            if regions.province_of(r.user_region) != regions.province_of(r.owner_region):
                st.cross_region_hours += r.hours
    return sorted(out.values(), key=lambda s: (-s.used_hours, -s.booked_hours, s.key))
