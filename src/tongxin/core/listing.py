"""Listings: what organisations have (offer) and need (need), of any registered kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import industries, regions
from .errors import ErrorCollector
from .fields import Choice, clean_text, coerce_field, parse_date, split_list
from .kinds.registry import KindSpec, Registry
from .vocab import SIDES, STATUSES, VISIBILITIES, find


@dataclass
class Listing:
    kind: str
    side: str
    title: str
    description: str
    industry: str
    region: str
    owner: str  # owner organisation's external id (or numeric id as text)
    keywords: list[str] = field(default_factory=list)
    visibility: str = "public"
    status: str = "published"
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    summary: str = ""  # non-confidential summary shown for confidential listings
    attrs: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    id: int | None = None
    owner_id: int | None = None
    owner_name: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def is_live(self, today: dt.date) -> bool:
        """Published and inside its validity window: the hard rule for being matched."""
        if self.status != "published":
            return False
        if self.valid_from is not None and self.valid_from > today:
            return False
        return not (self.valid_until is not None and self.valid_until < today)

    def search_text(self, spec: KindSpec) -> dict[str, str]:
        """Text per index field: title, keywords, body (description + searchable attributes)."""
        body = [self.description]
        for a in spec.searchable_attrs():
            v = self.attrs.get(a.key)
            if v:
                body.append(str(v))
        return {"title": self.title, "keywords": " ".join(self.keywords), "body": "\n".join(body)}


COMMON_COLUMNS: list[tuple[str, str, str, bool]] = [
    # key, Chinese header, English help, required
    ("external_id", "外部编号", "external id (stable key for re-import)", False),
    ("kind", "资源类型", "kind", True),
    ("side", "供需方向", "offer / need", False),
    ("title", "标题", "title", True),
    ("description", "详细描述", "description", True),
    ("keywords", "关键词", "keywords separated by ; or 、", False),
    ("industry", "所属行业", "GB/T 4754-2017 division such as C37", True),
    ("region", "所在地区", "GB/T 2260 code such as 120114, or the district name", True),
    ("owner", "发布机构编号", "owner organisation's external id", True),
    ("visibility", "可见范围", "public / members / confidential", False),
    ("status", "状态", "draft / published / closed", False),
    ("valid_from", "有效期起", "valid from (date)", False),
    ("valid_until", "有效期止", "valid until (date)", False),
    ("summary", "公开摘要", "non-confidential summary (for confidential listings)", False),
]


def _text(raw: Mapping[str, Any], key: str) -> str:
    return clean_text(raw.get(key))


def validate_listing(raw: Mapping[str, Any], registry: Registry, row: int | None = None, kind: str | None = None) -> Listing:
    """Validate one listing record (nested `attrs` or flat attribute keys), all problems at once,
    in the order of the record's columns (kind, side, text, codes, owner, choices, dates, keys,
    keywords, then the kind's attributes and its rules)."""
    ec = ErrorCollector(row=row)
    spec = _kind(raw, registry, kind, ec)
    side = _side(raw, spec, ec)
    title = _bounded_text(raw, "title", "标题", 120, ec, echo=True)
    description = _bounded_text(raw, "description", "详细描述", 5000, ec)
    industry = _code(raw, "industry", "行业", industries.normalise, industries.get, ec,
                     standard="GB/T 4754-2017", example_zh="C37", example_en="C37")
    region = _code(raw, "region", "地区", regions.normalise, regions.get, ec,
                   standard="GB/T 2260", example_zh="120114 武清区", example_en="120114 Wuqing")
    owner = _text(raw, "owner")
    if not owner:
        ec.add("owner", "发布机构为必填项", "owner organisation is required")
    visibility = _choice(raw, "visibility", "可见范围", VISIBILITIES, "public", ec,
                         choices_zh="公开 / 会员可见 / 保密", choices_en="public / members / confidential")
    status = _choice(raw, "status", "状态", STATUSES, "published", ec,
                     choices_zh="草稿 / 已发布 / 已关闭", choices_en="draft / published / closed")
    valid_from, valid_until = _validity(raw, ec)
    external_id = _external_id(raw, ec)
    keywords = split_list(raw.get("keywords"))
    if len(keywords) > 20:
        ec.add("keywords", f"关键词最多 20 个，实际 {len(keywords)} 个", f"at most 20 keywords, got {len(keywords)}")
    attrs = _attrs(raw, spec, ec)
    ec.raise_if_any()
    return Listing(
        kind=spec.name,
        side=side or spec.default_side(),
        title=title,
        description=description,
        industry=industry,
        region=region,
        owner=owner,
        keywords=keywords,
        visibility=visibility or "public",
        status=status or "published",
        valid_from=valid_from,
        valid_until=valid_until,
        summary=_text(raw, "summary"),
        attrs=attrs,
        external_id=external_id or None,
    )


def _kind(raw: Mapping[str, Any], registry: Registry, kind: str | None, ec: ErrorCollector) -> KindSpec:
    """The record's kind (or the one the caller fixed); an unknown kind stops validation at once."""
    spec = registry.find(kind or raw.get("kind") or "")
    if spec is None:
        names = "、".join(f"{s.zh}({s.name})" for s in registry)
        ec.add("kind", f"资源类型 ‘{raw.get('kind')}’ 无效，可选：{names}", f"kind '{raw.get('kind')}' is unknown; choose one of: {', '.join(registry.names())}", raw.get("kind"))
        ec.raise_if_any()
        raise AssertionError("unreachable")  # pragma: no cover
    return spec


