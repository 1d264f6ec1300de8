"""Instrument billing rules (pure): check-in / check-out, billed hours rounded up to the instrument's
billing unit, the no-show grace period, waitlist offers, cost centres and project codes, monthly
statements, voucher claims and owners' income.

Times are aware datetimes (China Standard Time for people, see core.booking); money is in yuan.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .booking import CST, Booking, Slot, as_cst
from .errors import Conflict, FieldError, Message, ValidationError

DEFAULT_UNIT_HOURS = 0.5
DEFAULT_GRACE_MINUTES = 15
OFFER_HOURS = 2  # a waitlist offer may be claimed for this long
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")
CODE_FIELDS = {"cost_centre": ("成本中心", "cost centre"), "project_code": ("项目编号", "project code")}
WAIT_STATUSES = {
    "waiting": ("排队中", "waiting"), "offered": ("已通知，待认领", "offered"), "claimed": ("已认领", "claimed"),
    "expired": ("认领已过期", "offer expired"), "withdrawn": ("已退出", "withdrawn"),
}


def _invalid(field_name: str, zh: str, en: str, value: object = None) -> ValidationError:
    return ValidationError.of([FieldError(field_name, Message(zh, en), value)])


def unit_hours(attrs: Mapping[str, Any]) -> float:
    """The instrument's billing unit in hours (e.g. 0.5: billed by the half hour)."""
    raw = attrs.get("billing_unit_hours")
    return float(raw) if raw else DEFAULT_UNIT_HOURS


def grace(attrs: Mapping[str, Any]) -> dt.timedelta:
    """How long after the start a booking may still be checked in before it is a no-show."""
    raw = attrs.get("no_show_grace_minutes")
    return dt.timedelta(minutes=int(raw) if raw is not None else DEFAULT_GRACE_MINUTES)


def billed_hours(actual: Slot, unit: float) -> float:
    """Actual hours rounded up to whole billing units (10:00–11:05 by the half hour: 1.5 h)."""
    hours = max(0.0, actual.hours)
    if unit <= 0:
        return round(hours, 4)
    units = math.ceil(hours / unit - 1e-9)
    return round(units * unit, 4)


