"""Recycled materials (再生资源): material lots on offer and material needs.

Scrap steel grades follow GB/T 4223-2017《废钢铁》 (熔炼用废钢的分类); other materials carry free grades.
"""

from __future__ import annotations

from typing import Any

from .. import regions
from ..errors import Message
from ..fields import AttrField, Choice, Filter, Range, Rules
from ..listing import Listing
from ..matching.common import ceiling_item, distance_item, labels_of
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

MATERIALS = (
    Choice("scrap_steel", "废钢铁", "scrap steel"),
    Choice("scrap_copper", "废铜", "scrap copper"),
    Choice("scrap_aluminium", "废铝", "scrap aluminium"),
    Choice("waste_paper", "废纸", "waste paper"),
    Choice("waste_plastic", "废塑料", "waste plastic"),
    Choice("construction_waste", "建筑垃圾再生骨料", "recycled aggregate"),
    Choice("fly_ash", "粉煤灰", "fly ash"),
)

# GB/T 4223-2017 废钢铁: the grades the project recognises for scrap steel (stable codes, Chinese names)
SCRAP_STEEL_GRADES = (
    Choice("heavy", "重型废钢", "heavy scrap"),
    Choice("medium", "中型废钢", "medium scrap"),
    Choice("small", "小型废钢", "small scrap"),
    Choice("light", "轻薄料型废钢", "light gauge scrap"),
    Choice("shredded", "破碎废钢", "shredded scrap"),
    Choice("bales", "废钢压块", "baled scrap"),
    Choice("turnings", "钢屑", "steel turnings"),
    Choice("alloy", "合金废钢", "alloy steel scrap"),
    Choice("cast_iron", "废铸铁", "cast iron scrap"),
    Choice("other", "其他", "other"),
)
_GRADE_LABELS = labels_of(SCRAP_STEEL_GRADES)


