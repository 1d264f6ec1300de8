"""Curated recommendations (pure rules): an operator picks listings, writes a short note and sends
them to chosen organisations or to everyone in an industry / region; each recipient organisation
answers per listing 感兴趣 (interested) or 不相关 (not relevant), and the operator sees the answers.

Also the idempotency keys of notices (reminders, answers, recommendations): a notice with a key
already posted is never posted again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FieldError, Message, ValidationError

RESPONSES: dict[str, tuple[str, str]] = {
    "interested": ("感兴趣", "interested"),
    "not_relevant": ("不相关", "not relevant"),
}
NOTE_MAX = 1000
MAX_LISTINGS = 20
MAX_ORGS = 500


def _fe(key: str, zh: str, en: str) -> FieldError:
    return FieldError(key, Message(zh, en))


@dataclass(frozen=True)
class Draft:
    """A recommendation as the operator wrote it (validated)."""

    listing_ids: tuple[int, ...]
    note: str
    org_ids: tuple[int, ...] = ()
    industry: str = ""  # GB/T 4754 section or division code prefix
    region: str = ""  # GB/T 2260 code prefix

    def audience(self) -> dict[str, Any]:
        return {"org_ids": list(self.org_ids), "industry": self.industry, "region": self.region}


def _ids(raw: Any, key: str, zh: str, en: str) -> tuple[list[int], list[FieldError]]:
    if raw is None or raw == "":
        return [], []
    if isinstance(raw, str):
        raw = [p for p in raw.replace("，", ",").replace(" ", ",").split(",") if p.strip()]
    if isinstance(raw, int):
        raw = [raw]
    if not isinstance(raw, Sequence):
        return [], [_fe(key, f"{zh}应为编号列表，如 [12, 15]", f"{en} must be a list of ids, e.g. [12, 15]")]
    out: list[int] = []
    for v in raw:
        s = str(v).strip()
        if not s.isdigit() or int(s) <= 0:
            return [], [_fe(key, f"{zh}“{v}”不是有效编号，请填写正整数", f"{en} '{v}' is not a valid id; use positive whole numbers")]
        if int(s) not in out:
            out.append(int(s))
    return out, []


def parse_draft(raw: Mapping[str, Any]) -> Draft:
    """The operator's input → a Draft; every problem named by field, in Chinese and English."""
    errs: list[FieldError] = []
    listing_ids, e = _ids(raw.get("listing_ids"), "listing_ids", "推荐的资源", "listing_ids")
    errs += e
    if not e and not listing_ids:
        errs.append(_fe("listing_ids", "请至少选择一条要推荐的资源", "pick at least one listing to recommend"))
    if len(listing_ids) > MAX_LISTINGS:
        errs.append(_fe("listing_ids", f"一次最多推荐 {MAX_LISTINGS} 条资源", f"at most {MAX_LISTINGS} listings per recommendation"))
    note = str(raw.get("note") or "").strip()
    if not note:
        errs.append(_fe("note", "请写一句推荐理由", "write a short note saying why"))
    elif len(note) > NOTE_MAX:
        errs.append(_fe("note", f"推荐理由最多 {NOTE_MAX} 字（现有 {len(note)} 字）", f"the note is at most {NOTE_MAX} characters (it has {len(note)})"))
    org_ids, e = _ids(raw.get("org_ids"), "org_ids", "接收机构", "org_ids")
    errs += e
    if len(org_ids) > MAX_ORGS:
        errs.append(_fe("org_ids", f"最多选择 {MAX_ORGS} 家机构；更多请按行业或地区发送", f"at most {MAX_ORGS} organisations; send by industry or region instead"))
    industry = str(raw.get("industry") or "").strip().upper()
    if industry and not (industry[:1].isalpha() and industry[1:].isdigit() and len(industry) <= 5):
        errs.append(_fe("industry", "行业应为 GB/T 4754 门类或大类代码，如 C 或 C37", "an industry is a GB/T 4754 section or division code, e.g. C or C37"))
    region = str(raw.get("region") or "").strip()
    if region and not (region.isdigit() and len(region) in (2, 4, 6)):
        errs.append(_fe("region", "地区应为 GB/T 2260 代码前缀（2、4 或 6 位），如 12 或 1201", "a region is a GB/T 2260 code prefix of 2, 4 or 6 digits, e.g. 12 or 1201"))
    if not errs and not (org_ids or industry or region):
        errs.append(_fe("org_ids", "请选择接收机构，或填写行业或地区（发给该行业/地区的所有机构）",
                        "choose organisations, or an industry or a region (everyone there receives it)"))
    if errs:
        raise ValidationError.of(errs)
    return Draft(tuple(listing_ids), note, tuple(org_ids), industry, region)


def in_audience(d: Draft, org_id: int, industry: str | None, region: str) -> bool:
    """A chosen organisation, or one in the industry and region given (both when both are given)."""
    if org_id in d.org_ids:
        return True
    if not (d.industry or d.region):
        return False
    return (not d.industry or (industry or "").startswith(d.industry)) and (not d.region or region.startswith(d.region))


def parse_response(raw: object) -> str:
    v = str(raw or "").strip().lower()
    if v not in RESPONSES:
        opts = "、".join(f"{k}（{z}）" for k, (z, _) in RESPONSES.items())
        raise ValidationError.of([_fe("response", f"回应“{raw}”无效，请填写 {opts}", f"response '{raw}' is not valid; use one of {', '.join(RESPONSES)}")])
    return v


def tally(responses: Sequence[str]) -> dict[str, int]:
    """How many answered each way (every response key present)."""
    out = dict.fromkeys(RESPONSES, 0)
    for r in responses:
        if r in out:
            out[r] += 1
    return out