def check_actual(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> Slot:
    """Check-out times: the end after the start, neither in the future."""
    s, e = as_cst(start), as_cst(end)
    if e <= s:
        raise _invalid("end", "签退时间应晚于签到时间", "the check-out must be after the check-in", e.isoformat())
    if e > as_cst(now) + dt.timedelta(minutes=1):
        raise _invalid("end", "签退时间不能晚于现在", "the check-out cannot be in the future", e.isoformat())
    if (e - s) > dt.timedelta(hours=48):
        raise _invalid("end", "一次使用最长 48 小时，请核对签到和签退时间", "one use is at most 48 hours; check the times", e.isoformat())
    return Slot(s, e)


def check_check_in(b: Booking, at: dt.datetime, now: dt.datetime, grace_period: dt.timedelta, checked_in: bool) -> None:
    """An approved booking is checked in once, from 30 minutes before its start until its end."""
    if b.status != "approved":
        raise Conflict(Message(f"预约 #{b.id} 状态不是“已批准”，不能签到", f"booking #{b.id} is not approved; it cannot be checked in"))
    if checked_in:
        raise Conflict(Message(f"预约 #{b.id} 已签到", f"booking #{b.id} is already checked in"))
    t = as_cst(at)
    if t > as_cst(now) + dt.timedelta(minutes=1):
        raise _invalid("at", "签到时间不能晚于现在", "the check-in cannot be in the future", t.isoformat())
    if t < as_cst(b.slot.start) - dt.timedelta(minutes=30) or t >= as_cst(b.slot.end):
        raise _invalid("at", f"签到时间应在预约时段 {b.slot.label()} 内（可提前 30 分钟）",
                       f"check in within the booked slot {b.slot.label()} (up to 30 minutes early)", t.isoformat())


def difference_note(booked: Slot, actual: Slot, billed: float) -> str:
    """Said when the actual use differs from the booking (empty when it matches to the minute)."""
    if abs((actual.start - booked.start).total_seconds()) < 60 and abs((actual.end - booked.end).total_seconds()) < 60:
        return ""
    a0, a1 = as_cst(actual.start), as_cst(actual.end)
    return (f"实际使用 {a0:%H:%M}–{a1:%H:%M}（{actual.hours:.2f} 小时，计费 {billed:g} 小时），预约 {booked.label()}（{booked.hours:g} 小时）"
            f" / actual {a0:%H:%M}–{a1:%H:%M} ({actual.hours:.2f} h, billed {billed:g} h), booked {booked.label()} ({booked.hours:g} h)")


def no_show_due(b: Booking, checked_in: bool, grace_period: dt.timedelta, now: dt.datetime) -> bool:
    """An approved booking nobody checked in for within the grace period after its start, while its slot is
    still under way (releasing a slot that is over frees nothing; the manager marks those used or no-show)."""
    t = as_cst(now)
    return b.status == "approved" and not checked_in and as_cst(b.slot.start) + grace_period <= t < as_cst(b.slot.end)


def voucher_after_checkout(voucher_amount: float, fee: float, max_share: float) -> float:
    """The voucher deduction once the fee is final: never more than before, nor than the voucher's share of the fee."""
    return round(max(0.0, min(voucher_amount, round(fee * max_share, 2))), 2)


def check_code(field_name: str, raw: object) -> str:
    """An optional cost centre / project code: 1–32 letters, digits, . _ / -; full-width folded, upper case."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    if not text:
        return ""
    zh, en = CODE_FIELDS.get(field_name, (field_name, field_name))
    if not CODE_RE.match(text):
        raise _invalid(field_name, f"‘{zh}’应为 1–32 位字母、数字或 . _ / -（如 CC-2026-01），实际为 ‘{raw}’",
                       f"the {en} is 1–32 letters, digits or . _ / - (e.g. CC-2026-01); got '{raw}'", raw)
    return text


def check_codes(cost_centre: object, project_code: object) -> tuple[str, str]:
    """Both codes, with every problem at once."""
    errors: list[FieldError] = []
    out = []
    for name, raw in (("cost_centre", cost_centre), ("project_code", project_code)):
        try:
            out.append(check_code(name, raw))
        except ValidationError as e:
            errors += e.errors
            out.append("")
    if errors:
        raise ValidationError.of(errors)
    return out[0], out[1]


def month_range(month: str, field_name: str = "month") -> tuple[dt.datetime, dt.datetime]:
    """'2026-11' → [2026-11-01 00:00, 2026-12-01 00:00) in China Standard Time."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", str(month or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise _invalid(field_name, f"月份应为 2026-11 的形式，实际为 ‘{month}’", f"a month looks like 2026-11; got '{month}'", month)
    y, mo = int(m.group(1)), int(m.group(2))
    start = dt.datetime(y, mo, 1, tzinfo=CST)
    end = dt.datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=CST)
    return start, end


def month_label(month: str) -> str:
    start, _ = month_range(month)
    return f"{start:%Y-%m}"


# -- statements --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    booking_id: int
    day: dt.date
    instrument_id: int
    instrument: str
    provider: str  # the instrument's owner organisation
    user: str
    hours: float
    rate: float
    fee: float
    voucher: float
    cost_centre: str = ""
    project_code: str = ""
    note: str = ""

    @property
    def payable(self) -> float:
        return round(self.fee - self.voucher, 2)

    def as_dict(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id, "date": self.day.isoformat(), "instrument_id": self.instrument_id, "instrument_title": self.instrument,
                "provider": self.provider, "user": self.user, "hours": round(self.hours, 2), "rate": round(self.rate, 2), "fee": round(self.fee, 2),
                "voucher": round(self.voucher, 2), "payable": self.payable, "cost_centre": self.cost_centre, "project_code": self.project_code,
                "note": self.note}


@dataclass(frozen=True)
class Subtotal:
    key: str
    hours: float
    fee: float
    voucher: float
    payable: float
    lines: int

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "hours": round(self.hours, 2), "fee": round(self.fee, 2), "voucher": round(self.voucher, 2),
                "payable": round(self.payable, 2), "lines": self.lines}


def _subtotal(key: str, lines: Sequence[StatementLine]) -> Subtotal:
    return Subtotal(key, sum(x.hours for x in lines), round(sum(x.fee for x in lines), 2), round(sum(x.voucher for x in lines), 2),
                    round(sum(x.payable for x in lines), 2), len(lines))


