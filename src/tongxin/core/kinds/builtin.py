"""The built-in kinds. Each is one declaration; later kinds are added the same way."""

from __future__ import annotations

from ..fields import PATENT_STATUSES, AttrField, Choice, Filter, Range, Rules  # noqa: F401
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
                  help_zh="1 基本原理 … 9 实际运行验证", help_en="1 basic principles … 9 proven in operation", example="6", filter=Filter("at_least", "trl", "技术成熟度不低于", "TRL at least")),
        AttrField("patents", "专利", "patents", "patents",
                  help_zh="专利号(状态)，多个用 ; 分隔", help_en="number(status), separated by ;", example="CN202310123456.6(granted)"),
        AttrField("transfer_modes", "转化方式", "transfer modes", "multi_enum", required=True, choices=TRANSFER_MODES,
                  help_zh="可多选，用 ; 分隔", help_en="one or more, separated by ;", example="许可;合作开发", filter=Filter("choice")),
        AttrField("price_min", "意向价格下限", "asking price from", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="100", filter=Filter("at_most", "budget", "您的预算", "your budget")),
        AttrField("price_max", "意向价格上限", "asking price to", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="300"),
        AttrField("team", "研发团队", "team", "text", searchable=True, max=1000),
        AttrField("contact", "联系方式", "contact", "str"),
    ),
    fits={"scenario": fitrules.technology_vs_scenario},
    fit_bounds={"scenario": fitrules.TECH_SCENARIO_BOUNDS},
    rules=Rules(ranges=(Range("price_min", "price_max"),)),
    roles=frozenset({"contract_subject", "headline_offer"}),
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
        AttrField("problem", "待解决问题", "problem", "text", searchable=True, max=2000),
        AttrField("expected_outcome", "预期目标", "expected outcome", "text", searchable=True, max=2000),
        AttrField("required_trl", "最低技术成熟度", "required TRL", "int", min=1, max=9, example="6", filter=Filter("at_most", "trl", "可提供的技术成熟度", "TRL you can offer")),
        AttrField("budget_min", "预算下限", "budget from", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="50", filter=Filter("at_least", "budget", "预算不低于", "budget at least")),
        AttrField("budget_max", "预算上限", "budget to", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="200", filter=Filter("at_least", "budget", "预算不低于", "budget at least")),
        AttrField("deadline", "截止日期", "deadline", "date", example="2026-12-31"),
        AttrField("site", "场景地点", "site", "str", searchable=True),
    ),
    # matches technologies: the pair is declared on TECHNOLOGY (fits)
    roles=frozenset({"headline_need"}),
    rules=Rules(ranges=(Range("budget_min", "budget_max"),)),
    icon="📌",
)

SPECS: tuple[KindSpec, ...] = (TECHNOLOGY, SCENARIO, *RESOURCE_SPECS)
