"""Certification marks (认证标志 / 地理标志证明商标) and their licences: is organisation X licensed for mark M on day D?

A licence is issued for a period, may be renewed (a new end date), suspended (and reinstated) or
revoked (final), each with a reason; its status on a day is one of `STATUSES`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .access import ORG_ROLES, Viewer
from .errors import FieldError, Message

# status on a day: (zh, en)
STATUSES: dict[str, tuple[str, str]] = {
    "active": ("有效", "valid"),
    "suspended": ("已暂停", "suspended"),
    "revoked": ("已撤销", "revoked"),
    "expired": ("已过期", "expired"),
    "not_yet_valid": ("尚未生效", "not yet valid"),
    "not_found": ("未找到", "not found"),
}
STORED_STATUSES = ("active", "suspended", "revoked")
ACTIONS: dict[str, tuple[str, str]] = {
    "issue": ("签发", "issued"), "renew": ("续期", "renewed"), "suspend": ("暂停", "suspended"), "reinstate": ("恢复", "reinstated"),
    "revoke": ("撤销", "revoked"), "import": ("导入", "imported"), "remind": ("到期提醒", "expiry reminder"),
}
LICENCE_NO = re.compile(r"^[A-Z0-9][A-Z0-9\-_/.]{2,63}$")
MAX_PRODUCTS = 500
MAX_YEARS = 10  # a licence runs at most this long at once (GI mark licences run 1–5 years)


@dataclass(frozen=True)
class Mark:
    code: str
    name: str
    holder: str  # the registrant (e.g. an association)
    mark_type: str  # "gi_certification" (地理标志证明商标), "collective", "certification"
    registration_no: str = ""
    region: str = ""
    description: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Licence:
    mark_code: str
    org_id: int
    org_name: str
    licence_no: str
    valid_from: dt.date
    valid_until: dt.date
    products: str = ""
    revoked: bool = False
    suspended: bool = False
    reason: str = ""  # why it was suspended or revoked

    def valid_on(self, day: dt.date) -> bool:
        return not self.revoked and not self.suspended and self.valid_from <= day <= self.valid_until

    def status_on(self, day: dt.date) -> str:
        """One of STATUSES (never "not_found")."""
        if self.revoked:
            return "revoked"
        if self.suspended:
            return "suspended"
        if day < self.valid_from:
            return "not_yet_valid"
        if day > self.valid_until:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Verdict:
    licensed: bool
    mark: Mark
    org_id: int | None
    day: dt.date
    licence: Licence | None
    reason: Message

    def as_dict(self) -> dict[str, object]:
        lic = self.licence
        return {
            "licensed": self.licensed, "mark": self.mark.code, "mark_name": self.mark.name, "org_id": self.org_id,
            "date": self.day.isoformat(), "reason_zh": self.reason.zh, "reason_en": self.reason.en,
            "licence": None if lic is None else {"licence_no": lic.licence_no, "org_name": lic.org_name, "valid_from": lic.valid_from.isoformat(),
                                                 "valid_until": lic.valid_until.isoformat(), "products": lic.products, "revoked": lic.revoked},
        }


def verify(mark: Mark, licences: Sequence[Licence], org_id: int | None, day: dt.date) -> Verdict:
    """The answer with its reason; `licences` are the organisation's licences for this mark."""
    mine = sorted((x for x in licences if x.org_id == org_id and x.mark_code == mark.code), key=lambda x: x.valid_until, reverse=True)
    valid = [x for x in mine if x.valid_on(day)]
    if valid:
        x = valid[0]
        return Verdict(True, mark, org_id, day, x, Message(
            f"{x.org_name} 持有“{mark.name}”使用许可 {x.licence_no}，有效期 {x.valid_from}–{x.valid_until}",
            f"{x.org_name} holds licence {x.licence_no} for '{mark.name}', valid {x.valid_from} to {x.valid_until}"))
    if not mine:
        return Verdict(False, mark, org_id, day, None, Message(
            f"该机构未获得“{mark.name}”使用许可", f"this organisation is not licensed to use '{mark.name}'"))
    x = mine[0]
    if x.revoked:
        why = Message(f"许可 {x.licence_no} 已被撤销", f"licence {x.licence_no} has been revoked")
    elif x.suspended:
        why = Message(f"许可 {x.licence_no} 已被暂停", f"licence {x.licence_no} is suspended")
    elif day < x.valid_from:
        why = Message(f"许可 {x.licence_no} 自 {x.valid_from} 起生效，{day} 尚未生效", f"licence {x.licence_no} starts on {x.valid_from}; not yet valid on {day}")
    else:
        why = Message(f"许可 {x.licence_no} 已于 {x.valid_until} 到期", f"licence {x.licence_no} expired on {x.valid_until}")
    return Verdict(False, mark, org_id, day, x, why)