@dataclass
class Statement:
    org_id: int
    org_name: str
    month: str
    cost_centre: str = ""
    project_code: str = ""
    lines: list[StatementLine] = field(default_factory=list)
    unconfirmed: int = 0  # used bookings still waiting for the manager's confirmation (not billed yet)

    @property
    def total(self) -> Subtotal:
        return _subtotal("", self.lines)

    def by(self, attr: str) -> list[Subtotal]:
        """Subtotals per cost centre or project code ('' = none given)."""
        groups: dict[str, list[StatementLine]] = {}
        for x in self.lines:
            groups.setdefault(getattr(x, attr), []).append(x)
        return [_subtotal(k, v) for k, v in sorted(groups.items())]

    def as_dict(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "org": self.org_name, "month": self.month, "cost_centre": self.cost_centre or None,
                "project_code": self.project_code or None, "lines": [x.as_dict() for x in self.lines], "total": self.total.as_dict(),
                "by_cost_centre": [x.as_dict() for x in self.by("cost_centre")], "by_project_code": [x.as_dict() for x in self.by("project_code")],
                "unconfirmed": self.unconfirmed}


def statement_line(b: Booking, instrument: str, provider: str, user: str, billed: float | None, rate: float | None) -> StatementLine:
    hours = billed if billed is not None else round(b.hours, 4)
    unit_rate = rate if rate is not None else (round(b.fee / hours, 2) if hours else 0.0)
    return StatementLine(int(b.id or 0), as_cst(b.slot.start).date(), b.instrument_id, instrument, provider, user, hours, unit_rate,
                         round(b.fee, 2), round(b.voucher_amount, 2), b.cost_centre, b.project_code, b.billing_note)


# -- voucher claims and income --------------------------------------------------------------------------

@dataclass(frozen=True)
class VoucherClaim:
    booking_id: int
    day: dt.date
    voucher_code: str
    province: str
    enterprise: str
    provider_id: int
    provider: str
    instrument: str
    fee: float
    amount: float
    settled_at: dt.datetime | None = None
    reference: str = ""

    @property
    def settled(self) -> bool:
        return self.settled_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id, "date": self.day.isoformat(), "voucher": self.voucher_code, "province": self.province,
                "enterprise": self.enterprise, "provider_id": self.provider_id, "provider": self.provider, "instrument_title": self.instrument,
                "fee": round(self.fee, 2), "amount": round(self.amount, 2), "settled": self.settled,
                "settled_at": self.settled_at.isoformat() if self.settled_at else None, "reference": self.reference}


def check_reference(raw: object) -> str:
    text = " ".join(str(raw or "").split())
    if len(text) > 64:
        raise _invalid("reference", "结算凭证号最多 64 字", "the settlement reference is at most 64 characters", raw)
    return text


@dataclass(frozen=True)
class IncomeRow:
    instrument_id: int
    instrument: str
    month: str
    hours: float
    fee: float
    voucher: float
    bookings: int

    @property
    def cash(self) -> float:
        return round(self.fee - self.voucher, 2)

    def as_dict(self) -> dict[str, Any]:
        return {"instrument_id": self.instrument_id, "instrument_title": self.instrument, "month": self.month, "hours": round(self.hours, 2),
                "fee": round(self.fee, 2), "voucher": round(self.voucher, 2), "cash": self.cash, "bookings": self.bookings}


def income(rows: Iterable[tuple[int, str, dt.datetime, float, float, float]]) -> list[IncomeRow]:
    """(instrument id, title, start, hours, fee, voucher) of billed bookings → one row per instrument and month."""
    acc: dict[tuple[int, str], list[Any]] = {}
    for iid, title, start, hours, fee, voucher in rows:
        k = (iid, f"{as_cst(start):%Y-%m}")
        a = acc.setdefault(k, [title, 0.0, 0.0, 0.0, 0])
        a[1] += hours
        a[2] += fee
        a[3] += voucher
        a[4] += 1
    return [IncomeRow(iid, a[0], m, a[1], round(a[2], 2), round(a[3], 2), a[4]) for (iid, m), a in sorted(acc.items(), key=lambda kv: (kv[0][1], kv[1][0]))]


def check_wait(slot: Slot, now: dt.datetime, taken: bool) -> None:
    """One joins a waitlist for a future slot that is taken (a free one is booked directly)."""
    if as_cst(slot.end) <= as_cst(slot.start):
        raise _invalid("end", "结束时间应晚于开始时间", "the end must be after the start", slot.end.isoformat())
    if as_cst(slot.start) <= as_cst(now):
        raise _invalid("start", "不能排队已经开始或过去的时段", "the slot has already started or passed", slot.start.isoformat())
    if not taken:
        raise Conflict(Message(f"{slot.label()} 目前空闲，请直接预约", f"{slot.label()} is free; book it directly"))
