"""Curated recommendations (pure rules).

Platform staff (operators, and innovation-centre staff, who hold the operator role) pick listings
(usually technologies), write a short note and send them to chosen organisations, or to every
verified organisation in an industry (GB/T 4754 code prefix) and/or region (GB/T 2260 code
prefix). Each recipient organisation answers per listing 感兴趣 (interested) or 不相关 (not
relevant); the sender sees the answers, counted and by whom. A recipient sees only its own answers.

Rules that never bend (`plan`):
- never a recipient who may not read the listing in full (`core.access`, as the recipient
  organisation: a members-only listing never reaches an organisation awaiting verification, a
  confidential one only an organisation it was granted to);
- never an organisation its own listing;
- never twice: one organisation appears once in a recommendation however it was chosen, and a
  listing already recommended to an organisation (in any earlier recommendation) is not sent
  to it again (the storage enforces it: unique on organisation and listing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import access as acc
from . import industries, regions
from .errors import FieldError, Message, ValidationError
from .listing import Listing

RESPONSES: dict[str, tuple[str, str]] = {
    "interested": ("感兴趣", "interested"),
    "not_relevant": ("不相关", "not relevant"),
}
_ALIASES = {"感兴趣": "interested", "不相关": "not_relevant", "not relevant": "not_relevant", "not-relevant": "not_relevant"}
UNANSWERED = "unanswered"
NOTE_MAX = 1000
MAX_LISTINGS = 20
MAX_ORGS = 500

# why an (organisation, listing) pair was left out of a recommendation
LEFT_OUT: dict[str, tuple[str, str]] = {
    "owner": ("本机构自己的资源", "its own listing"),
    "not_visible": ("无权查看全文", "may not read it in full"),
    "already_sent": ("以前已推荐过", "recommended to it before"),
}


def _fe(key: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(key, Message(zh, en), value)


@dataclass(frozen=True)
class Draft:
    """A recommendation as the sender wrote it (validated)."""

    listing_ids: tuple[int, ...]
    note: str
    org_ids: tuple[int, ...] = ()
    industry: str = ""  # GB/T 4754 section or division code ("C", "C37")
    region: str = ""  # GB/T 2260 code prefix of 2, 4 or 6 digits ("12", "1201", "120114")

    @property
    def broadcast(self) -> bool:
        """Everyone (verified) in an industry and/or region, besides the chosen organisations."""
        return bool(self.industry or self.region)

    def audience(self) -> dict[str, Any]:
        return {"org_ids": list(self.org_ids), "industry": self.industry, "region": self.region}


def can_send(viewer: acc.Viewer) -> bool:
    """Only platform staff send recommendations (innovation-centre staff are given the operator role)."""
    return viewer.is_staff


def require_sender(viewer: acc.Viewer) -> None:
    acc.require_signed_in(viewer)
    if not can_send(viewer):
        raise acc.forbidden("只有平台运营人员（含创新中心工作人员）可以发送推荐",
                            "only platform operators (innovation-centre staff included) may send recommendations")


def _ids(raw: Any, key: str, zh: str, en: str) -> tuple[list[int], list[FieldError]]:
    if raw is None or raw == "" or raw == []:
        return [], []
    if isinstance(raw, str):
        raw = [p for p in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p.strip()]
    elif isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, Sequence) or isinstance(raw, bytes):
        return [], [_fe(key, f"{zh}应为编号列表，如 [12, 15]", f"{en} must be a list of ids, e.g. [12, 15]")]
    out: list[int] = []
    for v in raw:
        s = str(v).strip().lstrip("#")
        if isinstance(v, bool) or not s.isdigit() or not 0 < int(s) < 2**63:
            return [], [_fe(key, f"{zh}“{v}”不是有效编号，请填写正整数", f"{en} '{v}' is not a valid id; use positive whole numbers", v)]
        if int(s) not in out:
            out.append(int(s))
    return out, []


def industry_prefix(raw: Any) -> str:
    """A GB/T 4754 section or division code from a code or an exact name ("制造业" → "C"); "" for none."""
    text = str(raw or "").strip()
    if not text:
        return ""
    code = industries.normalise(text)
    if industries.get(code) is None:
        raise ValidationError.of([_fe("industry", f"行业“{text}”无效：请填写 GB/T 4754 门类或大类代码，如 C 或 C37",
                                      f"industry '{text}' is not valid: use a GB/T 4754 section or division code, e.g. C or C37", text)])
    return code


def region_prefix(raw: Any) -> str:
    """A GB/T 2260 code prefix (2, 4 or 6 digits) from a prefix, a code or an exact name
    ("天津市" → "12", "120100" → "1201"); "" for none."""
    text = str(raw or "").strip()
    if not text:
        return ""
    if text.isdigit() and len(text) in (2, 4):
        if any(code.startswith(text) for code in regions.REGIONS):
            return text
    else:
        code = regions.normalise(text)
        if regions.get(code) is not None:
            return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    raise ValidationError.of([_fe("region", f"地区“{text}”无效：请填写 GB/T 2260 代码前缀（2、4 或 6 位，如 12 天津、1201）或地区全称",
                                  f"region '{text}' is not valid: use a GB/T 2260 code prefix of 2, 4 or 6 digits (e.g. 12 Tianjin) "
                                  "or the region's full name", text)])


def parse_draft(raw: Mapping[str, Any]) -> Draft:
    """The sender's input → a Draft; every problem named by field, in Chinese and English."""
    errs: list[FieldError] = []
    listing_ids, e = _ids(raw.get("listing_ids"), "listing_ids", "推荐的资源", "listing_ids")
    errs += e
    if not e and not listing_ids:
        errs.append(_fe("listing_ids", "请至少选择一条要推荐的资源", "pick at least one listing to recommend"))
    if len(listing_ids) > MAX_LISTINGS:
        errs.append(_fe("listing_ids", f"一次最多推荐 {MAX_LISTINGS} 条资源（现有 {len(listing_ids)} 条）",
                        f"at most {MAX_LISTINGS} listings per recommendation (got {len(listing_ids)})"))
    note = str(raw.get("note") or "").strip()
    if not note:
        errs.append(_fe("note", "请写一段推荐理由", "write a short note saying why"))
    elif len(note) > NOTE_MAX:
        errs.append(_fe("note", f"推荐理由最多 {NOTE_MAX} 字（现有 {len(note)} 字）", f"the note is at most {NOTE_MAX} characters (it has {len(note)})"))
    org_ids, e = _ids(raw.get("org_ids"), "org_ids", "接收机构", "org_ids")
    errs += e
    if len(org_ids) > MAX_ORGS:
        errs.append(_fe("org_ids", f"最多选择 {MAX_ORGS} 家机构；更多请按行业或地区发送",
                        f"at most {MAX_ORGS} organisations; send by industry or region instead"))
    industry = region = ""
    try:
        industry = industry_prefix(raw.get("industry"))
    except ValidationError as ve:
        errs += ve.errors
    try:
        region = region_prefix(raw.get("region"))
    except ValidationError as ve:
        errs += ve.errors
    if not errs and not (org_ids or industry or region):
        errs.append(_fe("org_ids", "请选择接收机构，或填写行业或地区（发给该行业/地区的所有已审核机构）",
                        "choose organisations, or an industry or a region (every verified organisation there receives it)"))
    if errs:
        raise ValidationError.of(errs)
    return Draft(tuple(listing_ids), note, tuple(org_ids), industry, region)


