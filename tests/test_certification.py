"""Certification marks: verification answers with the reason; retail needs see licensed producers only."""

from __future__ import annotations

import datetime as dt

from factories import ORGS, load
from test_kinds_resources import VALID, row

from tongxin.core.certification import Licence, Mark, verify
from tongxin.core.matching.fit import MatchContext
from tongxin.services import Exchange
from tongxin.services.certification import licensed_matches, licensees, verify_licence
from tongxin.storage import resources_repo as rr

XZD = Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="天津市小站稻产业协会", mark_type="gi_certification", id=1)


def lic(org: int, no: str, a: str, b: str, revoked: bool = False) -> Licence:
    return Licence("XZD-GI", org, f"机构{org}", no, dt.date.fromisoformat(a), dt.date.fromisoformat(b), "小站稻大米", revoked)


def test_verify_reasons() -> None:
    ls = [lic(1, "XZD-2025-001", "2025-01-01", "2027-12-31"), lic(2, "XZD-2022-002", "2022-01-01", "2024-12-31"),
          lic(3, "XZD-2025-003", "2025-01-01", "2027-12-31", revoked=True), lic(4, "XZD-2028-004", "2028-01-01", "2030-12-31")]
    day = dt.date(2026, 5, 1)
    v = verify(XZD, ls, 1, day)
    assert v.licensed and v.reason.zh == "机构1 持有“小站稻地理标志证明商标”使用许可 XZD-2025-001，有效期 2025-01-01–2027-12-31"
    assert verify(XZD, ls, 2, day).reason.zh == "许可 XZD-2022-002 已于 2024-12-31 到期"
    assert verify(XZD, ls, 3, day).reason.zh == "许可 XZD-2025-003 已被撤销"
    assert verify(XZD, ls, 4, day).reason.zh == "许可 XZD-2028-004 自 2028-01-01 起生效，2026-05-01 尚未生效"
    assert verify(XZD, ls, 5, day).reason.zh == "该机构未获得“小站稻地理标志证明商标”使用许可"
    assert verify(XZD, ls, 1, dt.date(2027, 12, 31)).licensed and not verify(XZD, ls, 1, dt.date(2028, 1, 1)).licensed


def test_registry_and_licensed_matches(exchange: Exchange) -> None:
    other = row("CP-2", "certified_product", "小站稻大米（未获许可）", "自称小站稻的大米。", "小站稻;大米", "ORG-SJZ", "130100", "A01",
                mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=800, price=9)
    ids = load(exchange, ORGS, [VALID["certified_product"][0], other, VALID["retail_need"][0]])
    with exchange.db.transaction() as s:
        mid = rr.upsert_mark(s, XZD)
        rr.add_licence(s, mid, rr.resolve_org(s, "ORG-WQ").id, "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2027, 12, 31), "小站稻大米")
    day = dt.date(2026, 5, 1)
    assert verify_licence(exchange, "XZD-GI", "ORG-WQ", day).licensed
    assert verify_licence(exchange, "小站稻地理标志证明商标", "交控技术装备有限公司", day).licensed  # by name too
    assert not verify_licence(exchange, "XZD-GI", "ORG-SJZ", day).licensed
    m, ls = licensees(exchange, "XZD-GI", day)
    assert m.code == "XZD-GI" and [x.licence_no for x in ls] == ["XZD-2025-001"]
    res = licensed_matches(exchange, ids["RN-1"], ctx=MatchContext(today=day))
    assert [x.listing.external_id for x in res] == ["CP-1"]  # the unlicensed producer is never shown
    assert any(f.key == "licence" and "XZD-2025-001" in f.zh for f in res[0].explanation.fit)
    assert licensed_matches(exchange, ids["RN-1"], ctx=MatchContext(today=dt.date(2028, 6, 1))) == []  # licence expired
