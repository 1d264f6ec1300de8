"""Experts and talent (专家人才, offer) and posts (岗位需求, need): secondments, remote consultation, part-time."""

from __future__ import annotations

from ..fields import AttrField, Choice, Filter, Range, Rules
from ..listing import Listing
from ..matching.common import choices_item, distance_item, labels_of, period_item
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

TITLE_LEVELS = (
    Choice("senior", "正高级（教授/主任医师/正高工）", "senior (full professor level)"),
    Choice("associate", "副高级（副教授/副主任医师/高工）", "associate (associate professor level)"),
    Choice("intermediate", "中级（讲师/主治医师/工程师）", "intermediate"),
    Choice("junior", "初级", "junior"),
)
_LEVEL = {"senior": 3, "associate": 2, "intermediate": 1, "junior": 0}
MODES = (
    Choice("onsite", "驻点/挂职", "on-site secondment"),
    Choice("remote", "远程会诊/咨询", "remote consultation"),
    Choice("part_time", "兼职/柔性引进", "part-time"),
)


def _pair(expert: Listing, post: Listing, ctx: MatchContext) -> list[FitItem]:
    items: list[FitItem | None] = []
    have, want = expert.attrs.get("title_level"), post.attrs.get("title_level")
    if have and want:
        lab = labels_of(TITLE_LEVELS)
        ok = _LEVEL[have] >= _LEVEL[want]
        items.append(FitItem("title", f"职称{lab[have][0].split('（')[0]}，满足要求{lab[want][0].split('（')[0]}",
                             f"title {lab[have][1]} meets {lab[want][1]}", True, 5.0) if ok else
                     FitItem("title", f"职称{lab[have][0].split('（')[0]}，低于要求{lab[want][0].split('（')[0]}",
                             f"title {lab[have][1]} below {lab[want][1]}", False, -4.0))
    items.append(choices_item("mode", expert.attrs.get("modes") or [], post.attrs.get("modes") or [], "工作方式", "modes", labels_of(MODES)))
    items.append(period_item("period", expert.attrs.get("available_from"), expert.attrs.get("available_until"),
                             post.attrs.get("available_from"), post.attrs.get("available_until")))
    modes = set(expert.attrs.get("modes") or []) & set(post.attrs.get("modes") or [])
    if modes != {"remote"}:  # distance matters for on-site work only
        items.append(distance_item(expert.region, post.region))
    return [i for i in items if i is not None]


def _period_fields(zh_from: str, zh_to: str) -> tuple[AttrField, AttrField]:
    return (AttrField("available_from", zh_from, "from", "date", example="2026-03-01"),
            AttrField("available_until", zh_to, "until", "date", example="2026-12-31"))


EXPERT = KindSpec(
    name="expert",
    zh="专家人才",
    en="Expert",
    sides=("offer",),
    description_zh="可对外服务的专家、医疗与技术人才：驻点挂职、远程会诊、柔性引进",
    description_en="experts available for secondment, remote consultation or part-time work",
    icon="🧑‍🔬",
    attrs=(
        AttrField("fields", "专业领域", "fields", "text", required=True, searchable=True, max=500, example="心血管内科；介入治疗"),
        AttrField("title_level", "职称级别", "title level", "enum", required=True, choices=TITLE_LEVELS, example="正高级（教授/主任医师/正高工）", filter=Filter("choice")),
        AttrField("title_name", "职称/职务", "title", "str", searchable=True, example="主任医师"),
        *_period_fields("可服务开始", "可服务截止"),
        AttrField("modes", "工作方式", "modes", "multi_enum", required=True, choices=MODES, example="驻点/挂职;远程会诊/咨询", filter=Filter("choice")),
        AttrField("achievements", "主要成果", "achievements", "text", searchable=True, max=2000),
    ),
    fits={"post": _pair},
    rules=Rules(ranges=(Range("available_from", "available_until"),)),
)

POST = KindSpec(
    name="post",
    zh="人才岗位需求",
    en="Post",
    sides=("need",),
    description_zh="医院、园区和企业的人才需求：挂职、驻点、远程指导",
    description_en="posts and expertise wanted: secondments, on-site or remote",
    icon="📋",
    attrs=(
        AttrField("fields", "所需专业", "fields wanted", "text", required=True, searchable=True, max=500, example="心血管内科"),
        AttrField("title_level", "最低职称", "minimum title", "enum", choices=TITLE_LEVELS, example="副高级（副教授/副主任医师/高工）", filter=Filter("choice")),
        *_period_fields("岗位开始", "岗位截止"),
        AttrField("modes", "工作方式", "modes", "multi_enum", required=True, choices=MODES, example="驻点/挂职", filter=Filter("choice")),
        AttrField("headcount", "人数", "headcount", "int", min=1, example="3"),
        AttrField("support", "保障条件", "support offered", "text", searchable=True, max=1000),
    ),
    # matches experts: the pair is declared on EXPERT
    rules=Rules(ranges=(Range("available_from", "available_until"),)),
)

