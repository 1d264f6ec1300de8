"""Structured fit between a technology and a scenario: industry, TRL, price vs budget, region.

Points are small next to text relevance (at most ~20 of ~100): they order close text
matches, they never rescue an unrelated one. Cross-region matches are never penalised.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from .. import industries, regions
from ..clock import local_today  # the product's one clock (re-exported: MatchContext's default)
from ..listing import Listing
from .explain import FitItem

INDUSTRY_DIVISION_POINTS = 8.0
INDUSTRY_SECTION_POINTS = 4.0
TRL_MET_POINTS = 6.0
TRL_NEAR_POINTS = 2.0
TRL_MISSED_POINTS = -4.0
BUDGET_MET_POINTS = 5.0
BUDGET_MISSED_POINTS = -3.0
CORRIDOR_POINTS = 4.0


@dataclass(frozen=True)
class MatchContext:
    today: dt.date = field(default_factory=lambda: local_today())
    prefer_corridor: bool = False  # prefer Beijing-developed technology for Tianjin/Hebei needs


def industry_fit(a: Listing, b: Listing) -> FitItem:
    return _industry_item(a.industry, b.industry)


# Fit items depend on a few codes and numbers only, and matching asks the same pairs for
# every candidate: each is built once (FitItem is frozen, so sharing it is safe).
@functools.lru_cache(maxsize=8192)
def _industry_item(a_code: str, b_code: str) -> FitItem:
    rel = industries.relation(a_code, b_code)
    if rel == "same_division":
        name = industries.label(b_code)
        return FitItem("industry", f"同一行业大类：{name}", f"same industry division: {industries.label(b_code, 'en')}", True, INDUSTRY_DIVISION_POINTS)
    if rel == "same_section":
        sec = industries.section_of(b_code) or ""
        return FitItem("industry", f"同一行业门类：{industries.label(sec)}", f"same industry section: {industries.label(sec, 'en')}", True, INDUSTRY_SECTION_POINTS)
    return FitItem(
        "industry",
        f"行业不同：{industries.label(a_code)} / {industries.label(b_code)}",
        f"different industries: {industries.label(a_code, 'en')} / {industries.label(b_code, 'en')}",
        False,
        0.0,
    )


def trl_fit(tech: Listing, scen: Listing) -> FitItem | None:
    trl = tech.attrs.get("trl")
    need = scen.attrs.get("required_trl")
    if trl is None or need is None:
        return None
    return _trl_item(trl, need)


@functools.lru_cache(maxsize=1024)
def _trl_item(trl: int, need: int) -> FitItem:
    if trl >= need:
        return FitItem("trl", f"技术成熟度 TRL {trl} ≥ 要求 {need}", f"TRL {trl} meets the required {need}", True, TRL_MET_POINTS)
    if trl == need - 1:
        return FitItem("trl", f"技术成熟度 TRL {trl} 略低于要求 {need}", f"TRL {trl} is one level below the required {need}", None, TRL_NEAR_POINTS)
    return FitItem("trl", f"技术成熟度 TRL {trl} 低于要求 {need}", f"TRL {trl} is below the required {need}", False, TRL_MISSED_POINTS)


def budget_fit(tech: Listing, scen: Listing) -> FitItem | None:
    pmin, pmax = tech.attrs.get("price_min"), tech.attrs.get("price_max")
    bmin, bmax = scen.attrs.get("budget_min"), scen.attrs.get("budget_max")
    if pmin is None and pmax is None or bmin is None and bmax is None:
        return None
    low = pmin if pmin is not None else pmax
    top = bmax if bmax is not None else bmin
    assert low is not None and top is not None
    return _budget_item(low, top)


@functools.lru_cache(maxsize=8192)
def _budget_item(low: float, top: float) -> FitItem:
    if low <= top:
        return FitItem("budget", f"报价 {low:g} 万元起，在预算 {top:g} 万元以内", f"asking price from {low:g} (10k CNY) fits the budget of {top:g}", True, BUDGET_MET_POINTS)
    if low <= top * 1.5:
        return FitItem("budget", f"报价 {low:g} 万元起，略超预算 {top:g} 万元", f"asking price from {low:g} is slightly above the budget of {top:g}", None, 0.0)
    return FitItem("budget", f"报价 {low:g} 万元起，超出预算 {top:g} 万元", f"asking price from {low:g} exceeds the budget of {top:g}", False, BUDGET_MISSED_POINTS)


def region_fit(tech: Listing, scen: Listing, ctx: MatchContext) -> FitItem:
    return _region_item(tech.region, scen.region, ctx.prefer_corridor)


@functools.lru_cache(maxsize=8192)
def _region_item(tech_region: str, scen_region: str, prefer_corridor: bool) -> FitItem:
    pt, ps = regions.province_of(tech_region), regions.province_of(scen_region)
    lt, ls = regions.label(tech_region), regions.label(scen_region)
    lte, lse = regions.label(tech_region, "en"), regions.label(scen_region, "en")
    if pt != ps:
        corridor = pt == "BJ" and ps in ("TJ", "HE")
        pts = CORRIDOR_POINTS if (corridor and prefer_corridor) else 0.0
        zh = f"跨区域协同：{lt} → {ls}" + ("（北京研发、津冀转化）" if corridor else "")
        en = f"cross-region: {lte} → {lse}" + (" (Beijing R&D, Tianjin/Hebei industrialisation)" if corridor else "")
        return FitItem("region", zh, en, True, pts)
    return FitItem("region", f"同一地区：{regions.PROVINCE_LABELS.get(pt, (pt, pt))[0]}", f"same region: {regions.PROVINCE_LABELS.get(pt, (pt, pt))[1]}", None, 0.0)


def _tech_scenario(tech: Listing, scen: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = [industry_fit(scen, tech), trl_fit(tech, scen), budget_fit(tech, scen), region_fit(tech, scen, ctx)]
    return [i for i in items if i is not None]


# the least and the most points technology_vs_scenario gives (TRL and budget missed; every item at its best)
TECH_SCENARIO_BOUNDS = (TRL_MISSED_POINTS + BUDGET_MISSED_POINTS,
                        INDUSTRY_DIVISION_POINTS + TRL_MET_POINTS + BUDGET_MET_POINTS + CORRIDOR_POINTS)


def technology_vs_scenario(tech: Listing, scen: Listing, ctx: MatchContext) -> list[FitItem]:
    """The technology ↔ scenario pair's fit (declared on the technology kind, used both ways)."""
    return _tech_scenario(tech, scen, ctx)
