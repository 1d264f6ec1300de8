"""Deal pipeline: stage rules, who sees a deal, events, financial services, agreements, reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import load

from tongxin.core import deals as D
from tongxin.core.access import SYSTEM, Viewer
from tongxin.core.errors import Conflict, NotFound, ValidationError
from tongxin.services import Exchange
from tongxin.services import deals as S
from tongxin.storage import deals_repo as R

UTC = dt.UTC


def test_stage_rules() -> None:
    assert D.allowed_next("contact") == ("confirm", "terminated")
    assert D.allowed_next("negotiation") == ("proposal", "signed", "terminated")
    assert D.allowed_next("signed") == ()
    D.check_transition("proposal", "negotiation")
    D.check_transition("proposal", "confirm")  # talks reopened
    with pytest.raises(Conflict) as e:
        D.check_transition("contact", "signed")
    assert e.value.message.zh == "不能从‘初步接洽’直接变更为‘签约’，可变更为：需求确认、终止"
    assert e.value.message.en == "cannot move from 'first contact' to 'signed'; allowed: needs confirmed, terminated"
    with pytest.raises(Conflict) as e:
        D.check_transition("terminated", "contact")
    assert e.value.message.zh == "洽谈已终止，不能再变更阶段"
    assert D.find_stage("方案/报价") == "proposal" and D.find_stage("signed") == "signed" and D.find_stage("x") is None


def test_idle_and_expiry_reminders() -> None:
    today = dt.date(2025, 12, 1)
    deals = [D.DealState(1, "甲", "proposal", dt.datetime(2025, 11, 1, tzinfo=UTC)),
             D.DealState(2, "乙", "confirm", dt.datetime(2025, 11, 25, tzinfo=UTC)),
             D.DealState(3, "丙", "signed", dt.datetime(2025, 1, 1, tzinfo=UTC))]
    rs = D.idle_reminders(deals, today, idle_days=14)
    assert [(r.ref_id, r.days) for r in rs] == [(1, 30)]
    assert rs[0].message.zh == "洽谈“甲”已 30 天没有进展（当前阶段：方案/报价），请跟进"
    assert D.idle_reminders(deals, today, idle_days=3)[1].ref_id == 2
    ags = [D.AgreementState(7, "专利实施许可协议", dt.date(2025, 12, 20), 30), D.AgreementState(8, "保密协议", dt.date(2026, 6, 1), 30),
           D.AgreementState(9, "过期", dt.date(2025, 11, 1), 30)]
    ex = D.expiry_reminders(ags, today)
    assert [(r.ref_id, r.days) for r in ex] == [(7, 19)]
    assert ex[0].message.en == "agreement '专利实施许可协议' expires on 2025-12-20 (19 days left)"


def test_agreement_and_finance_rules() -> None:
    with pytest.raises(ValidationError) as e:
        D.validate_agreement("保密协议", "NDA", dt.date(2025, 5, 1), dt.date(2025, 4, 1))
    assert [x.field for x in e.value.errors] == ["expires_on"]
    assert e.value.errors[0].message.zh == "到期日 2025-04-01 早于生效日 2025-05-01，请更正"
    assert D.validate_agreement("licence", "许可", dt.date(2025, 5, 1), None).agreement_type == "licence"
    D.check_finance_transition("offered", "审核中")
    with pytest.raises(Conflict):
        D.check_finance_transition("disbursed", "offered")
    assert D.check_finance_kind("银行贷款") == "loan"


def _orgs(ex: Exchange) -> dict[str, int]:
    load(ex)
    with ex.db.transaction(write=False) as s:
        return {o.external_id: o.id for o in R.all_orgs(s) if o.external_id}


def test_deal_from_contact_through_to_signing(exchange: Exchange) -> None:
    o = _orgs(exchange)
    ids = exchange.ids_by_external(["T-CBTC", "S-WQ"])
    seller, buyer = Viewer(org_id=o["ORG-BJTU"], org_verified=True, role="member"), Viewer(org_id=o["ORG-WQ"], org_verified=True, role="member")
    t0 = dt.datetime(2025, 3, 1, 9, tzinfo=UTC)
    with exchange.db.transaction() as s:
        did = S.open_deal_from_contact(s, 41, o["ORG-BJTU"], o["ORG-WQ"], [ids["T-CBTC"], ids["S-WQ"]], actor_user_id=5, at=t0)
        assert S.open_deal_from_contact(s, 41, o["ORG-BJTU"], o["ORG-WQ"], [ids["T-CBTC"]], actor_user_id=5) == did  # idempotent
    steps = [("confirm", seller), ("proposal", buyer), ("confirm", buyer), ("proposal", seller), ("negotiation", buyer), ("signed", seller)]
    for i, (stage, who) in enumerate(steps, start=1):
        with exchange.db.transaction() as s:
            S.move_deal(s, did, stage, who, actor_user_id=100 + i, note=f"第{i}步", at=t0 + dt.timedelta(days=i))
    with exchange.db.transaction() as s:
        fid = S.attach_finance(s, did, "guarantee", SYSTEM, provider_org_id=None, amount_wan=500, note="信用担保")
        S.set_finance_status(s, fid, "reviewing", buyer)
        S.register_agreement(s, "development", "技术开发合同", o["ORG-BJTU"], o["ORG-WQ"], dt.date(2025, 3, 8), dt.date(2027, 3, 7), seller, deal_id=did)
    with exchange.db.transaction(write=False) as s:
        x = S.deal_detail(s, did, buyer)
        assert x.deal.stage == "signed" and x.deal.contact_request_id == 41 and x.deal.origin == "contact"
        assert x.deal.title == "交控技术装备有限公司 × 北京交通大学：基于通信的列车控制系统（CBTC）"
        assert [(e.from_stage, e.to_stage) for e in x.events] == [(None, "contact"), ("contact", "confirm"), ("confirm", "proposal"),
                                                                  ("proposal", "confirm"), ("confirm", "proposal"), ("proposal", "negotiation"),
                                                                  ("negotiation", "signed")]
        assert [e.actor_user_id for e in x.events] == [5, 101, 102, 103, 104, 105, 106]
        assert x.events[2].actor_org_id == o["ORG-WQ"] and x.events[-1].note == "第6步"
        assert R.aware(x.events[-1].at) == t0 + dt.timedelta(days=6)
        assert R.aware(x.deal.closed_at) == t0 + dt.timedelta(days=6)
        assert [(f.kind, f.status, f.amount_yuan) for f in x.finance] == [("guarantee", "reviewing", 5_000_000)]
        assert [a.title for a in x.agreements] == ["技术开发合同"] and x.next_stages == ()
        assert [d.id for d in S.deals_for(s, seller)] == [did]
    with exchange.db.transaction() as s, pytest.raises(Conflict):
        S.move_deal(s, did, "negotiation", seller)


def test_only_parties_and_staff_see_a_deal(exchange: Exchange) -> None:
    o = _orgs(exchange)
    with exchange.db.transaction() as s:
        did = S.open_deal_from_contact(s, 7, o["ORG-TIB"], o["ORG-SJZ"], [], actor_user_id=None)
    other = Viewer(org_id=o["ORG-HOSP"], org_verified=True, role="member")
    with exchange.db.transaction() as s:
        with pytest.raises(NotFound):
            S.deal_detail(s, did, other)
        with pytest.raises(NotFound):
            S.move_deal(s, did, "confirm", other)
        assert S.deals_for(s, other) == [] and [d.id for d in S.deals_for(s, SYSTEM)] == [did]
        with pytest.raises(Conflict):
            S.open_deal_from_contact(s, 8, o["ORG-TIB"], o["ORG-TIB"], [], actor_user_id=None)


def test_reminders_from_the_database(exchange: Exchange) -> None:
    o = _orgs(exchange)
    old = dt.datetime(2025, 1, 1, tzinfo=UTC)
    with exchange.db.transaction() as s:
        a = S.open_deal(s, o["ORG-BJTU"], o["ORG-WQ"], [], None, at=old)
        b = S.open_deal(s, o["ORG-TIB"], o["ORG-SJZ"], [], None, at=dt.datetime(2025, 1, 25, tzinfo=UTC))
        S.register_agreement(s, "nda", "保密协议", o["ORG-BJTU"], o["ORG-WQ"], dt.date(2024, 2, 1), dt.date(2025, 2, 10), SYSTEM, deal_id=a)
    with exchange.db.transaction(write=False) as s:
        rs = S.reminders(s, dt.date(2025, 2, 1), idle_days=14)
    assert [(r.kind, r.ref_id, r.days) for r in rs] == [("idle_deal", a, 31), ("agreement_expiry", 1, 9)]
    assert b not in [r.ref_id for r in rs if r.kind == "idle_deal"]
