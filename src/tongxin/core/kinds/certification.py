"""Certified products (认证产品, offer by licensed producers) and retail needs (渠道采购需求, need).

Licences live in their own table (storage/models_resources.py); the kind carries the mark code, and
services/certification.py confirms the licence on the day of matching.
"""

from __future__ import annotations

from typing import Any

from ..errors import Message
from ..fields import AttrField, Choice, Filter, Rules
from ..listing import Listing
from ..matching.common import ceiling_item, distance_item
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

CHANNELS = (
    Choice("supermarket", "商超", "supermarket"),
    Choice("ecommerce", "电商", "e-commerce"),
    Choice("canteen", "团餐食堂", "canteens"),
    Choice("wholesale", "批发", "wholesale"),
    Choice("export", "出口", "export"),
)


def _mark_code(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    code = attrs.get("mark_code")
    if code is not None and not str(code).replace("-", "").replace("_", "").isalnum():
        return [("mark_code", Message(f"‘标志编码’{code} 只能含字母、数字和 -", f"mark_code {code} may only hold letters, digits and -"))]
    return []


def same_mark(query: Listing, cand: Listing, ctx: MatchContext) -> bool:
    """Hard rule: a retail need that names a mark only sees products carrying that mark."""
    a, b = query.attrs.get("mark_code"), cand.attrs.get("mark_code")
    return not a or not b or str(a).upper() == str(b).upper()


def _pair(prod: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = []
    if need.attrs.get("mark_code"):
        items.append(FitItem("mark", f"使用认证标志 {prod.attrs.get('mark_code')}", f"carries mark {prod.attrs.get('mark_code')}", True, 6.0))
    out, want = prod.attrs.get("annual_output_tonnes"), need.attrs.get("quantity_tonnes")
    if out is not None and want is not None:
        items.append(FitItem("quantity", f"年产 {out:g} 吨，满足采购 {want:g} 吨", f"{out:g} t a year covers {want:g} t", True, 3.0) if out >= want else
                     FitItem("quantity", f"年产 {out:g} 吨，少于采购 {want:g} 吨", f"{out:g} t a year, {want:g} t wanted", None, 0.0))
    items.append(ceiling_item("price", prod.attrs.get("price"), need.attrs.get("price_ceiling"), "元/公斤", "CNY/kg"))
    items.append(distance_item(prod.region, need.region))
    return [i for i in items if i is not None]


_MARK = AttrField("mark_code", "认证标志编码", "mark code", "str", searchable=True, example="XZD-GI",
                  help_zh="见认证标志目录，如 XZD-GI（小站稻地理标志证明商标）", help_en="from the mark registry, e.g. XZD-GI")

CERTIFIED_PRODUCT = KindSpec(
    name="certified_product",
    zh="认证产品",
    en="Certified product",
    sides=("offer",),
    description_zh="获得地理标志证明商标、区域公用品牌等认证标志使用许可的产品",
    description_en="products licensed to carry a certification mark (e.g. geographical-indication marks)",
    icon="🌾",
    attrs=(
        _MARK,
        AttrField("product_name", "产品名称", "product", "str", required=True, searchable=True, example="小站稻大米"),
        AttrField("licence_no", "许可编号", "licence number", "str", example="XZD-2025-001"),
        AttrField("annual_output_tonnes", "年产量", "annual output", "float", min=0, unit_zh="吨", unit_en="t", example="1200"),
        AttrField("packaging", "包装规格", "packaging", "str", searchable=True, example="5kg 真空包装"),
        AttrField("price", "出厂价", "ex-works price", "float", min=0, unit_zh="元/公斤", unit_en="CNY/kg", example="12"),
    ),
    fits={"retail_need": _pair},
    hards={"retail_need": same_mark},
    rules=Rules(extra=(_mark_code,)),
    checks=("licence",),
)

RETAIL_NEED = KindSpec(
    name="retail_need",
    zh="渠道采购需求",
    en="Retail need",
    sides=("need",),
    description_zh="商超、电商和团餐渠道对认证产品的采购需求",
    description_en="retail channels looking for certified products",
    icon="🛒",
    attrs=(
        _MARK,
        AttrField("product_name", "采购产品", "product wanted", "str", required=True, searchable=True, example="小站稻大米"),
        AttrField("channel", "渠道", "channel", "enum", choices=CHANNELS, example="商超", filter=Filter("choice")),
        AttrField("quantity_tonnes", "采购量", "quantity", "float", min=0, unit_zh="吨/年", unit_en="t/year", example="300"),
        AttrField("price_ceiling", "价格上限", "price ceiling", "float", min=0, unit_zh="元/公斤", unit_en="CNY/kg", example="15"),
    ),
    # matches certified products: the pair is declared on CERTIFIED_PRODUCT
    rules=Rules(extra=(_mark_code,)),
)