def parse_response(raw: object) -> str:
    v = str(raw or "").strip()
    v = _ALIASES.get(v, _ALIASES.get(v.lower(), v.lower()))
    if v not in RESPONSES:
        opts = "、".join(f"{k}（{z}）" for k, (z, _) in RESPONSES.items())
        raise ValidationError.of([_fe("response", f"回应“{raw}”无效，请填写 {opts}",
                                      f"response '{raw}' is not valid; use one of {', '.join(RESPONSES)}", raw)])
    return v


# -- who receives what ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    """An organisation that may receive a recommendation, with what decides what it may see."""

    org_id: int
    name: str
    industry: str
    region: str
    verified: bool
    granted: frozenset[int] = frozenset()  # confidential listings granted to it

    def viewer(self) -> acc.Viewer:
        """The organisation as a viewer: what any of its people may see."""
        return acc.Viewer(org_id=self.org_id, org_verified=self.verified, role="member", granted=self.granted)


def in_audience(d: Draft, r: Recipient) -> bool:
    """A chosen organisation, or a verified one in the industry and region given (both when both are given)."""
    if r.org_id in d.org_ids:
        return True
    if not d.broadcast or not r.verified:
        return False
    return (not d.industry or (r.industry or "").startswith(d.industry)) and (not d.region or r.region.startswith(d.region))