def claim_problems(code: str, mark: Mark | None, licences: Sequence[Licence], org_id: int, licence_no: str | None,
                   start: dt.date, end: dt.date) -> list[tuple[str, Message]]:
    """Why a listing of organisation `org_id` may not claim mark `code` for [start, end]: the
    mark must be registered, and one unrevoked licence of the organisation (the one named by
    `licence_no`, when given) must cover every day of the period. Empty: the claim holds."""
    if mark is None:
        return [("mark_code", Message(f"‘认证标志编码’{code} 不在认证标志目录中，请从目录中选择（/certifications）或清空此项",
                                      f"mark_code {code} is not in the mark registry; pick one from /certifications or leave it empty"))]
    mine = [x for x in licences if x.org_id == org_id and x.mark_code == mark.code and not x.revoked and not x.suspended]
    if licence_no:
        named = [x for x in licences if x.org_id == org_id and x.mark_code == mark.code and x.licence_no.upper() == licence_no.strip().upper()]
        if not named:
            return [("licence_no", Message(f"‘许可编号’{licence_no} 不是本机构“{mark.name}”的使用许可，请填写有效许可编号，或先向 {mark.holder} 申请许可",
                                           f"licence_no {licence_no} is not your organisation's licence for '{mark.name}'; "
                                           f"give a valid licence number or apply to {mark.holder} first"))]
        mine = [x for x in named if not x.revoked and not x.suspended]
        if not mine:
            if any(x.suspended and not x.revoked for x in named):
                return [("licence_no", Message(f"‘许可编号’{licence_no} 已被暂停，暂停期间不能使用“{mark.name}”",
                                               f"licence_no {licence_no} is suspended; '{mark.name}' may not be used while it is"))]
            return [("licence_no", Message(f"‘许可编号’{licence_no} 已被撤销，不能再使用“{mark.name}”", f"licence_no {licence_no} has been revoked; '{mark.name}' may not be used"))]
    if not mine:
        return [("mark_code", Message(f"本机构未获得“{mark.name}”（{mark.code}）使用许可，不能声明该标志；请先向 {mark.holder} 申请许可，或清空‘认证标志编码’",
                                      f"your organisation holds no licence for '{mark.name}' ({mark.code}); apply to {mark.holder} first or leave mark_code empty"))]
    if any(x.valid_from <= start and end <= x.valid_until for x in mine):
        return []
    x = max(mine, key=lambda x: x.valid_until)
    return [("valid_until" if x.valid_from <= start else "valid_from",
             Message(f"许可 {x.licence_no} 有效期为 {x.valid_from}–{x.valid_until}，未覆盖资源有效期 {start}–{end}；请把‘有效期’限定在许可期内或先续期许可",
                     f"licence {x.licence_no} runs {x.valid_from} to {x.valid_until} and does not cover the listing's {start} to {end}; "
                     "keep the listing's dates within the licence or renew it first"))]


def can_manage_mark(viewer: Viewer, holder_org_id: int | None) -> bool:
    """Platform staff, or the people of the mark owner's organisation (the registrant issues its licences)."""
    return viewer.is_staff or (holder_org_id is not None and viewer.org_id == holder_org_id and viewer.role in ORG_ROLES)


def normalise_licence_no(raw: object) -> str:
    return str(raw or "").strip().upper()


def licence_problems(licence_no: str, valid_from: dt.date | None, valid_until: dt.date | None, products: str,
                     row: int | None = None) -> list[FieldError]:
    """What is wrong with a licence's own fields (number, period, product scope); empty when nothing."""
    out: list[FieldError] = []
    if not LICENCE_NO.match(licence_no):
        out.append(FieldError("licence_no", Message(
            f"‘许可编号’应为 3–64 位字母、数字或 - _ / .，如 XZD-2026-001，实际为 ‘{licence_no}’",
            f"licence_no must be 3-64 letters, digits or - _ / ., e.g. XZD-2026-001; got '{licence_no}'"), licence_no, row))
    if valid_from is None:
        out.append(FieldError("valid_from", Message("请填写‘起始日期’，如 2026-01-01", "give valid_from, e.g. 2026-01-01"), None, row))
    if valid_until is None:
        out.append(FieldError("valid_until", Message("请填写‘截止日期’，如 2028-12-31", "give valid_until, e.g. 2028-12-31"), None, row))
    if valid_from is not None and valid_until is not None:
        if valid_until < valid_from:
            out.append(FieldError("valid_until", Message(f"‘截止日期’{valid_until} 早于‘起始日期’{valid_from}，请更正",
                                                         f"valid_until {valid_until} is before valid_from {valid_from}; correct it"), valid_until.isoformat(), row))
        elif (valid_until - valid_from).days > MAX_YEARS * 366:
            out.append(FieldError("valid_until", Message(f"许可期限不能超过 {MAX_YEARS} 年，请缩短或到期后续期",
                                                         f"a licence runs at most {MAX_YEARS} years; shorten it and renew later"), valid_until.isoformat(), row))
    if not products.strip():
        out.append(FieldError("products", Message("请填写‘许可产品范围’，如 小站稻大米", "give the product scope (products), e.g. 小站稻大米"), products, row))
    elif len(products) > MAX_PRODUCTS:
        out.append(FieldError("products", Message(f"‘许可产品范围’不超过 {MAX_PRODUCTS} 字", f"products is at most {MAX_PRODUCTS} characters"),
                              products[:40] + "…", row))
    return out


def expiring(licences: Sequence[Licence], today: dt.date, days: int) -> list[Licence]:
    """Licences valid today that end within `days` days (expiry reminders)."""
    return [x for x in licences if x.valid_on(today) and (x.valid_until - today).days <= days]
