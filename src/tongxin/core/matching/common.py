"""Structured-fit building blocks shared by the resource kinds (distance, price ceilings, sides, periods).

Points stay small next to text relevance (each item at most ~8 of ~100), as in `fit.py`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from .. import industries, regions
from ..listing import Listing
from .explain import FitItem
from .fit import MatchContext

NEAR_KM, MID_KM, FAR_KM = 50.0, 150.0, 300.0
NEAR_POINTS, MID_POINTS, FAR_POINTS = 6.0, 3.0, 1.0
PRICE_MET_POINTS, PRICE_MISSED_POINTS = 5.0, -4.0


def opposite_sides(query: Listing, cand: Listing, ctx: MatchContext) -> bool:
    """Hard rule for kinds that match themselves (equipment offer ↔ equipment need)."""
    return query.side != cand.side


def distance_item(from_region: str, to_region: str, key: str = "distance") -> FitItem | None:
    """Closer is better; cross-region is never penalised, only less preferred."""
    try:
        km = regions.distance_km(from_region, to_region)
    except KeyError:
        return None
    if math.isinf(km):
        return None
    a, b = regions.label(from_region), regions.label(to_region)
    ae, be = regions.label(from_region, "en"), regions.label(to_region, "en")
    if km <= NEAR_KM:
        pts = NEAR_POINTS
    elif km <= MID_KM:
        pts = MID_POINTS
    elif km <= FAR_KM:
        pts = FAR_POINTS
    else:
        pts = 0.0
    return FitItem(key, f"距离约 {km:.0f} 公里：{a} → {b}", f"about {km:.0f} km: {ae} → {be}", True if pts >= MID_POINTS else None, pts)


def ceiling_item(key: str, price: float | None, ceiling: float | None, unit_zh: str, unit_en: str) -> FitItem | None:
    if price is None or ceiling is None:
        return None
    if price <= ceiling:
        return FitItem(key, f"价格 {price:g} {unit_zh}，不超过上限 {ceiling:g}", f"price {price:g} {unit_en} within the ceiling of {ceiling:g}", True, PRICE_MET_POINTS)
    if price <= ceiling * 1.2:
        return FitItem(key, f"价格 {price:g} {unit_zh}，略超上限 {ceiling:g}", f"price {price:g} {unit_en} slightly above the ceiling of {ceiling:g}", None, 0.0)
    return FitItem(key, f"价格 {price:g} {unit_zh}，超出上限 {ceiling:g}", f"price {price:g} {unit_en} exceeds the ceiling of {ceiling:g}", False, PRICE_MISSED_POINTS)


def choices_item(key: str, offered: Iterable[str], wanted: Iterable[str], what_zh: str, what_en: str, labels: dict[str, tuple[str, str]],
                 points: float = 4.0) -> FitItem | None:
    off, want = list(offered), list(wanted)
    if not off or not want:
        return None
    common = [v for v in want if v in off]

    def zh(vs: list[str]) -> str:
        return "、".join(labels.get(v, (v, v))[0] for v in vs)

    def en(vs: list[str]) -> str:
        return ", ".join(labels.get(v, (v, v))[1] for v in vs)

    if common:
        return FitItem(key, f"{what_zh}一致：{zh(common)}", f"{what_en} agree: {en(common)}", True, points)
    return FitItem(key, f"{what_zh}不一致：提供 {zh(off)}，需要 {zh(want)}", f"{what_en} differ: offered {en(off)}, wanted {en(want)}", False, -points)


def period_item(key: str, avail_from: dt.date | None, avail_to: dt.date | None, need_from: dt.date | None, need_to: dt.date | None,
                points: float = 4.0) -> FitItem | None:
    """Does the offered period cover the needed one?"""
    if need_from is None and need_to is None:
        return None
    lo = avail_from or dt.date.min
    hi = avail_to or dt.date.max
    nlo = need_from or lo
    nhi = need_to or hi
    if lo <= nlo and nhi <= hi:
        return FitItem(key, f"可用期覆盖需求期 {nlo}–{nhi if nhi != dt.date.max else '…'}", "the available period covers the needed period", True, points)
    if lo <= nhi and nlo <= hi:
        return FitItem(key, "可用期与需求期部分重叠", "the available period overlaps part of the needed period", None, points / 2)
    return FitItem(key, "可用期与需求期不重叠", "the available period does not overlap the needed period", False, -points)


def industry_item(a: Listing, b: Listing) -> FitItem | None:
    rel = industries.relation(a.industry, b.industry)
    if rel == "same_division":
        return FitItem("industry", f"同一行业：{industries.label(b.industry)}", f"same industry: {industries.label(b.industry, 'en')}", True, 3.0)
    return None


def labels_of(choices: Iterable[object]) -> dict[str, tuple[str, str]]:
    return {c.value: (c.zh, c.en) for c in choices}  # type: ignore[attr-defined]
