"""Equipment assets (设备资产): idle equipment offered for sale or lease, and equipment wanted."""

from __future__ import annotations

import math
from typing import Any

from .. import regions
from ..errors import Message
from ..fields import AttrField, Choice, Filter, Rules
from ..listing import Listing
from ..matching.common import ceiling_item, choices_item, distance_item, labels_of, opposite_sides
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

CONDITIONS = (
    Choice("new", "全新", "new"),
    Choice("like_new", "九成新以上", "like new"),
    Choice("good", "良好可用", "good"),
    Choice("fair", "需检修", "needs servicing"),
    Choice("parts", "仅作配件", "for parts"),
)
DEALS = (Choice("sale", "出售", "sale"), Choice("lease", "租赁", "lease"))
_COND_RANK = {c.value: i for i, c in enumerate(CONDITIONS)}


def _need_has_ceiling_or_offer_has_price(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    q = attrs.get("quantity")
    if q is not None and q < 1:
        return [("quantity", Message("‘数量’至少为 1", "quantity must be at least 1"))]
    return []


def _pair(offer: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = [
        choices_item("deal", offer.attrs.get("deals") or [], need.attrs.get("deals") or [], "交易方式", "deal types", labels_of(DEALS)),
        ceiling_item("price", offer.attrs.get("price"), need.attrs.get("price"), "万元", "×10k CNY"),
    ]
    have, want = offer.attrs.get("quantity"), need.attrs.get("quantity")
    if have is not None and want is not None:
        items.append(FitItem("quantity", f"可供 {have} 台/套，满足需求 {want}", f"{have} available, {want} wanted", True, 3.0) if have >= want else
                     FitItem("quantity", f"可供 {have} 台/套，少于需求 {want}", f"only {have} available, {want} wanted", None, 0.0))
    cond, min_cond = offer.attrs.get("condition"), need.attrs.get("condition")
    if cond and min_cond:
        lab = labels_of(CONDITIONS)
        ok = _COND_RANK[cond] <= _COND_RANK[min_cond]
        items.append(FitItem("condition", f"成色“{lab[cond][0]}”达到要求“{lab[min_cond][0]}”", f"condition {lab[cond][1]} meets {lab[min_cond][1]}", True, 3.0) if ok else
                     FitItem("condition", f"成色“{lab[cond][0]}”低于要求“{lab[min_cond][0]}”", f"condition {lab[cond][1]} below {lab[min_cond][1]}", False, -3.0))
    d = distance_item(offer.region, need.region)
    limit = need.attrs.get("max_distance_km")
    if d is not None and limit is not None and not within_distance(offer, need):
        d = FitItem(d.key, d.zh + f"，超出 {limit:g} 公里范围", d.en + f", beyond {limit:g} km", False, -2.0)
    items.append(d)
    return [i for i in items if i is not None]


def within_distance(offer: Listing, need: Listing) -> bool:
    """The need's maximum distance (any limit, not only beyond the far band); unknown distance passes."""
    limit = need.attrs.get("max_distance_km")
    if limit is None:
        return True
    try:
        km = regions.distance_km(offer.region, need.region)
    except KeyError:
        return True
    return math.isinf(km) or km <= float(limit)


def equipment_hard(query: Listing, cand: Listing, ctx: MatchContext) -> bool:
    """Offer ↔ need, and an offer farther away than the need accepts is not matched."""
    if not opposite_sides(query, cand, ctx):
        return False
    offer, need = (query, cand) if query.side == "offer" else (cand, query)
    return within_distance(offer, need)


def equipment_fit(query: Listing, cand: Listing, ctx: MatchContext) -> list[FitItem]:
    return _pair(query, cand, ctx) if query.side == "offer" else _pair(cand, query, ctx)


EQUIPMENT = KindSpec(
    name="equipment",
    zh="设备资产",
    en="Equipment",
    sides=("offer", "need"),
    description_zh="闲置设备出售、出租与设备求购、求租",
    description_en="idle equipment for sale or lease, and equipment wanted",
    icon="🏭",
    attrs=(
        AttrField("equipment_type", "设备类型", "equipment type", "str", required=True, searchable=True, example="数控加工中心"),
        AttrField("brand_model", "品牌型号", "brand / model", "str", searchable=True, example="DMG MORI DMU 65"),
        AttrField("spec", "规格参数", "specification", "text", searchable=True, max=2000, example="五轴联动；工作台 650×650 mm"),
        AttrField("year", "出厂年份", "year built", "int", min=1950, max=2100, example="2019"),
        AttrField("condition", "成色", "condition", "enum", choices=CONDITIONS,
                  help_zh="需求方填写最低可接受成色", help_en="for needs: the lowest acceptable condition", example="良好可用", filter=Filter("choice")),
        AttrField("quantity", "数量", "quantity", "int", min=0, unit_zh="台/套", unit_en="units", example="2"),
        AttrField("location", "存放地点", "location", "str", searchable=True),
        AttrField("deals", "交易方式", "deal types", "multi_enum", required=True, choices=DEALS, example="出售;租赁", filter=Filter("choice")),
        AttrField("price", "价格", "price", "float", min=0, unit_zh="万元", unit_en="×10k CNY",
                  help_zh="供给为报价，需求为价格上限", help_en="offer: asking price; need: ceiling", example="120", filter=Filter("at_most", "budget", "您的预算", "your budget")),
        AttrField("max_distance_km", "可接受距离", "max distance", "float", min=0, unit_zh="公里", unit_en="km", example="300"),
    ),
    fits={"equipment": equipment_fit},
    hards={"equipment": equipment_hard},
    rules=Rules(extra=(_need_has_ceiling_or_offer_has_price,)),
)
