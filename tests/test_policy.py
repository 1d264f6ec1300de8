"""The policy rule engine (rules as data) and the 免申即享 list."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import ORGS, load
from test_kinds_resources import row

from tongxin.core import access as acc
from tongxin.core import policy as P
from tongxin.services import Exchange
from tongxin.services.policy import eligible, evaluate_all
from tongxin.storage import resources_repo as rr

RULES = "region in 120000; industry in C,I65; org_type in enterprise; age_years <= 5; employees <= 300; certifications has 高新技术企业"


def test_parse_and_explain_each_condition() -> None:
    conds = P.parse_rules(RULES)
    assert [c.field for c in conds] == ["region", "industry", "org_type", "age_years", "employees", "certifications"]
    facts = P.facts_of("enterprise", "120114", "C37", {"age_years": 3.2, "employees": 120, "certifications": ["高新技术企业"]})
    res = P.evaluate(conds, facts)
    assert P.qualifies(res)
    assert res[0].zh == "地区 属于 天津市：天津市武清区，满足"
    assert res[1].zh.endswith("C37 铁路、船舶、航空航天和其他运输设备制造业，满足")
    failed = P.evaluate(conds, {**facts, "employees": 500})
    assert not P.qualifies(failed) and failed[4].met is False and failed[4].zh == "员工人数 <= 300：500，不满足"
    unknown = P.evaluate(conds, {k: v for k, v in facts.items() if k != "certifications"})
    assert unknown[5].met is None and "缺少资质认定信息" in unknown[5].zh and not P.qualifies(unknown)


def test_chinese_aliases_and_regions() -> None:
    (c,) = P.parse_rules("地区 属于 雄安新区")
    assert c.field == "region" and c.values == ("133100",)
    assert P.region_within("110108", "110000") and P.region_within("130102", "130100") and not P.region_within("120101", "110000")


@pytest.mark.parametrize("text, zh", [
    ("size < 3", "条件字段 ‘size’ 无效，可选：region, industry, org_type, age_years, employees, revenue, rd_spending, certifications"),
    ("employees in 3", "字段 employees 不能用运算符 in，可用：= != <= >= < >"),
    ("employees <= 很多", "字段 employees 的值应为数字，实际为 ‘很多’"),
    ("region in 999999", "地区 ‘999999’ 不是有效的 GB/T 2260 代码"),
    ("org_type in company", "机构类型 ‘company’ 无效，可选：university, research_institute, enterprise, park, government, financial_institution, hospital, school, association"),
    ("没有运算符", "条件 ‘没有运算符’ 无法识别，应为“字段 运算符 值”，如 employees <= 300"),
])
def test_rule_errors_name_the_fix(text: str, zh: str) -> None:
    with pytest.raises(P.RuleError) as e:
        P.parse_rules(text)
    assert e.value.message.zh == zh


def test_eligible_policies_for_an_organisation(exchange: Exchange) -> None:
    pol = [
        row("PL-TJ", "policy", "天津高企奖励", "天津高新技术企业奖励。", "高企", "ORG-HOSP", "120000", "S92", issuing_body="天津市科学技术局",
            benefit_type="subsidy", benefit="一次性奖励 20 万元", apply_mode="auto", eligibility=RULES),
        row("PL-HE", "policy", "河北研发后补助", "河北科技型中小企业后补助。", "后补助", "ORG-SJZ", "130000", "S92", issuing_body="河北省科学技术厅",
            benefit_type="subsidy", benefit="按研发增量 10% 补助", eligibility="region in 130000"),
        row("PL-OLD", "policy", "过期政策", "已过期。", "过期", "ORG-HOSP", "120000", "S92", issuing_body="天津", benefit_type="other",
            benefit="无", eligibility="region in 120000", valid_until="2024-12-31", valid_from="2024-01-01"),
    ]
    load(exchange, ORGS, pol)
    with exchange.db.transaction() as s:
        wq = rr.resolve_org(s, "ORG-WQ").id
        rr.set_facts(s, wq, dt.date(2022, 5, 1), 120, 8000.0, ["高新技术企业"])
    today = dt.date(2026, 6, 1)
    name, rows = eligible(exchange, "ORG-WQ", today)
    assert name == "交控技术装备有限公司" and [e.policy.external_id for e in rows] == ["PL-TJ"]
    assert all(r.met for r in rows[0].results) and len(rows[0].results) == 6
    _, every = evaluate_all(exchange, "ORG-WQ", today, acc.SYSTEM)  # staff see the figures
    assert [e.policy.external_id for e in every] == ["PL-TJ", "PL-HE"]  # expired never shown
    assert every[1].failed[0].zh == "地区 属于 河北省：天津市武清区，不满足"
    # the same organisation, older than five years: no longer qualifies, and the page says why
    with exchange.db.transaction() as s:
        rr.set_facts(s, wq, dt.date(2015, 5, 1), 120, 8000.0, ["高新技术企业"])
    assert eligible(exchange, "ORG-WQ", today)[1] == []


def test_new_policy_notifies_qualifying_organisations(exchange: Exchange) -> None:
    from tongxin.services.policy import notify_qualifying
    from tongxin.storage import accounts_repo as AR

    ids = load(exchange, ORGS, [row("PL-HE2", "policy", "河北研发后补助", "河北科技型中小企业后补助。", "后补助", "ORG-HOSP", "120000", "S92",
                                    issuing_body="河北省科学技术厅", benefit_type="subsidy", benefit="按研发增量 10% 补助",
                                    eligibility="region in 130000")])
    with exchange.db.transaction(write=False) as s:
        sjz = rr.resolve_org(s, "ORG-SJZ").id  # Shijiazhuang: the only Hebei organisation in the fixtures
        wq = rr.resolve_org(s, "ORG-WQ").id
    notified = notify_qualifying(exchange, ids["PL-HE2"], dt.date(2026, 6, 1))
    assert notified == [sjz]
    with exchange.db.transaction(write=False) as s:
        assert "河北研发后补助" in AR.notifications(s, sjz)[0].text_zh
        assert AR.notifications(s, wq) == []


def test_private_figures_only_for_own_people_and_staff(exchange: Exchange) -> None:
    """Headcount, revenue, age and certifications show as values only to the organisation's own
    people and staff; everyone else sees met / not met per condition."""
    rules = "employees <= 500; revenue >= 1000; certifications has 高新技术企业; age_years <= 9"
    load(exchange, ORGS, [row("PL-X", "policy", "天津研发奖励", "奖励。", "奖励", "ORG-HOSP", "120000", "S92", issuing_body="天津市科学技术局",
                              benefit_type="subsidy", benefit="奖励 10 万元", eligibility=rules)])
    with exchange.db.transaction() as s:
        wq, tib = rr.resolve_org(s, "ORG-WQ").id, rr.resolve_org(s, "ORG-TIB").id
        rr.set_facts(s, wq, dt.date(2022, 5, 1), 87, 8123.0, ["高新技术企业"])
    today = dt.date(2026, 6, 1)

    def texts(viewer: acc.Viewer) -> str:
        _, rows = evaluate_all(exchange, "ORG-WQ", today, viewer)
        return " ".join(r.zh + r.en for e in rows for r in e.results)

    other = acc.Viewer(org_id=tib, org_verified=True, role="org_admin", user_id=9)
    for v in (acc.VISITOR, other, acc.Viewer(user_id=8, role="user")):
        t = texts(v)
        assert "87" not in t and "8123" not in t and "4.08" not in t and "：满足" in t and ": met" in t
    own = texts(acc.Viewer(org_id=wq, org_verified=True, role="member", user_id=7))
    assert "员工人数 <= 500：87，满足" in own and "8123" in own
    assert "8123" in texts(acc.Viewer(role="operator", user_id=6))
