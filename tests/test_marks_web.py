"""The mark licence registry through the real app (session cookie + CSRF, bearer-free): the public
verification page and API (by number, credit code, part of a name, on a day), the QR codes, the
registry pages for operators and the mark owner (issue, renew, suspend, revoke with history, XLSX
import and template, reminders, unlicensed claims); others get 403 and nothing is written.
Runs on SQLite and, when TONGXIN_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import world
from factories import ORGS, load
from fastapi.testclient import TestClient
from test_kinds_resources import VALID, row
from test_licences import ASSOC

from tongxin.core import booking as B
from tongxin.core.certification import Mark
from tongxin.fileio.licences import write_licence_template
from tongxin.services import Exchange
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app

NOW = dt.datetime(2026, 5, 1, 9, 0, tzinfo=B.CST)
CSRF = "CSRFTOKEN"


@pytest.fixture
def site(db_url: str, tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    fake = row("CP-FAKE", "certified_product", "小站稻大米（自称）", "自称持小站稻地理标志证明商标的大米。", "小站稻;大米", "ORG-SJZ", "130100", "A01",
               mark_code="XZD-GI", product_name="小站稻大米", licence_no="XZD-2025-999", annual_output_tonnes=900, price=11)
    load(ex, [*ORGS, ASSOC], [VALID["certified_product"][0], fake])
    app = create_app(ex)
    app.state.booking_clock = lambda: NOW
    accounts = app.state.accounts
    accounts._ph = world.fast_hasher()
    with ex.db.transaction() as s:
        orgs = {o: rr.resolve_org(s, o).id for o in ("ORG-WQ", "ORG-SJZ", "ORG-XZD")}
        mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder=ASSOC["name"], mark_type="gi_certification"))
        rr.add_licence(s, mid, orgs["ORG-WQ"], "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2027, 12, 31), "小站稻大米")
    people: dict[str, dict[str, Any]] = {}
    for who, org, platform, role in (("operator", None, "operator", ""), ("owner", "ORG-XZD", "user", "org_admin"),
                                     ("stranger", "ORG-SJZ", "user", "org_admin")):
        uid = accounts.sign_up(f"{who}@marks.tongxin.cn", world.PASSWORD, f"{who}用户")
        with ex.db.transaction() as s:
            R.get_user(s, uid).role = platform
            if org:
                R.add_membership(s, uid, orgs[org], role)
        people[who] = {"session": accounts.create_session(uid)}
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"c": c, "ex": ex, "people": people, "orgs": orgs}
    ex.close()


def _h(site: dict[str, Any], who: str) -> dict[str, str]:
    cookie = f"tx_csrf={CSRF}"
    if who != "visitor":
        cookie += f"; tx_session={site['people'][who]['session']}"
    return {"Cookie": cookie, "X-CSRF-Token": CSRF}


def _get(site: dict[str, Any], who: str, path: str, **params: Any) -> Any:
    return site["c"].get(path, params=params, headers=_h(site, who), follow_redirects=False)


def _post(site: dict[str, Any], who: str, path: str, **data: Any) -> Any:
    return site["c"].post(path, data={"csrf": CSRF, **data}, headers=_h(site, who), follow_redirects=False)


def _api(site: dict[str, Any], who: str, method: str, path: str, body: Any = None) -> Any:
    return site["c"].request(method, path, json=body, headers=_h(site, who))


def _count(site: dict[str, Any]) -> int:
    with site["ex"].db.transaction(write=False) as s:
        return len(rr.find_licences(s, limit=10_000))


def test_public_verification_page_and_api(site: dict[str, Any]) -> None:
    r = _get(site, "visitor", "/marks/verify", licence_no="XZD-2025-001")
    assert r.status_code == 200 and 'data-status="active"' in r.text and "交控技术装备有限公司" in r.text and "有效" in r.text
    r = _get(site, "visitor", "/marks/verify", licence_no="XZD-2025-999")  # the made-up number on the bag
    assert r.status_code == 200 and 'data-status="not_found"' in r.text and "未找到该许可" in r.text
    r = _get(site, "visitor", "/marks/verify", name="交控", date="2028-06-01")
    assert 'data-status="expired"' in r.text
    assert _get(site, "visitor", "/marks/verify", name="交").status_code == 422
    assert _get(site, "visitor", "/marks/verify", licence_no="X", date="2026-13-01").status_code == 422
    body = _api(site, "visitor", "GET", "/api/v1/marks/verify?licence_no=xzd-2025-001&date=2026-05-01").json()
    assert {k: body[k] for k in ("valid", "status", "mark", "licensee", "licence_no", "valid_from", "valid_until")} == {
        "valid": True, "status": "active", "mark": "XZD-GI", "licensee": "交控技术装备有限公司", "licence_no": "XZD-2025-001",
        "valid_from": "2025-01-01", "valid_until": "2027-12-31"}
    body = _api(site, "visitor", "GET", f"/api/v1/marks/verify?credit_code={ORGS[1]['credit_code']}").json()
    assert body["valid"] and len(body["matches"]) == 1
    body = _api(site, "visitor", "GET", "/api/v1/marks/verify?licence_no=XZD-2025-999").json()
    assert body == {"valid": False, "status": "not_found", "mark": None, "licensee": None, "licence_no": None, "valid_from": None,
                    "valid_until": None, "date": "2026-05-01", "mark_name": None, "products": None, "reason": None, "matches": []}
    r = _api(site, "visitor", "GET", "/api/v1/marks/verify")
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "licence_no"
    assert _api(site, "visitor", "GET", "/api/v1/marks/verify?licence_no=XZD-2025-001&date=yesterday").status_code == 422
    schema = site["c"].get("/openapi.json").json()
    assert "MarkVerifyOut" in schema["components"]["schemas"]
    svg = _get(site, "visitor", "/marks/licences/XZD-2025-001/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    png = _get(site, "visitor", "/marks/licences/XZD-2025-001/qr.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert _get(site, "visitor", "/marks/licences/XZD-0000-000/qr.svg").status_code == 404
    assert _get(site, "visitor", "/marks/licences/XZD-2025-001/qr.gif").status_code == 422


def test_registry_pages_issue_act_and_history(site: dict[str, Any]) -> None:
    for who in ("visitor", "stranger"):
        r = _get(site, who, "/operator/marks")
        assert r.status_code in (303, 403)
        r = _post(site, who, "/operator/marks/issue", mark="XZD-GI", licensee="ORG-SJZ", licence_no="XZD-2026-002", products="米",
                  valid_from="2026-01-01", valid_until="2026-12-31")
        assert r.status_code in (303, 403) and (r.status_code == 403 or "/login" in r.headers["location"])
    assert _count(site) == 1
    r = _get(site, "owner", "/operator/marks")
    assert r.status_code == 200 and 'data-licence="XZD-2025-001"' in r.text and "data-claims" not in r.text  # claims are for operators
    # bad input: shown inline on the form, the form keeps what was typed, nothing written
    r = _post(site, "owner", "/operator/marks/issue", mark="XZD-GI", licensee="石家庄药业集团有限公司", licence_no="XZD-2026-002", products="小站稻大米",
              valid_from="2026-06-01", valid_until="2026-01-01")
    assert r.status_code == 422 and 'data-field="valid_until"' in r.text and 'value="XZD-2026-002"' in r.text
    r = _post(site, "owner", "/operator/marks/issue", mark="XZD-GI", licensee="石家庄药业集团有限公司", licence_no="XZD-2026-002", products="小站稻大米",
              valid_from="2026-13-01", valid_until="2026-12-31")
    assert r.status_code == 422 and 'data-field="valid_from"' in r.text
    assert _count(site) == 1
    r = _post(site, "owner", "/operator/marks/issue", mark="XZD-GI", licensee="石家庄药业集团有限公司", licence_no="XZD-2026-002", products="小站稻大米",
              valid_from="2026-01-01", valid_until="2026-12-31")
    assert r.status_code == 303 and r.headers["location"] == "/operator/marks/licences/XZD-2026-002?done=issue"
    r = _post(site, "owner", "/operator/marks/licences/XZD-2026-002/suspend", reason="")
    assert r.status_code == 422 and 'data-field="reason"' in r.text
    assert _post(site, "owner", "/operator/marks/licences/XZD-2026-002/suspend", reason="抽检不合格").status_code == 303
    assert _post(site, "stranger", "/operator/marks/licences/XZD-2026-002/reinstate", reason="x").status_code == 403
    assert _post(site, "operator", "/operator/marks/licences/XZD-2026-002/reinstate", reason="整改完成").status_code == 303
    assert _post(site, "operator", "/operator/marks/licences/XZD-2026-002/renew", valid_until="2027-06-30").status_code == 303
    assert _post(site, "operator", "/operator/marks/licences/XZD-2026-002/revoke", reason="违规使用").status_code == 303
    r = _get(site, "owner", "/operator/marks/licences/XZD-2026-002")
    assert r.status_code == 200 and 'data-status="revoked"' in r.text and "违规使用" in r.text
    assert [a for a in ("issue", "suspend", "reinstate", "renew", "revoke") if f'data-action="{a}"' in r.text] == ["issue", "suspend", "reinstate", "renew", "revoke"]
    assert "/renew" not in r.text  # a revoked licence offers no actions
    r = _get(site, "operator", "/operator/marks")
    assert 'data-claim="' in r.text and "小站稻大米（自称）" in r.text  # the made-up number is flagged
    r = _post(site, "operator", "/operator/marks/remind")
    assert r.status_code == 200 and "data-reminded" in r.text
    assert _post(site, "owner", "/operator/marks/remind").status_code == 403


def test_api_registry(site: dict[str, Any]) -> None:
    body = {"mark": "XZD-GI", "licensee": ORGS[4]["credit_code"], "licence_no": "XZD-2026-010", "valid_from": "2026-01-01",
            "valid_until": "2027-12-31", "products": "小站稻大米"}
    assert _api(site, "visitor", "POST", "/api/v1/marks/licences", body).status_code == 403
    assert _api(site, "stranger", "POST", "/api/v1/marks/licences", body).status_code == 403
    r = _api(site, "owner", "POST", "/api/v1/marks/licences", {**body, "colour": "red"})
    assert r.status_code == 422  # an unknown field is refused, not dropped
    r = _api(site, "owner", "POST", "/api/v1/marks/licences", {**body, "valid_until": "2025-01-01"})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "valid_until"
    assert _count(site) == 1
    r = _api(site, "owner", "POST", "/api/v1/marks/licences", body)
    assert r.status_code == 201 and r.json()["status"] == "active"
    assert _api(site, "owner", "POST", "/api/v1/marks/licences", body).status_code == 409
    assert _api(site, "owner", "POST", "/api/v1/marks/licences/XZD-2026-010/suspend", {}).status_code == 422
    r = _api(site, "owner", "POST", "/api/v1/marks/licences/XZD-2026-010/suspend", {"reason": "抽检不合格"})
    assert r.json()["status"] == "suspended" and r.json()["reason"] == "抽检不合格"
    assert _api(site, "owner", "POST", "/api/v1/marks/licences/XZD-2026-010/explode", {"reason": "x"}).status_code == 404
    r = _api(site, "operator", "POST", "/api/v1/marks/licences/XZD-2026-010/renew", {"valid_until": "2028-12-31", "reason": "续期"})
    assert r.json()["valid_until"] == "2028-12-31"
    r = _api(site, "owner", "GET", "/api/v1/marks/licences/XZD-2026-010")
    assert [e["action"] for e in r.json()["history"]] == ["issue", "suspend", "renew"]
    assert _api(site, "stranger", "GET", "/api/v1/marks/licences/XZD-2026-010").status_code == 403
    items = _api(site, "owner", "GET", "/api/v1/marks/licences?status=suspended").json()["items"]
    assert [x["licence_no"] for x in items] == ["XZD-2026-010"]
    claims = _api(site, "operator", "GET", "/api/v1/marks/unlicensed-claims").json()["items"]
    assert [c["licence_no"] for c in claims] == ["XZD-2025-999"]
    assert _api(site, "owner", "GET", "/api/v1/marks/unlicensed-claims").status_code == 403


def _xlsx(rows: list[list[Any]]) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/x.xlsx"
        write_licence_template(path, rows)
        with open(path, "rb") as fh:
            return fh.read()


def test_import_page_and_api(site: dict[str, Any]) -> None:
    r = _get(site, "owner", "/operator/marks/template.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    bad = _xlsx([["XZD-2026-201", "XZD-GI", "无此机构", "小站稻大米", "2026-01-01", "2026-12-31"],
                 ["XZD-2026-202", "XZD-GI", ORGS[4]["credit_code"], "小站稻大米", "2026-01-01", "2026-12-31"]])
    r = site["c"].post("/operator/marks/import", data={"csrf": CSRF}, files={"file": ("licences.xlsx", io.BytesIO(bad))}, headers=_h(site, "owner"))
    assert r.status_code == 422 and 'data-field="licensee"' in r.text and "第 2 行" in r.text
    r = site["c"].post("/operator/marks/import", data={"csrf": CSRF}, files={"file": ("licences.csv", io.BytesIO(b"a,b"))}, headers=_h(site, "owner"))
    assert r.status_code == 422 and 'data-field="file"' in r.text
    assert _count(site) == 1
    good = _xlsx([["XZD-2026-201", "XZD-GI", ORGS[0]["credit_code"], "小站稻大米", "2026-01-01", "2026-12-31"],
                  ["XZD-2026-202", "XZD-GI", ORGS[4]["credit_code"], "小站稻大米", "2026-01-01", "2026-12-31"]])
    r = site["c"].post("/api/v1/marks/licences/import", files={"file": ("licences.xlsx", io.BytesIO(good))}, headers=_h(site, "stranger"))
    assert r.status_code == 403  # the stranger manages no mark
    r = site["c"].post("/operator/marks/import", data={"csrf": CSRF}, files={"file": ("licences.xlsx", io.BytesIO(good))}, headers=_h(site, "owner"))
    assert r.status_code == 200 and "data-imported" in r.text and _count(site) == 3