def _side(raw: Mapping[str, Any], spec: KindSpec, ec: ErrorCollector) -> str | None:
    """Offer or need: as given (Chinese or English), else the kind's default; one the kind has."""
    side = find(SIDES, _text(raw, "side")) if _text(raw, "side") else spec.default_side()
    if side is None or side not in spec.sides:
        allowed = " / ".join(spec.sides)
        ec.add("side", f"供需方向 ‘{raw.get('side')}’ 无效，{spec.zh}可选：{allowed}", f"side '{raw.get('side')}' is invalid for {spec.en}; use {allowed}", raw.get("side"))
    return side


def _bounded_text(raw: Mapping[str, Any], key: str, zh: str, limit: int, ec: ErrorCollector, echo: bool = False) -> str:
    """A required text of at most `limit` characters (`echo`: the error carries the value)."""
    text = _text(raw, key)
    if not text:
        ec.add(key, f"{zh}为必填项", f"{key} is required")
    elif len(text) > limit:
        ec.add(key, f"{zh}最多 {limit} 字，实际 {len(text)} 字", f"{key} is at most {limit} characters, got {len(text)}",
               text if echo else None)
    return text


def _code(raw: Mapping[str, Any], key: str, zh: str, normalise: Callable[[object], str], known: Callable[[object], object],
          ec: ErrorCollector, *, standard: str, example_zh: str, example_en: str) -> str:
    """A code of a national standard (or a name it knows), normalised; unknown codes are errors."""
    code = normalise(raw.get(key) or "")
    if known(code) is None:
        given = raw.get(key) or ""
        ec.add(key, f"{zh} ‘{given}’ 不是有效的 {standard} 代码（如 {example_zh}）",
               f"{key} '{given}' is not a {standard} code (e.g. {example_en})", raw.get(key))
    return code


def _choice(raw: Mapping[str, Any], key: str, zh: str, vocab: tuple[Choice, ...], default: str, ec: ErrorCollector, *,
            choices_zh: str, choices_en: str) -> str | None:
    """One of a vocabulary (Chinese or English), `default` when blank; None (and an error) otherwise."""
    value = find(vocab, _text(raw, key)) if _text(raw, key) else default
    if value is None:
        ec.add(key, f"{zh} ‘{raw.get(key)}’ 无效，可选：{choices_zh}", f"{key} '{raw.get(key)}' is invalid; use {choices_en}", raw.get(key))
    return value


def _validity(raw: Mapping[str, Any], ec: ErrorCollector) -> tuple[dt.date | None, dt.date | None]:
    """valid_from and valid_until: dates or blank, and the window not reversed."""
    dates: dict[str, dt.date | None] = {}
    for key, zh in (("valid_from", "有效期起"), ("valid_until", "有效期止")):
        v = raw.get(key)
        dates[key] = None
        if v in (None, ""):
            continue
        try:
            dates[key] = parse_date(v)
        except (ValueError, TypeError):
            ec.add(key, f"{zh}应为日期（如 2026-12-31），实际为 ‘{v}’", f"{key} should be a date such as 2026-12-31, got '{v}'", v)
    start, end = dates["valid_from"], dates["valid_until"]
    if start and end and end < start:
        ec.add("valid_until", "有效期止早于有效期起，请更正", "valid_until is before valid_from; please correct it", raw.get("valid_until"))
    return start, end


def _external_id(raw: Mapping[str, Any], ec: ErrorCollector) -> str:
    external_id = _text(raw, "external_id")
    if len(external_id) > 64:  # the database column's limit
        ec.add("external_id", f"外部编号最多 64 字，实际 {len(external_id)} 字",
               f"external_id is at most 64 characters, got {len(external_id)}", raw.get("external_id"))
    return external_id


def _attrs(raw: Mapping[str, Any], spec: KindSpec, ec: ErrorCollector) -> dict[str, Any]:
    """The kind's attributes (from nested `attrs` first, else flat keys), coerced, then its rules:
    ranges between fields and cross-field checks, on the values that passed."""
    raw_attrs = raw.get("attrs")
    nested: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
    attrs: dict[str, Any] = {}
    for a in spec.attrs:
        value = nested.get(a.key) if a.key in nested else raw.get(a.key)
        v, problem = coerce_field(a, value)
        if problem:
            ec.add(a.key, f"‘{a.zh}’{problem.zh}", f"{a.en}: {problem.en}", value)
        elif v not in (None, []):
            attrs[a.key] = v
    for rng in spec.rules.ranges:
        for key, msg in rng.check(attrs):
            ec.add(key, f"‘{spec.attr(key).zh}’{msg.zh}", f"{spec.attr(key).en}: {msg.en}", attrs.get(key))
    for extra in spec.rules.extra:
        for key, msg in extra(attrs):
            ec.add(key, msg.zh, msg.en, attrs.get(key))
    return attrs


def attrs_to_json(spec: KindSpec, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe attributes (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for a in spec.attrs:
        if a.key in attrs:
            v = attrs[a.key]
            out[a.key] = v.isoformat() if isinstance(v, dt.date) else v
    return out


def attrs_from_json(spec: KindSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in spec.attrs:
        if a.key in data and data[a.key] is not None:
            v = data[a.key]
            out[a.key] = parse_date(v) if a.type == "date" else v
    return out


@dataclass
class ListingFilter:
    """Which stored listings to list (storage.repo.find_listings applies it): every field set narrows."""

    kind: str | None = None
    side: str | None = None
    region: str | None = None  # a code; a province-level code (110000) matches its districts
    industry: str | None = None  # a division or a section letter
    status: str | None = None
    owner_id: int | None = None
    q: str | None = None  # substring of the title
    limit: int = 50
    offset: int = 0