def _lot_rules(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    if attrs.get("material") == "scrap_steel" and attrs.get("grade") is None:
        return [("grade", Message("废钢铁须注明 GB/T 4223-2017 品级（如 重型废钢）", "scrap steel needs a GB/T 4223-2017 grade (e.g. heavy scrap)"))]
    return []


def _need_rules(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    out = []
    if attrs.get("material") == "scrap_steel" and not attrs.get("grades"):
        out.append(("grades", Message("废钢铁需求须注明可接受的 GB/T 4223-2017 品级", "a scrap-steel need must state the acceptable GB/T 4223-2017 grades")))
    dr = attrs.get("delivery_region")
    if dr and regions.get(regions.normalise(dr)) is None:
        out.append(("delivery_region", Message(f"交货地区 ‘{dr}’ 不是有效的 GB/T 2260 代码（如 130200 唐山市）",
                                               f"delivery region '{dr}' is not a GB/T 2260 code (e.g. 130200 Tangshan)")))
    return out


def respects_grade_and_quantity(lot: Listing, need: Listing, ctx: MatchContext) -> bool:
    """Hard rule: same material, an accepted grade, and enough tonnage for the need's minimum."""
    if lot.attrs.get("material") != need.attrs.get("material"):
        return False
    grades = need.attrs.get("grades") or []
    if grades and lot.attrs.get("grade") not in grades:
        return False
    tmin, have = need.attrs.get("tonnage_min"), lot.attrs.get("tonnage")
    return not (tmin is not None and have is not None and have < tmin)


def _pair(lot: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = []
    g = lot.attrs.get("grade")
    if g:
        items.append(FitItem("grade", f"品级符合：{_GRADE_LABELS.get(g, (g, g))[0]}（GB/T 4223-2017）",
                             f"accepted grade: {_GRADE_LABELS.get(g, (g, g))[1]} (GB/T 4223-2017)", True, 5.0))
    have, tmax = lot.attrs.get("tonnage"), need.attrs.get("tonnage_max")
    if have is not None:
        if tmax is not None and have > tmax:
            items.append(FitItem("tonnage", f"货量 {have:g} 吨，可按需求上限 {tmax:g} 吨分批供应", f"{have:g} t on offer, up to {tmax:g} t wanted", True, 3.0))
        else:
            items.append(FitItem("tonnage", f"货量 {have:g} 吨，满足需求", f"{have:g} t satisfies the need", True, 3.0))
    items.append(ceiling_item("price", lot.attrs.get("price_per_tonne"), need.attrs.get("price_ceiling"), "元/吨", "CNY/t"))
    avail, by = lot.attrs.get("available_from"), need.attrs.get("needed_by")
    if avail is not None and by is not None and avail > by:
        items.append(FitItem("timing", f"{avail} 起供货，晚于需求日期 {by}", f"available from {avail}, after the needed date {by}", False, -3.0))
    dest = regions.normalise(need.attrs.get("delivery_region") or need.region)
    items.append(distance_item(lot.region, dest))
    return [i for i in items if i is not None]


_MATERIAL = AttrField("material", "物料种类", "material", "enum", required=True, choices=MATERIALS, example="废钢铁")

MATERIAL_LOT = KindSpec(
    name="material_lot",
    zh="再生资源货源",
    en="Material lot",
    sides=("offer",),
    description_zh="废钢铁、废有色金属、废纸等再生资源货源",
    description_en="lots of scrap steel, non-ferrous scrap, paper and other recycled materials",
    icon="♻️",
    attrs=(
        _MATERIAL,
        AttrField("grade", "品级", "grade", "enum", choices=SCRAP_STEEL_GRADES, help_zh="废钢铁按 GB/T 4223-2017", help_en="GB/T 4223-2017 for scrap steel",
                  example="重型废钢", filter=Filter("choice")),
        AttrField("spec", "规格说明", "specification", "text", searchable=True, max=1000, example="厚度≥6mm，单件≤1.2m×0.5m"),
        AttrField("tonnage", "货量", "tonnage", "float", required=True, min=0, unit_zh="吨", unit_en="t", example="500", filter=Filter("at_least", "tonnage", "货量不少于", "tonnage at least")),
        AttrField("price_per_tonne", "单价", "price per tonne", "float", min=0, unit_zh="元/吨", unit_en="CNY/t", example="2650"),
        AttrField("available_from", "供货日期", "available from", "date", example="2026-03-01"),
    ),
    fits={"material_need": _pair},
    hards={"material_need": respects_grade_and_quantity},
    rules=Rules(extra=(_lot_rules,)),
)

MATERIAL_NEED = KindSpec(
    name="material_need",
    zh="再生资源需求",
    en="Material need",
    sides=("need",),
    description_zh="钢厂、冶炼厂和加工企业的再生资源采购需求",
    description_en="purchase needs for recycled materials",
    icon="🧲",
    attrs=(
        _MATERIAL,
        AttrField("grades", "可接受品级", "accepted grades", "multi_enum", choices=SCRAP_STEEL_GRADES, example="重型废钢;中型废钢", filter=Filter("choice", "grade")),
        AttrField("tonnage_min", "需求量下限", "tonnage from", "float", min=0, unit_zh="吨", unit_en="t", example="200"),
        AttrField("tonnage_max", "需求量上限", "tonnage to", "float", min=0, unit_zh="吨", unit_en="t", example="2000", filter=Filter("at_least", "tonnage", "货量不少于", "tonnage at least")),
        AttrField("price_ceiling", "价格上限", "price ceiling", "float", min=0, unit_zh="元/吨", unit_en="CNY/t", example="2800"),
        AttrField("delivery_region", "交货地区", "delivery region", "str", help_zh="GB/T 2260 代码", help_en="GB/T 2260 code", example="130200"),
        AttrField("needed_by", "需求日期", "needed by", "date", example="2026-06-30"),
        AttrField("spec", "质量要求", "quality requirements", "text", searchable=True, max=1000),
    ),
    # matches material lots: the pair is declared on MATERIAL_LOT
    rules=Rules(ranges=(Range("tonnage_min", "tonnage_max"),), extra=(_need_rules,)),
)
