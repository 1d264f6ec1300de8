"""Deals: from an accepted contact request to a signed contract (or a termination).

Pure rules only: the stages and which changes are allowed, the financial services that can
be attached to a deal, the agreement register and the reminders (idle deals, agreements
about to expire). Storage and faces call these; nothing here touches SQL or the web.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from .clock import day_of
from .errors import Conflict, ErrorCollector, Message
from .fields import Choice, clean_text

# -- stages ---------------------------------------------------------------------------------
STAGES: tuple[Choice, ...] = (
    Choice("contact", "初步接洽", "first contact"),
    Choice("confirm", "需求确认", "needs confirmed"),
    Choice("proposal", "方案/报价", "proposal / quote"),
    Choice("negotiation", "合同谈判", "contract negotiation"),
    Choice("signed", "签约", "signed"),
    Choice("terminated", "终止", "terminated"),
)
STAGE_VALUES = tuple(c.value for c in STAGES)
OPEN_STAGES = ("contact", "confirm", "proposal", "negotiation")
FINAL_STAGES = ("signed", "terminated")
DEFAULT_IDLE_DAYS = 14

ORIGINS: tuple[Choice, ...] = (
    Choice("contact", "对接请求", "contact request"),
    Choice("manual", "人工登记", "entered by hand"),
)


def stage_label(value: str, lang: str = "zh") -> str:
    for c in STAGES:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def find_stage(raw: object) -> str | None:
    r = clean_text(raw)
    for c in STAGES:
        if r in (c.value, c.zh) or r.lower() == c.en.lower():
            return c.value
    return None


def allowed_next(stage: str) -> tuple[str, ...]:
    """Stages a deal may move to from `stage`.

    Forward one step at a time; back one step (talks reopened); terminate from any open
    stage; sign only from contract negotiation. Signed and terminated deals are closed.
    """
    if stage not in OPEN_STAGES:
        return ()
    i = OPEN_STAGES.index(stage)
    out: list[str] = []
    if i + 1 < len(OPEN_STAGES):
        out.append(OPEN_STAGES[i + 1])
    if i > 0:
        out.append(OPEN_STAGES[i - 1])
    if stage == "negotiation":
        out.append("signed")
    out.append("terminated")
    return tuple(out)


def check_transition(current: str, target: str) -> None:
    """Raise Conflict (with the allowed stages named) unless current → target is allowed."""
    if find_stage(target) is None:
        zh = "、".join(c.zh for c in STAGES)
        en = ", ".join(c.value for c in STAGES)
        raise Conflict(Message(f"阶段 ‘{target}’ 无效，可选：{zh}", f"stage '{target}' is invalid; choose one of: {en}"))
    if current in FINAL_STAGES:
        raise Conflict(Message(
            f"洽谈已{stage_label(current)}，不能再变更阶段",
            f"the deal is already {stage_label(current, 'en')}; its stage can no longer change"))
    nxt = allowed_next(current)
    if target not in nxt:
        zh = "、".join(stage_label(s) for s in nxt)
        en = ", ".join(stage_label(s, "en") for s in nxt)
        raise Conflict(Message(
            f"不能从‘{stage_label(current)}’直接变更为‘{stage_label(target)}’，可变更为：{zh}",
            f"cannot move from '{stage_label(current, 'en')}' to '{stage_label(target, 'en')}'; allowed: {en}"))


@dataclass(frozen=True)
class DealState:
    """What the reminder rules need to know about a deal."""

    id: int
    title: str
    stage: str
    last_activity: dt.datetime


@dataclass(frozen=True)
class Reminder:
    kind: str  # "idle_deal" | "agreement_expiry"
    ref_id: int
    days: int  # idle for / days until expiry
    message: Message


def _as_date(t: dt.datetime | dt.date) -> dt.date:
    """The Beijing calendar day of the last activity (timestamps are stored in UTC; `today` is
    Beijing's: day counts never mix zones)."""
    return day_of(t)


def idle_reminders(deals: Iterable[DealState], today: dt.date, idle_days: int = DEFAULT_IDLE_DAYS) -> list[Reminder]:
    """Open deals with no stage change or note for more than `idle_days` days, longest idle first."""
    if idle_days < 1:
        raise ValueError("idle_days must be at least 1")
    out = []
    for d in deals:
        if d.stage not in OPEN_STAGES:
            continue
        idle = (today - _as_date(d.last_activity)).days
        if idle > idle_days:
            out.append(Reminder("idle_deal", d.id, idle, Message(
                f"洽谈“{d.title}”已 {idle} 天没有进展（当前阶段：{stage_label(d.stage)}），请跟进",
                f"deal '{d.title}' has had no activity for {idle} days (stage: {stage_label(d.stage, 'en')}); please follow up")))
    return sorted(out, key=lambda r: (-r.days, r.ref_id))


# -- financial services attached to a deal ---------------------------------------------------
FINANCE_KINDS: tuple[Choice, ...] = (
    Choice("guarantee", "信用担保", "guarantee"),
    Choice("loan", "银行贷款", "loan"),
    Choice("investment", "股权投资", "investment"),
)
FINANCE_STATUSES: tuple[Choice, ...] = (
    Choice("offered", "已提出", "offered"),
    Choice("reviewing", "审核中", "under review"),
    Choice("approved", "已批准", "approved"),
    Choice("disbursed", "已到位", "disbursed"),
    Choice("declined", "未通过", "declined"),
    Choice("withdrawn", "已撤回", "withdrawn"),
)
_FINANCE_NEXT: dict[str, tuple[str, ...]] = {
    "offered": ("reviewing", "withdrawn", "declined"),
    "reviewing": ("approved", "declined", "withdrawn"),
    "approved": ("disbursed", "withdrawn"),
    "disbursed": (),
    "declined": (),
    "withdrawn": (),
}


def _pick(choices: tuple[Choice, ...], raw: object) -> str | None:
    r = clean_text(raw)
    for c in choices:
        if r in (c.value, c.zh) or r.lower() == c.en.lower():
            return c.value
    return None


def choice_label(choices: tuple[Choice, ...], value: str, lang: str = "zh") -> str:
    for c in choices:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def check_finance_kind(raw: object) -> str:
    v = _pick(FINANCE_KINDS, raw)
    if v is None:
        raise Conflict(Message(
            f"金融服务类型 ‘{raw}’ 无效，可选：" + "、".join(c.zh for c in FINANCE_KINDS),
            f"financial service '{raw}' is invalid; choose one of: " + ", ".join(c.value for c in FINANCE_KINDS)))
    return v


def check_finance_transition(current: str, target: str) -> None:
    t = _pick(FINANCE_STATUSES, target)
    nxt = _FINANCE_NEXT.get(current, ())
    if t is None or t not in nxt:
        zh = "、".join(choice_label(FINANCE_STATUSES, s) for s in nxt) or "无（已结束）"
        en = ", ".join(nxt) or "none (closed)"
        raise Conflict(Message(
            f"金融服务状态不能从‘{choice_label(FINANCE_STATUSES, current)}’变更为‘{target}’，可变更为：{zh}",
            f"a financial service cannot move from '{current}' to '{target}'; allowed: {en}"))


# -- agreement register ------------------------------------------------------------------------
AGREEMENT_TYPES: tuple[Choice, ...] = (
    Choice("nda", "保密协议", "NDA"),
    Choice("licence", "许可协议", "licence"),
    Choice("development", "开发合同", "development contract"),
    Choice("cooperation", "合作框架协议", "cooperation agreement"),
)
DEFAULT_EXPIRY_NOTICE_DAYS = 30


@dataclass(frozen=True)
class AgreementInput:
    agreement_type: str
    title: str
    effective_on: dt.date
    expires_on: dt.date | None
    remind_days: int


def validate_agreement(agreement_type: object, title: object, effective_on: dt.date | None, expires_on: dt.date | None,
                       remind_days: int = DEFAULT_EXPIRY_NOTICE_DAYS) -> AgreementInput:
    ec = ErrorCollector()
    at = _pick(AGREEMENT_TYPES, agreement_type)
    if at is None:
        ec.add("agreement_type", "协议类型无效，可选：" + "、".join(c.zh for c in AGREEMENT_TYPES),
               "agreement type is invalid; choose one of: " + ", ".join(c.value for c in AGREEMENT_TYPES), agreement_type)
    t = clean_text(title)
    if not t:
        ec.add("title", "协议名称为必填项", "title is required")
    elif len(t) > 200:
        ec.add("title", "协议名称最多 200 字", "title is at most 200 characters", t)
    if effective_on is None:
        ec.add("effective_on", "生效日期为必填项", "effective date is required")
    if effective_on and expires_on and expires_on < effective_on:
        ec.add("expires_on", f"到期日 {expires_on} 早于生效日 {effective_on}，请更正",
               f"expiry date {expires_on} is before the effective date {effective_on}; correct it", expires_on)
    if not 0 <= remind_days <= 365:
        ec.add("remind_days", "到期提醒天数应在 0–365 之间", "reminder days must be between 0 and 365", remind_days)
    ec.raise_if_any()
    return AgreementInput(at or "", t, cast(dt.date, effective_on), expires_on, remind_days)


@dataclass(frozen=True)
class AgreementState:
    id: int
    title: str
    expires_on: dt.date | None
    remind_days: int


def expiry_reminders(agreements: Iterable[AgreementState], today: dt.date) -> list[Reminder]:
    """Agreements that expire within their own notice period (and have not expired yet), soonest first."""
    out = []
    for a in agreements:
        if a.expires_on is None:
            continue
        left = (a.expires_on - today).days
        if 0 <= left <= a.remind_days:
            out.append(Reminder("agreement_expiry", a.id, left, Message(
                f"协议“{a.title}”将于 {a.expires_on.isoformat()} 到期（还有 {left} 天）",
                f"agreement '{a.title}' expires on {a.expires_on.isoformat()} ({left} days left)")))
    return sorted(out, key=lambda r: (r.days, r.ref_id))
