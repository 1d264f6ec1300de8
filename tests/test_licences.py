"""The mark licence registry through its service: issue, renew, suspend, reinstate, revoke with the
history kept; who may (operators and the mark owner's organisation); public verification by number,
credit code or part of a name on a day; QR codes; the all-or-nothing XLSX import; expiry reminders;
unlicensed claims flagged. Runs on SQLite and, when TONGXIN_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from factories import ORGS, load
from test_kinds_resources import VALID, row

from tongxin.core import access as acc
from tongxin.core import credit_code
from tongxin.core.certification import Mark
from tongxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from tongxin.fileio.licences import LICENCE_COLUMNS, write_licence_template
from tongxin.services import Exchange
from tongxin.services import licences as L
from tongxin.storage import accounts_repo as AR
from tongxin.storage import resources_repo as rr

DAY = dt.date(2026, 5, 1)
ASSOC = {"external_id": "ORG-XZD", "name": "天津市小站稻产业协会", "credit_code": credit_code.make("51120112MJ0000001"),
         "org_type": "association", "region": "120112", "industry": "S95"}
OP = acc.Viewer(role="operator", user_id=9001)


def _setup(ex: Exchange) -> dict[str, Any]:
    fake = row("CP-FAKE", "certified_product", "小站稻大米（自称）", "自称持小站稻地理标志证明商标的大米。", "小站稻;大米", "ORG-SJZ", "130100", "A01",
               mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=900, price=11)
    load(ex, [*ORGS, ASSOC], [VALID["certified_product"][0], fake])
    with ex.db.transaction() as s:
        orgs = {o: rr.resolve_org(s, o).id for o in ("ORG-WQ", "ORG-SJZ", "ORG-XZD", "ORG-BJTU")}
        rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder=ASSOC["name"], mark_type="gi_certification"))
    L.issue(ex, OP, "XZD-GI", "ORG-WQ", "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2027, 12, 31), "小站稻大米", today=DAY)
    return {"orgs": orgs, "holder": acc.Viewer(org_id=orgs["ORG-XZD"], org_verified=True, role="org_admin", user_id=9002),
            "stranger": acc.Viewer(org_id=orgs["ORG-SJZ"], org_verified=True, role="org_admin", user_id=9003)}


def _count_licences(ex: Exchange) -> int:
    with ex.db.transaction(write=False) as s:
        return len(rr.find_licences(s, limit=10_000))


def test_issue_renew_suspend_reinstate_revoke_with_history(exchange: Exchange) -> None:
    w = _setup(exchange)
    v = L.verify_public(exchange, licence_no="xzd-2025-001", day=DAY)[0]
    assert (v.valid, v.status, v.licence.org_name, v.mark.code) == (True, "active", "交控技术装备有限公司", "XZD-GI")
    # the mark owner's organisation renews; the end date must move later
    with pytest.raises(ValidationError) as e:
        L.renew(exchange, w["holder"], "XZD-2025-001", dt.date(2026, 12, 31), today=DAY)
    assert e.value.errors[0].field == "valid_until" and "2027-12-31" in e.value.errors[0].message.zh
    v = L.renew(exchange, w["holder"], "XZD-2025-001", dt.date(2029, 12, 31), "年度复核通过", today=DAY)
    assert v.licence.valid_until == dt.date(2029, 12, 31)
    with pytest.raises(ValidationError) as e:
        L.suspend(exchange, OP, "XZD-2025-001", "  ", today=DAY)  # a reason is required
    assert e.value.errors[0].field == "reason"
    v = L.suspend(exchange, OP, "XZD-2025-001", "抽检不合格", today=DAY)
    assert (v.valid, v.status, v.licence.reason) == (False, "suspended", "抽检不合格")
    with pytest.raises(Conflict):
        L.suspend(exchange, OP, "XZD-2025-001", "再次", today=DAY)
    assert L.reinstate(exchange, OP, "XZD-2025-001", "整改完成", today=DAY).valid
    v = L.revoke(exchange, OP, "XZD-2025-001", "转让许可", today=DAY)
    assert (v.valid, v.status) == (False, "revoked")
    with pytest.raises(Conflict):
        L.renew(exchange, OP, "XZD-2025-001", dt.date(2031, 1, 1), today=DAY)
    lic, events = L.history(exchange, w["holder"], "XZD-2025-001", today=DAY)
    assert [e.action for e in events] == ["issue", "renew", "suspend", "reinstate", "revoke"]
    assert [e.status for e in events] == ["active", "active", "suspended", "active", "revoked"]
    assert events[2].reason == "抽检不合格" and events[1].valid_until == dt.date(2029, 12, 31) and events[0].actor == "user:9001"
    with exchange.db.transaction(write=False) as s:
        texts = [n.text_zh for n in AR.notifications(s, w["orgs"]["ORG-WQ"])]
    assert any("已撤销（转让许可）" in t for t in texts) and any("已暂停（抽检不合格）" in t for t in texts)


def test_who_may_manage(exchange: Exchange) -> None:
    w = _setup(exchange)
    for who in (w["stranger"], acc.VISITOR, acc.Viewer(org_id=w["orgs"]["ORG-XZD"], org_verified=True, role="user", user_id=5)):
        with pytest.raises(Forbidden):
            L.issue(exchange, who, "XZD-GI", "ORG-SJZ", "XZD-2026-777", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "小站稻大米")
        with pytest.raises(Forbidden):
            L.revoke(exchange, who, "XZD-2025-001", "无权")
        with pytest.raises(Forbidden):
            L.history(exchange, who, "XZD-2025-001")
        with pytest.raises(Forbidden):
            L.list_licences(exchange, who)
    assert _count_licences(exchange) == 1
    assert [x.licence.licence_no for x in L.list_licences(exchange, w["holder"], today=DAY)] == ["XZD-2025-001"]
    v = L.issue(exchange, w["holder"], "XZD-GI", credit_code.make("91130100MA0CXK1L2"), "xzd-2026-002", dt.date(2026, 1, 1),
                dt.date(2026, 12, 31), "小站稻大米（5kg）", today=DAY)
    assert v.licence.licence_no == "XZD-2026-002" and v.licence.org_name == "石家庄药业集团有限公司"


def test_bad_input_writes_nothing(exchange: Exchange) -> None:
    _setup(exchange)
    cases = [
        (("NOPE", "ORG-SJZ", "XZD-2026-9", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "米"), "mark"),
        (("XZD-GI", "不存在的公司", "XZD-2026-9", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "米"), "licensee"),
        (("XZD-GI", "ORG-SJZ", "x", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "米"), "licence_no"),
        (("XZD-GI", "ORG-SJZ", "XZD-2026-9", dt.date(2026, 1, 1), dt.date(2025, 12, 31), "米"), "valid_until"),
        (("XZD-GI", "ORG-SJZ", "XZD-2026-9", None, dt.date(2025, 12, 31), "米"), "valid_from"),
        (("XZD-GI", "ORG-SJZ", "XZD-2026-9", dt.date(2026, 1, 1), dt.date(2026, 12, 31), " "), "products"),
    ]
    for args, fld in cases:
        with pytest.raises(ValidationError) as e:
            L.issue(exchange, OP, *args)
        assert fld in [x.field for x in e.value.errors], (fld, e.value.errors)
        assert all(x.message.zh and x.message.en for x in e.value.errors)
    with pytest.raises(Conflict):
        L.issue(exchange, OP, "XZD-GI", "ORG-SJZ", "XZD-2025-001", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "米")
    with pytest.raises(NotFound):
        L.revoke(exchange, OP, "XZD-9999-999", "不存在")
    assert _count_licences(exchange) == 1


def test_public_verification(exchange: Exchange) -> None:
    _setup(exchange)
    L.issue(exchange, OP, "XZD-GI", "ORG-BJTU", "XZD-2022-007", dt.date(2022, 1, 1), dt.date(2024, 12, 31), "小站稻大米")
    [v] = L.verify_public(exchange, credit_code=ORGS[1]["credit_code"], day=DAY)
    assert v.as_dict() == {"valid": True, "status": "active", "mark": "XZD-GI", "mark_name": "小站稻地理标志证明商标", "licensee": "交控技术装备有限公司",
                           "licence_no": "XZD-2025-001", "valid_from": "2025-01-01", "valid_until": "2027-12-31", "products": "小站稻大米",
                           "date": "2026-05-01", "reason": None}
    assert [x.licence.licence_no for x in L.verify_public(exchange, name="交控", day=DAY)] == ["XZD-2025-001"]
    [old] = L.verify_public(exchange, name="交通大学", day=DAY)
    assert (old.valid, old.status) == (False, "expired")
    assert L.verify_public(exchange, licence_no="XZD-2022-007", day=dt.date(2023, 6, 1))[0].valid  # on a past date
    assert L.verify_public(exchange, licence_no="XZD-2025-001", day=dt.date(2024, 6, 1))[0].status == "not_yet_valid"
    assert L.verify_public(exchange, licence_no="XZD-2025-999", day=DAY) == []  # the made-up number on a bag
    for kw in ({}, {"name": "交"}):
        with pytest.raises(ValidationError):
            L.verify_public(exchange, day=DAY, **kw)
    assert L.verify_public(exchange, name="%_", day=DAY) == []  # LIKE wildcards are literal text


def test_qr_codes_open_the_verification_page(exchange: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(exchange)
    monkeypatch.setenv("TONGXIN_PUBLIC_URL", "https://tx.example.cn/")
    svg = L.qr_code(exchange, "xzd-2025-001", "svg").decode()
    assert svg.startswith("<?xml") and "<svg" in svg
    png = L.qr_code(exchange, "XZD-2025-001", "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert L.verify_url("XZD-2025-001") == "https://tx.example.cn/marks/verify?licence_no=XZD-2025-001"
    import segno

    assert segno.make(L.verify_url("XZD-2025-001"), error="m").svg_data_uri()  # the same payload the licence QR encodes
    with pytest.raises(NotFound):
        L.qr_code(exchange, "XZD-0000-000")
    with pytest.raises(ValidationError):
        L.qr_code(exchange, "XZD-2025-001", "gif")


def _xlsx(tmp_path: Any, rows: list[list[Any]], name: str = "lic.xlsx") -> str:
    path = str(tmp_path / name)
    write_licence_template(path, rows)
    return path


def test_import_all_or_nothing(exchange: Exchange, tmp_path: Any) -> None:
    w = _setup(exchange)
    good = [["XZD-2026-101", "XZD-GI", ORGS[4]["credit_code"], "小站稻大米", "2026-01-01", "2028-12-31"],
            ["XZD-2025-001", "XZD-GI", "交控技术装备有限公司", "小站稻大米、礼盒", dt.date(2025, 1, 1), dt.date(2028, 12, 31)]]
    bad = [*good, ["XZD-2026-102", "XZD-GI", "无此机构", "小站稻大米", "2026-01-01", "2025-12-31"],
           ["XZD-2026-101", "NOPE", ORGS[0]["credit_code"], "", "2026/13/01", "2026-12-31"]]
    with pytest.raises(ValidationError) as e:
        L.import_licences(exchange, OP, _xlsx(tmp_path, bad, "bad.xlsx"))
    got = {(x.row, x.field) for x in e.value.errors}
    assert {(4, "licensee"), (4, "valid_until"), (5, "valid_from"), (5, "products"), (5, "licence_no")} <= got, got
    assert all(x.message.zh and x.message.en for x in e.value.errors)
    assert _count_licences(exchange) == 1  # nothing written
    with pytest.raises(ValidationError) as e:
        L.import_licences(exchange, w["stranger"], _xlsx(tmp_path, good, "good.xlsx"))
    assert {x.field for x in e.value.errors} == {"mark"}
    rep = L.import_licences(exchange, w["holder"], _xlsx(tmp_path, good, "good2.xlsx"))
    assert (rep.created, rep.updated) == (1, 1)
    [v] = L.verify_public(exchange, licence_no="XZD-2025-001", day=DAY)
    assert v.licence.valid_until == dt.date(2028, 12, 31) and v.licence.products == "小站稻大米、礼盒"
    assert [e.action for e in L.history(exchange, OP, "XZD-2026-101")[1]] == ["import"]
    # the template itself: headers "中文 (key)" for every column, plus the example row
    path = str(tmp_path / "template.xlsx")
    write_licence_template(path)
    import openpyxl

    ws = openpyxl.load_workbook(path).worksheets[0]
    assert [c.value for c in ws[1]] == [c.header for c in LICENCE_COLUMNS]
    assert ws.max_row == 2


def test_expiry_reminders_once_per_end_date(exchange: Exchange) -> None:
    w = _setup(exchange)
    L.issue(exchange, OP, "XZD-GI", "ORG-SJZ", "XZD-2026-050", dt.date(2026, 1, 1), dt.date(2026, 6, 15), "小站稻大米")
    assert L.remind_expiring(exchange, DAY, days=60) == ["XZD-2026-050"]
    assert L.remind_expiring(exchange, DAY, days=60) == []  # once
    with exchange.db.transaction(write=False) as s:
        mine = [n.text_zh for n in AR.notifications(s, w["orgs"]["ORG-SJZ"])]
        owner = [n.text_zh for n in AR.notifications(s, w["orgs"]["ORG-XZD"])]
    assert any("将于 2026-06-15 到期" in t for t in mine) and any("XZD-2026-050" in t for t in owner)
    L.renew(exchange, OP, "XZD-2026-050", dt.date(2026, 6, 30))
    assert L.remind_expiring(exchange, DAY, days=60) == ["XZD-2026-050"]  # a new end date: a new reminder


def test_unlicensed_claims_flagged(exchange: Exchange) -> None:
    w = _setup(exchange)
    with pytest.raises(Forbidden):
        L.unlicensed_claims(exchange, w["holder"], DAY)
    claims = L.unlicensed_claims(exchange, OP, DAY)
    assert [c.listing.external_id for c in claims] == ["CP-FAKE"]
    assert claims[0].listing.owner_name == "石家庄药业集团有限公司" and "未获得" in claims[0].reason.zh
    L.suspend(exchange, OP, "XZD-2025-001", "抽检不合格")
    assert sorted(c.listing.external_id for c in L.unlicensed_claims(exchange, OP, DAY)) == ["CP-1", "CP-FAKE"]
