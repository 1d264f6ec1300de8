"""The built-in kinds. Each is one declaration; later kinds are added the same way."""

from __future__ import annotations

from ..fields import PATENT_STATUSES, AttrField, Choice, Range, Rules  # noqa: F401
from ..matching import fit as fitrules
from .registry import KindSpec
from .resources import SPECS as RESOURCE_SPECS

TRANSFER_MODES = (
    Choice("transfer", "转让", "assignment"),
    Choice("license", "许可", "licence"),
    Choice("equity", "作价入股", "equity contribution"),
    Choice("co_develop", "合作开发", "joint development"),
    Choice("service", "技术服务", "technical service"),
)

TECHNOLOGY = KindSpec(
    name="technology",
    zh="科技成果",
    en="Technology",
    sides=("offer",),
    description_zh="高校、院所和企业可转化的科技成果、专利技术",
    description_en="research results and patented technologies ready for transfer",
    attrs=(
        AttrField("trl", "技术成熟度(TRL)", "TRL", "int", required=True, min=1, max=9,
                  help_zh="1 基本原理 … 9 实际运行验证", help_en="1 basic principles … 9 proven in operation", example="6"),
        AttrField("patents", "专利", "patents", "patents",
                  help_zh="专利号(状态)，多个用 ; 分隔", help_en="number(status), separated by ;", example="CN202310123456.6(granted)"),
        AttrField("transfer_modes", "转化方式", "transfer modes", "multi_enum", required=True, choices=TRANSFER_MODES,
                  help_zh="可多选，用 ; 分隔", help_en="one or more, separated by ;", example="许可;合作开发"),
        AttrField("price_min", "意向价格下限", "asking price from", "float", min=0, unit_zh="万元", example="100"),
        AttrField("price_max", "意向价格上限", "asking price to", "float", min=0, unit_zh="万元", example="300"),
        AttrField("team", "研发团队", "team", "text", search_weight=0.5, max=1000),
        AttrField("contact", "联系方式", "contact", "str"),
    ),
    matches_with=("scenario",),
    rules=Rules(ranges=(Range("price_min", "price_max"),)),
    fit=fitrules.technology_vs_scenario,
    icon="🔨",
)

SCENARIO = KindSpec(
    name="scenario",
    zh="场景需求",
    en="Scenario",
    sides=("need",),
    description_zh="企业、园区、医院和政府部门提出的应用场景与技术需求",
    description_en="application scenarios and technical needs",
    attrs=(
        AttrField("problem", "待解决问题", "problem", "text", search_weight=1.0, max=2000),
        AttrField("expected_outcome", "预期目标", "expected outcome", "text", search_weight=0.7, max=2000),
        AttrField("required_trl", "最低技术成熟度", "required TRL", "int", min=1, max=9, example="6"),
        AttrField("budget_min", "预算下限", "budget from", "float", min=0, unit_zh="万元", example="50"),
        AttrField("budget_max", "预算上限", "budget to", "float", min=0, unit_zh="万元", example="200"),
        AttrField("deadline", "截止日期", "deadline", "date", example="2026-12-31"),
        AttrField("site", "场景地点", "site", "str", search_weight=0.3),
    ),
    matches_with=("technology",),
    rules=Rules(ranges=(Range("budget_min", "budget_max"),)),
    fit=fitrules.scenario_vs_technology,
    icon="📌",
)

SPECS: tuple[KindSpec, ...] = (TECHNOLOGY, SCENARIO, *RESOURCE_SPECS)
