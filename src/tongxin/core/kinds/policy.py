"""Policies (政策): issuing body, region, validity, benefit and eligibility rules as data (core/policy.py)."""

from __future__ import annotations

from typing import Any

from .. import policy as engine
from ..errors import Message
from ..fields import AttrField, Choice, Filter, Rules
from ..listing import Listing
from ..matching.explain import FitItem
from ..matching.fit import MatchContext
from .registry import KindSpec

BENEFIT_TYPES = (
    Choice("subsidy", "资金补贴", "subsidy"),
    Choice("tax", "税收优惠", "tax relief"),
    Choice("voucher", "创新券", "innovation voucher"),
    Choice("interest", "贷款贴息", "loan interest subsidy"),
    Choice("talent", "人才支持", "talent support"),
    Choice("other", "其他", "other"),
)
APPLY_MODES = (Choice("auto", "免申即享", "no application needed"), Choice("apply", "依申请", "on application"))


def _rules_parse(attrs: dict[str, Any]) -> list[tuple[str, Message]]:
    try:
        engine.parse_rules(attrs.get("eligibility"))
    except engine.RuleError as e:
        return [("eligibility", Message(f"‘资格条件’{e.message.zh}", f"eligibility: {e.message.en}"))]
    return []


_LISTING_FACTS = ("region", "industry")  # facts a counterpart listing carries on its own


def _listing_facts(x: Listing) -> dict[str, Any]:
    return {"region": x.region, "industry": x.industry}


def policy_results(policy: Listing, facts: dict[str, Any]) -> list[engine.ConditionResult]:
    return engine.evaluate(engine.parse_rules(policy.attrs.get("eligibility")), facts)


def policy_applies(policy: Listing, other: Listing, ctx: MatchContext) -> bool:
    """Hard rule: no condition the counterpart listing can answer (region, industry) is failed."""
    return all(r.met is not False for r in policy_results(policy, _listing_facts(other)) if r.condition.field in _LISTING_FACTS)


def policy_vs_need(policy: Listing, need: Listing, ctx: MatchContext) -> list[FitItem]:
    items = []
    for r in policy_results(policy, _listing_facts(need)):
        items.append(FitItem(f"rule:{r.condition.field}", r.zh, r.en, r.met, 3.0 if r.met else 0.0))
    if policy.attrs.get("apply_mode") == "auto":
        items.append(FitItem("apply_mode", "免申即享：符合条件自动兑现", "granted automatically to those who qualify", None, 0.0))
    return items


POLICY = KindSpec(
    name="policy",
    zh="惠企政策",
    en="Policy",
    sides=("offer",),
    description_zh="政府部门发布的惠企政策，资格条件以规则表达，符合条件的机构自动可见（免申即享）",
    description_en="support policies whose eligibility is expressed as rules; qualifying organisations see them automatically",
    icon="📜",
    attrs=(
        AttrField("issuing_body", "发布机关", "issuing body", "str", required=True, searchable=True, example="天津市科学技术局"),
        AttrField("policy_no", "文号", "document number", "str", example="津科规〔2025〕3号"),
        AttrField("benefit_type", "支持方式", "benefit type", "enum", required=True, choices=BENEFIT_TYPES, example="资金补贴", filter=Filter("choice")),
        AttrField("benefit", "支持内容", "benefit", "text", required=True, searchable=True, max=2000, example="按研发投入的 10% 给予补助，最高 100 万元"),
        AttrField("amount_max", "最高支持额", "maximum amount", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="100", filter=Filter("at_least", "amount", "最高支持额不低于", "maximum amount at least")),
        AttrField("apply_mode", "兑现方式", "how granted", "enum", choices=APPLY_MODES, example="免申即享", filter=Filter("choice")),
        AttrField("eligibility", "资格条件", "eligibility rules", "text", max=2000,
                  help_zh="每行或用 ; 分隔一条：字段 运算符 值，如 地区 属于 120000; 员工人数 <= 300; 成立年限 <= 5",
                  help_en="one condition per line or ;-separated: field operator value, e.g. region in 120000; employees <= 300",
                  example="region in 120000; org_type in enterprise; age_years <= 5"),
    ),
    fits={"financing_need": policy_vs_need},
    hards={"financing_need": policy_applies},
    rules=Rules(extra=(_rules_parse,)),
    roles=frozenset({"eligibility_rules"}),
)
