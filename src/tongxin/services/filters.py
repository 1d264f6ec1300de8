"""Search filters, derived from the kinds' declarations.

The common filters (kind, side, region, industry, since) apply to every listing. The others come
from the kinds' fields (`AttrField.filter`): each declares a search parameter and a mode, so
`?trl=6` keeps technologies with TRL ≥ 6 and scenarios that require at most 6, and
`?budget=100` keeps scenarios whose budget reaches 100 and technologies priced from at most 100,
and a new kind's filters work without an edit here. A listing whose kind declares no field for
an applied parameter does not pass it (it cannot meet the condition).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import industries, regions
from ..core.errors import ErrorCollector
from ..core.fields import AttrField
from ..core.kinds import Registry
from ..core.listing import Listing


@dataclass
class SearchFilters:
    kind: str | None = None
    side: str | None = None
    region: str | None = None
    industry: str | None = None
    since: dt.date | None = None  # published or changed on/after
    attrs: dict[str, Any] = field(default_factory=dict)  # declared filter parameter → the value asked

    def get(self, param: str) -> Any:
        return self.attrs.get(param)


@dataclass(frozen=True)
class FilterParam:
    """One search parameter as the form shows it: the fields of the kinds that declare it."""

    param: str
    fields: tuple[AttrField, ...]

    @property
    def first(self) -> AttrField:
        return self.fields[0]

    @property
    def is_choice(self) -> bool:
        return self.first.filter is not None and self.first.filter.mode == "choice"

    def label(self, lang: str = "zh") -> str:
        unit, text = self.first.unit(lang), self.first.filter_label(lang)
        if lang == "en":
            return text[:1].upper() + text[1:] + (f" ({unit})" if unit else "")
        return text + (f"（{unit}）" if unit else "")

    def bounds(self) -> tuple[float | None, float | None]:
        lows = [f.min for f in self.fields if f.min is not None]
        highs = [f.max for f in self.fields if f.max is not None]
        return (min(lows) if lows else None, max(highs) if highs else None)

    def choices(self) -> list[tuple[str, str, str]]:
        seen: dict[str, tuple[str, str, str]] = {}
        for f in self.fields:
            for c in f.choices:
                seen.setdefault(c.value, (c.value, c.zh, c.en))
        return list(seen.values())


def filter_params(registry: Registry, kind: str | None = None) -> list[FilterParam]:
    """The declared filter parameters of one kind (or of every kind), in declaration order."""
    specs = [registry.get(kind)] if kind else list(registry)
    found: dict[str, list[AttrField]] = {}
    for spec in specs:
        for a in spec.filter_attrs():
            found.setdefault(a.filter_param, []).append(a)
    return [FilterParam(p, tuple(fs)) for p, fs in found.items()]


def _num(raw: Any) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _parse_param(p: FilterParam, raw: Any, ec: ErrorCollector) -> Any:
    label_zh, label_en = p.first.filter_label("zh"), p.first.filter_label("en")
    if p.is_choice:
        for f in p.fields:
            v = f.choice_for(str(raw))
            if v is not None:
                return v
        opts = p.choices()
        ec.add(p.param, f"‘{label_zh}’应为以下之一：" + "、".join(c[1] for c in opts),
               f"{label_en} must be one of: " + ", ".join(c[2] for c in opts), raw)
        return None
    lo, hi = p.bounds()
    num = _num(raw)
    if num is None or (lo is not None and num < lo) or (hi is not None and num > hi):
        rng_zh = f"{lo:g}–{hi:g} 的数字" if lo is not None and hi is not None else f"不小于 {lo:g} 的数字" if lo is not None else "数字"
        rng_en = f"a number from {lo:g} to {hi:g}" if lo is not None and hi is not None else f"a number ≥ {lo:g}" if lo is not None else "a number"
        unit = p.first.unit("zh")
        ec.add(p.param, f"‘{label_zh}’应为 {rng_zh}" + (f"（{unit}）" if unit else ""),
               f"{label_en} must be {rng_en}" + (f" ({p.first.unit('en')})" if unit else ""), raw)
        return None
    return int(num) if num == int(num) else num  # 100, not 100.0, back in the form


def parse_filters(raw: Mapping[str, Any], registry: Registry) -> SearchFilters:
    """Query parameters → SearchFilters; every bad value is reported at once, by parameter.
    Declared parameters the chosen kind does not have are left out (not applied)."""
    ec = ErrorCollector()
    kind = (raw.get("kind") or "").strip() or None
    if kind and kind not in registry:
        ec.add("kind", f"资源类型 ‘{kind}’ 无效，可选：{'、'.join(registry.names())}", f"kind '{kind}' is unknown; known: {', '.join(registry.names())}", kind)
        kind = None
    side = (raw.get("side") or "").strip() or None
    if side and side not in ("offer", "need"):
        ec.add("side", "供需方向应为 offer（供给）或 need（需求）", "side must be offer or need", side)
    since = None
    if raw.get("since"):
        try:
            since = dt.date.fromisoformat(str(raw.get("since")))
        except ValueError:
            ec.add("since", "日期格式应为 2026-01-31", "date should look like 2026-01-31", raw.get("since"))
    attrs: dict[str, Any] = {}
    for p in filter_params(registry, kind):
        if raw.get(p.param) not in (None, ""):
            v = _parse_param(p, str(raw.get(p.param)).strip(), ec)
            if v is not None:
                attrs[p.param] = v
    region = regions.normalise(raw.get("region") or "") if raw.get("region") else None
    industry = (raw.get("industry") or "").strip().upper() or None
    ec.raise_if_any()
    return SearchFilters(kind, side, region, industry, since, attrs)


def _field_passes(a: AttrField, have: Any, want: Any) -> bool:
    if have is None or a.filter is None:
        return False
    if a.filter.mode == "choice":
        return want in have if isinstance(have, (list, tuple, set)) else have == want
    if a.filter.mode == "at_least":
        return bool(have >= want)
    return bool(have <= want)


def passes_attrs(x: Listing, f: SearchFilters, registry: Registry) -> bool:
    if not f.attrs:
        return True
    if x.kind not in registry:
        return False
    declared = registry.get(x.kind).filter_attrs()
    for param, want in f.attrs.items():
        fields = [a for a in declared if a.filter_param == param]
        if not any(_field_passes(a, x.attrs.get(a.key), want) for a in fields):
            return False
    return True


def passes(x: Listing, f: SearchFilters, registry: Registry) -> bool:
    if f.kind and x.kind != f.kind or f.side and x.side != f.side:
        return False
    if f.region:
        if f.region.endswith("0000") and not x.region.startswith(f.region[:2]):
            return False
        if not f.region.endswith("0000") and x.region != f.region:
            return False
    if f.industry and not (x.industry == f.industry or (len(f.industry) == 1 and (industries.section_of(x.industry) == f.industry))):
        return False
    if f.since is not None:
        when = x.updated_at or x.created_at
        if when is None or when.date() < f.since:
            return False
    return passes_attrs(x, f, registry)
