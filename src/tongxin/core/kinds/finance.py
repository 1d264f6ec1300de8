"""Financial services (金融服务, offer) and enterprises' financing needs (融资需求, need)."""

from __future__ import annotations

from typing import Any

from .. import industries, regions
from ..errors import Message
from ..fields import AttrField, Choice, Filter, Range, Rules, split_list
from ..listing import Listing
from ..matching.common import labels_of
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

PRODUCTS = (
    Choice("credit_guarantee", "信用担保", "credit guarantee"),
    Choice("angel", "天使投资", "angel investment"),
    Choice("venture", "创业投资", "venture capital"),
    Choice("bank_loan", "银行贷款", "bank loan"),
    Choice("ip_pledge", "知识产权质押融资", "IP-pledge financing"),
)
STAGES = (
    Choice("seed", "种子期", "seed"),
    Choice("startup", "初创期", "start-up"),
    Choice("growth", "成长期", "growth"),
    Choice("mature", "成熟期", "mature"),
)
PROVINCES = (Choice("BJ", "北京", "Beijing"), Choice("TJ", "天津", "Tianjin"), Choice("HE", "河北", "Hebei"))


def _industry_list(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    for part in split_list(attrs.get("industries")):
        code = industries.normalise(part)
        if industries.get(code) is None:
            return [("industries", Message(f"‘支持行业’中 ‘{part}’ 不是 GB/T 4754-2017 门类或大类代码（如 C 或 C27）",
                                           f"industries: '{part}' is not a GB/T 4754-2017 section or division (e.g. C or C27)"))]
    return []


def covers_industry(listed: str | None, industry: str) -> bool:
    codes = [industries.normalise(p) for p in split_list(listed)]
    if not codes:
        return True
    sec = industries.section_of(industry)
    return any(c == industry or (len(c) == 1 and c == sec) for c in codes)


def _pair(svc: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem] = []
    plab, slab = labels_of(PRODUCTS), labels_of(STAGES)
    p = svc.attrs.get("product_type")
    wanted = need.attrs.get("product_types") or []
    if p and wanted:
        items.append(FitItem("product", f"产品类型符合：{plab[p][0]}", f"product fits: {plab[p][1]}", True, 6.0) if p in wanted else
                     FitItem("product", f"产品类型为{plab[p][0]}，需求为" + "、".join(plab[w][0] for w in wanted),
                             f"product is {plab[p][1]}; wanted " + ", ".join(plab[w][1] for w in wanted), False, -4.0))
    amt, lo, hi = need.attrs.get("amount"), svc.attrs.get("amount_min"), svc.attrs.get("amount_max")
    if amt is not None and (lo is not None or hi is not None):
        ok = (lo is None or amt >= lo) and (hi is None or amt <= hi)
        rng = f"{lo if lo is not None else 0:g}–" + (f"{hi:g}" if hi is not None else "∞")
        items.append(FitItem("amount", f"融资额 {amt:g} 万元在产品额度 {rng} 万元内", f"amount {amt:g} within {rng} (10k CNY)", True, 5.0) if ok else
                     FitItem("amount", f"融资额 {amt:g} 万元不在产品额度 {rng} 万元内", f"amount {amt:g} outside {rng} (10k CNY)", False, -4.0))
    st, stages = need.attrs.get("stage"), svc.attrs.get("stages") or []
    if st and stages:
        items.append(FitItem("stage", f"企业阶段{slab[st][0]}在支持范围内", f"stage {slab[st][1]} supported", True, 3.0) if st in stages else
                     FitItem("stage", f"企业阶段{slab[st][0]}不在支持范围内", f"stage {slab[st][1]} not supported", False, -3.0))
    if svc.attrs.get("industries"):
        ok = covers_industry(svc.attrs.get("industries"), need.industry)
        items.append(FitItem("industry", f"支持行业包含 {industries.label(need.industry)}", f"industry {industries.label(need.industry, 'en')} supported", True, 3.0)
                     if ok else FitItem("industry", f"支持行业不含 {industries.label(need.industry)}", f"industry {industries.label(need.industry, 'en')} not supported", False, -3.0))
    provs = svc.attrs.get("regions") or []
    if provs:
        pv = regions.province_of(need.region)
        items.append(FitItem("region", f"服务区域覆盖 {regions.label(need.region)}", f"serves {regions.label(need.region, 'en')}", True, 2.0) if pv in provs else
                     FitItem("region", f"服务区域不含 {regions.label(need.region)}", f"does not serve {regions.label(need.region, 'en')}", False, -4.0))
    if need.attrs.get("has_ip") and p == "ip_pledge":
        items.append(FitItem("ip", "企业有知识产权可质押", "the enterprise has IP to pledge", True, 2.0))
    return items


FINANCIAL_SERVICE = KindSpec(
    name="financial_service",
    zh="金融服务",
    en="Financial service",
    sides=("offer",),
    description_zh="信用担保、天使投资、创业投资、银行贷款、知识产权质押融资等金融产品",
    description_en="credit guarantees, angel and venture investment, bank loans, IP-pledge financing",
    icon="💴",
    attrs=(
        AttrField("product_type", "产品类型", "product type", "enum", required=True, choices=PRODUCTS, example="知识产权质押融资", filter=Filter("choice")),
        AttrField("amount_min", "额度下限", "amount from", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="100"),
        AttrField("amount_max", "额度上限", "amount to", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="1000"),
        AttrField("stages", "支持阶段", "stages", "multi_enum", choices=STAGES, example="初创期;成长期", filter=Filter("choice", "stage")),
        AttrField("industries", "支持行业", "industries", "str", help_zh="GB/T 4754 门类或大类，多个用 ; 分隔", help_en="sections or divisions, separated by ;",
                  example="C;I65"),
        AttrField("regions", "服务区域", "regions served", "multi_enum", choices=PROVINCES, example="北京;天津;河北"),
        AttrField("rate", "利率/费率", "rate", "str", example="年化 3.45% 起"),
        AttrField("conditions", "申请条件", "conditions", "text", searchable=True, max=2000, example="拥有有效发明专利；近一年无不良信用记录"),
    ),
    fits={"financing_need": _pair},
    roles=frozenset({"deal_finance"}),
    rules=Rules(ranges=(Range("amount_min", "amount_max"),), extra=(_industry_list,)),
)

FINANCING_NEED = KindSpec(
    name="financing_need",
    zh="融资需求",
    en="Financing need",
    sides=("need",),
    description_zh="企业的融资需求：贷款、担保、股权投资、知识产权质押",
    description_en="enterprises' financing needs",
    icon="📈",
    attrs=(
        AttrField("product_types", "期望产品", "products wanted", "multi_enum", choices=PRODUCTS, example="银行贷款;知识产权质押融资", filter=Filter("choice", "product_type")),
        AttrField("amount", "融资金额", "amount", "float", required=True, min=0, unit_zh="万元", unit_en="×10k CNY", example="500", filter=Filter("at_most", "amount", "融资金额不超过", "amount at most")),
        AttrField("stage", "企业阶段", "stage", "enum", choices=STAGES, example="成长期", filter=Filter("choice")),
        AttrField("has_ip", "有可质押知识产权", "has IP to pledge", "bool", example="是"),
        AttrField("purpose", "资金用途", "use of funds", "text", searchable=True, max=2000, example="扩建生产线"),
    ),
    # matches financial services and policies: both pairs are declared on those kinds
)