@dataclass
class Plan:
    """Who receives which listings, and the pairs left out with the reason (a key of LEFT_OUT)."""

    deliveries: dict[int, tuple[int, ...]] = field(default_factory=dict)  # org id → listing ids, in the draft's order
    left_out: list[tuple[int, int, str]] = field(default_factory=list)  # (org id, listing id, reason)

    def left_out_counts(self) -> dict[str, int]:
        out = dict.fromkeys(LEFT_OUT, 0)
        for _, _, why in self.left_out:
            out[why] += 1
        return out

    def orgs_without_anything(self) -> list[int]:
        return sorted({o for o, _, _ in self.left_out} - set(self.deliveries))


def why_not(r: Recipient, x: Listing, already: Iterable[tuple[int, int]] = ()) -> str | None:
    """Why this listing may not go to this organisation (a LEFT_OUT key), or None when it may."""
    if x.owner_id is not None and x.owner_id == r.org_id:
        return "owner"
    if x.status != "published" or acc.access(r.viewer(), x) != acc.Access.FULL:
        return "not_visible"
    if (r.org_id, int(x.id or 0)) in set(already):
        return "already_sent"
    return None


def plan(d: Draft, candidates: Sequence[Recipient], listings: Mapping[int, Listing], already: Iterable[tuple[int, int]] = ()) -> Plan:
    """For each organisation in the audience (once), the draft's listings it may receive: those it
    may read in full, not its own, not recommended to it before."""
    sent = set(already)
    out = Plan()
    seen: set[int] = set()
    for r in candidates:
        if r.org_id in seen or not in_audience(d, r):
            continue
        seen.add(r.org_id)
        mine: list[int] = []
        for lid in d.listing_ids:
            x = listings.get(lid)
            why = "not_visible" if x is None else why_not(r, x, sent)
            if why is None:
                mine.append(lid)
            else:
                out.left_out.append((r.org_id, lid, why))
        if mine:
            out.deliveries[r.org_id] = tuple(mine)
    return out


def tally(responses: Iterable[str | None]) -> dict[str, int]:
    """How many answered each way, and how many have not answered (every key present)."""
    out = dict.fromkeys((*RESPONSES, UNANSWERED), 0)
    for r in responses:
        out[r if r in RESPONSES else UNANSWERED] += 1
    return out


# -- what the recipient is told -------------------------------------------------------------------

def notice(note: str, titles: Sequence[str], rec_id: int) -> tuple[str, str, str, str, str]:
    """(in-app zh, in-app en, mail zh, mail en, link) of one recommendation to one organisation."""
    n = len(titles)
    first = titles[0] if titles else ""
    more_zh = f"等 {n} 项" if n > 1 else ""
    more_en = f" and {n - 1} more" if n > 1 else ""
    short_zh = f"平台推荐：“{first}”{more_zh}，请标记感兴趣或不相关"
    short_en = f"recommended by the platform: '{first}'{more_en}; mark each interested or not relevant"
    link = f"/my/recommendations#rec{rec_id}"
    items = "\n\n".join(f"· {t}" for t in titles)
    mail_zh = f"平台向贵单位推荐：“{first}”{more_zh}\n\n{items}\n\n推荐理由：{note}\n\n请打开链接，逐项标记“感兴趣”或“不相关”。"
    mail_en = (f"Recommended to your organisation: '{first}'{more_en}\n\n{items}\n\nWhy: {note}\n\n"
               "Open the link and mark each one interested or not relevant.")
    return short_zh[:300], short_en[:300], mail_zh, mail_en, link
