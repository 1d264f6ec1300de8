"""Large research instruments (大型科研仪器, offer) and testing / analysis needs (检测需求, need)."""

from __future__ import annotations

from typing import Any

from .. import regions
from ..errors import Message
from ..fields import AttrField, Choice, Filter, Rules
from ..listing import Listing
from ..matching.common import distance_item, labels_of
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

CATEGORIES = (
    Choice("analytical", "分析仪器", "analytical"),
    Choice("testing", "物理性能测试仪器", "physical testing"),
    Choice("microscopy", "电子光学与显微仪器", "electron optics / microscopy"),
    Choice("processing", "工艺试验与加工仪器", "processing / fabrication"),
    Choice("electronic", "电子测量仪器", "electronic measurement"),
    Choice("medical", "医学科研仪器", "medical research"),
    Choice("earth", "地球与环境探测仪器", "earth / environment"),
    Choice("computing", "计算机及配套设备", "computing"),
    Choice("other", "其他仪器", "other"),
)
ACCREDITATIONS = (Choice("CMA", "CMA 检验检测机构资质认定", "CMA"), Choice("CNAS", "CNAS 实验室认可", "CNAS"))
FEE_UNITS = (Choice("hour", "每机时", "per hour"), Choice("sample", "每样品", "per sample"))
SERVICE_MODES = (Choice("operator", "机组人员操作（送样）", "operator-assisted"), Choice("self", "自主上机", "self-service"))
INSTRUMENT_STATUSES = (
    Choice("available", "可预约", "available"),
    Choice("maintenance", "维护中", "maintenance"),
    Choice("retired", "已停用", "retired"),
)


