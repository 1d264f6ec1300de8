"""Certification marks (认证标志 / 地理标志证明商标) and their licences: is organisation X licensed for mark M on day D?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import Message


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

    def valid_on(self, day: dt.date) -> bool:
        return not self.revoked and self.valid_from <= day <= self.valid_until


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
    elif day < x.valid_from:
        why = Message(f"许可 {x.licence_no} 自 {x.valid_from} 起生效，{day} 尚未生效", f"licence {x.licence_no} starts on {x.valid_from}; not yet valid on {day}")
    else:
        why = Message(f"许可 {x.licence_no} 已于 {x.valid_until} 到期", f"licence {x.licence_no} expired on {x.valid_until}")
    return Verdict(False, mark, org_id, day, x, why)