def _open_hours(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    lo, hi = attrs.get("open_from", 8), attrs.get("open_to", 20)
    if lo >= hi:
        return [("open_to", Message(f"‘开放结束时’{hi} 应晚于开始时 {lo}", f"open_to {hi} must be after open_from {lo}"))]
    return []


def fee_for(instrument: Listing, user_region: str) -> float | None:
    """The price an instrument charges a user from `user_region` (same-region or cross-region list price)."""
    same = regions.province_of(instrument.region) == regions.province_of(user_region)
    key = "fee_same_region" if same else "fee_cross_region"
    v = instrument.attrs.get(key)
    return v if v is not None else instrument.attrs.get("fee_same_region")


def _pair(inst: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = []
    cat, want = inst.attrs.get("category"), need.attrs.get("category")
    if cat and want:
        lab = labels_of(CATEGORIES)
        items.append(FitItem("category", f"仪器类别一致：{lab[cat][0]}", f"same category: {lab[cat][1]}", True, 6.0) if cat == want else
                     FitItem("category", f"仪器类别不同：{lab[cat][0]} / {lab[want][0]}", f"different category: {lab[cat][1]} / {lab[want][1]}", False, -3.0))
    req = need.attrs.get("accreditation") or []
    if req:
        have = inst.attrs.get("accreditation") or []
        missing = [r for r in req if r not in have]
        items.append(FitItem("accreditation", "具备所需资质：" + "、".join(req), "holds the required accreditation: " + ", ".join(req), True, 5.0) if not missing else
                     FitItem("accreditation", "缺少所需资质：" + "、".join(missing), "lacks the required accreditation: " + ", ".join(missing), False, -5.0))
    fee, ceiling = fee_for(inst, need.region), need.attrs.get("max_fee")
    if fee is not None and ceiling is not None:
        unit = "样品" if inst.attrs.get("fee_unit") == "sample" else "机时"
        items.append(FitItem("fee", f"收费 {fee:g} 元/{unit}，不超过 {ceiling:g} 元", f"fee {fee:g} CNY within {ceiling:g}", True, 4.0) if fee <= ceiling else
                     FitItem("fee", f"收费 {fee:g} 元/{unit}，超出 {ceiling:g} 元", f"fee {fee:g} CNY exceeds {ceiling:g}", False, -3.0))
    st = inst.attrs.get("instrument_status", "available")
    if st == "maintenance":
        items.append(FitItem("status", "仪器维护中，暂不可预约", "under maintenance", False, -4.0))
    mode = inst.attrs.get("service_mode")
    if mode:
        lab2 = labels_of(SERVICE_MODES)
        items.append(FitItem("service_mode", f"服务方式：{lab2[mode][0]}", f"service mode: {lab2[mode][1]}", None, 0.0))
    items.append(distance_item(inst.region, need.region))
    return [i for i in items if i is not None]


def not_retired(inst: Listing, need: Listing, ctx: MatchContext) -> bool:
    status: object = inst.attrs.get("instrument_status", "available")
    return status != "retired"


INSTRUMENT = KindSpec(
    name="instrument",
    zh="科研仪器",
    en="Research instrument",
    sides=("offer",),
    description_zh="高校、院所和企业开放共享的大型科研仪器，可在线预约机时",
    description_en="shared large research instruments, bookable by the hour",
    icon="🔬",
    attrs=(
        AttrField("category", "仪器类别", "category", "enum", required=True, choices=CATEGORIES, example="分析仪器", filter=Filter("choice")),
        AttrField("manufacturer", "生产厂商", "manufacturer", "str", searchable=True, example="赛默飞世尔"),
        AttrField("model", "型号", "model", "str", searchable=True, example="Orbitrap Exploris 480"),
        AttrField("specs", "主要技术指标", "key specifications", "text", searchable=True, max=2000, example="分辨率 480000；质量范围 40–8000 m/z"),
        AttrField("capabilities", "功能与服务内容", "capabilities", "text", searchable=True, max=2000, example="蛋白质组学定性定量分析；代谢组学"),
        AttrField("samples", "典型样品", "typical samples", "text", searchable=True, max=1000, example="蛋白质酶解液、血清、组织提取物"),
        AttrField("accreditation", "资质认定", "accreditation", "multi_enum", choices=ACCREDITATIONS, example="CMA;CNAS", filter=Filter("choice")),
        AttrField("location", "放置地点", "location", "str", searchable=True, example="分析测试中心 B203"),
        AttrField("original_value", "仪器原值", "original value", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="650"),
        AttrField("fee_unit", "收费单位", "fee unit", "enum", choices=FEE_UNITS, example="每机时"),
        AttrField("fee_internal", "内部价", "internal price", "float", min=0, unit_zh="元", unit_en="CNY", example="300"),
        AttrField("fee_same_region", "同省市价", "same-region price", "float", min=0, unit_zh="元", unit_en="CNY", example="450"),
        AttrField("fee_cross_region", "跨省市价", "cross-region price", "float", min=0, unit_zh="元", unit_en="CNY", example="500"),
        AttrField("service_mode", "服务方式", "service mode", "enum", required=True, choices=SERVICE_MODES, example="自主上机", filter=Filter("choice")),
        AttrField("training_required", "需培训上机", "training required", "bool", example="是"),
        AttrField("auto_approve_trained", "培训用户自动批准", "auto-approve trained users", "bool", example="是"),
        AttrField("notice_hours", "取消提前时限", "cancellation notice", "int", min=0, max=720, unit_zh="小时", unit_en="hours", example="24"),
        AttrField("weekly_quota_hours", "每人每周限额", "weekly quota per user", "float", min=0, max=168, unit_zh="小时", unit_en="hours", example="8"),
        AttrField("billing_unit_hours", "计费单位", "billing unit", "float", min=0.05, max=24, unit_zh="小时", unit_en="hours", example="0.5"),
        AttrField("no_show_grace_minutes", "未到场宽限", "no-show grace period", "int", min=0, max=240, unit_zh="分钟", unit_en="minutes", example="15"),
        AttrField("open_from", "开放开始时", "opens at (hour)", "int", min=0, max=23, example="8"),
        AttrField("open_to", "开放结束时", "closes at (hour)", "int", min=1, max=24, example="20"),
        AttrField("instrument_status", "仪器状态", "instrument status", "enum", choices=INSTRUMENT_STATUSES, example="可预约"),
        AttrField("contact", "联系方式", "contact", "str"),
    ),
    fits={"testing_need": _pair},
    hards={"testing_need": not_retired},
    roles=frozenset({"bookable"}),
    rules=Rules(extra=(_open_hours,)),
)

TESTING_NEED = KindSpec(
    name="testing_need",
    zh="检测分析需求",
    en="Testing need",
    sides=("need",),
    description_zh="企业和科研人员的检测、分析、测试与加工需求",
    description_en="testing, analysis and fabrication needs",
    icon="🧪",
    attrs=(
        AttrField("category", "仪器类别", "category", "enum", choices=CATEGORIES, example="分析仪器", filter=Filter("choice")),
        AttrField("samples", "样品与检测项目", "samples and tests", "text", searchable=True, max=2000, example="血清样品蛋白质组定量分析"),
        AttrField("sample_count", "样品数量", "number of samples", "int", min=0, example="40"),
        AttrField("hours", "预计机时", "estimated hours", "float", min=0, unit_zh="小时", unit_en="hours", example="16"),
        AttrField("accreditation", "资质要求", "required accreditation", "multi_enum", choices=ACCREDITATIONS, example="CMA", filter=Filter("choice")),
        AttrField("max_fee", "可接受单价上限", "price ceiling", "float", min=0, unit_zh="元", unit_en="CNY", example="600"),
        AttrField("deadline", "完成期限", "deadline", "date", example="2026-12-31"),
    ),
    # matches instruments: the pair is declared on INSTRUMENT
)
