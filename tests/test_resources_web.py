"""Resource pages and API through the real app: catalogue search, calendar, booking (API with a
token, HTML form with session + CSRF), iCalendar, statistics, verification and policies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from factories import ORGS, load
from fastapi.testclient import TestClient
from resource_factories import instrument
from test_kinds_resources import VALID
from world import org_raw

from tongxin.core import booking as B
from tongxin.core.certification import Mark
from tongxin.services import Exchange
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app
from tongxin.web.auth import SESSION_COOKIE


@pytest.fixture
def site(tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "w.db")), str(tmp_path / "idx"))
    ex.init_db()
    app = create_app(ex)
    accounts = app.state.accounts
    people: dict[str, Any] = {}
    for who, seed in (("owner", "91120116MA05TEQ1"), ("user", "91130100MA0CXK9L")):
        uid = accounts.sign_up(f"{who}@test.tongxin.cn", "secret-pass-123", who)
        org = accounts.create_organisation(accounts.viewer(uid), org_raw(f"{who}机构", seed, "120116" if who == "owner" else "130100"))
        _, token = accounts.create_token(accounts.viewer(uid), "t")
        people[who] = {"uid": uid, "org": org, "token": token, "session": accounts.create_session(uid)}
    ids = load(ex, ORGS, [instrument(owner=str(people["owner"]["org"])), VALID["retail_need"][0], VALID["certified_product"][0]])
    with ex.db.transaction() as s:
        mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="协会", mark_type="gi_certification"))
        rr.add_licence(s, mid, rr.resolve_org(s, "ORG-WQ").id, "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2099, 12, 31))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"c": c, "ex": ex, "ids": ids, "people": people}
    ex.close()


def _bearer(site: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + site["people"][who]["token"]}


def _next_week(hour: int) -> dt.datetime:
    d = dt.datetime.now(B.CST).date() + dt.timedelta(days=7)
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=B.CST)


def test_catalogue_search_and_instrument_page(site: dict[str, Any]) -> None:
    c, iid = site["c"], site["ids"]["I-MS"]
    r = c.get("/instruments", params={"q": "蛋白质组 质谱"})
    assert r.status_code == 200 and "液相色谱-质谱联用仪" in r.text and f"/instruments/{iid}" in r.text
    r = c.get(f"/instruments/{iid}", params={"view": "week"})
    assert r.status_code == 200 and 'class="cal"' in r.text and "登录后预约" in r.text and 'name="csrf"' in r.text
    assert c.get(f"/instruments/{iid}", params={"view": "day", "date": "2026-13-01"}).status_code == 422
    assert c.get("/instruments/999999").status_code == 404
    body = c.get("/api/v1/instruments", params={"q": "高分辨 质谱"}).json()
    assert body["results"][0]["id"] == iid and body["results"][0]["explanation"]["terms"]
    for path in ("/resources", "/resources/material_lot", "/resources/retail_need?q=小站稻", "/instruments/stats"):
        assert c.get(path).status_code == 200, path


def test_booking_api_workflow(site: dict[str, Any]) -> None:
    c, iid = site["c"], site["ids"]["I-MS"]
    payload = {"instrument_id": iid, "start": _next_week(9).isoformat(), "end": _next_week(11).isoformat(), "purpose": "蛋白质组"}
    r = c.post("/api/v1/bookings", json=payload)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"  # anonymous
    r = c.post("/api/v1/bookings", json=payload, headers=_bearer(site, "user"))
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["status"] == "pending" and b["fee"] == 1000.0  # Hebei user, Tianjin instrument, 2 h × 500
    r = c.post("/api/v1/bookings", json=payload | {"start": _next_week(10).isoformat()}, headers=_bearer(site, "owner"))
    assert r.status_code == 409 and "已被预约" in r.json()["error"]["message_zh"]
    assert c.post(f"/api/v1/bookings/{b['id']}/approve", headers=_bearer(site, "user")).status_code == 403
    r = c.post(f"/api/v1/bookings/{b['id']}/approve", headers=_bearer(site, "owner"))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert c.get(f"/api/v1/bookings/{b['id']}", headers=_bearer(site, "user")).json()["status"] == "approved"
    assert c.post(f"/api/v1/bookings/{b['id']}/fly", headers=_bearer(site, "owner")).status_code == 404
    cal = c.get(f"/api/v1/instruments/{iid}/calendar", params={"view": "day", "date": _next_week(9).date().isoformat()}).json()
    assert cal["cells"][1][0]["state"] == "booked" and cal["cells"][1][0]["booking_id"] == b["id"]
    ics = c.get(f"/instruments/{iid}/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar") and f"UID:booking-{b['id']}@tongxin" in ics.text
    r = c.post(f"/api/v1/bookings/{b['id']}/cancel", headers=_bearer(site, "user"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_booking_form_with_session_and_csrf(site: dict[str, Any]) -> None:
    c, iid = site["c"], site["ids"]["I-MS"]
    day = _next_week(9).date().isoformat()
    form = {"date": day, "start": "13:00", "end": "14:30", "purpose": "表征", "samples": "2", "csrf": "tok"}
    r = c.post(f"/instruments/{iid}/book", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")  # anonymous → sign in
    c.cookies.set(SESSION_COOKIE, site["people"]["user"]["session"])
    c.cookies.set("tx_csrf", "tok")
    assert c.post(f"/instruments/{iid}/book", data=form | {"csrf": "wrong"}, follow_redirects=False).status_code == 403
    r = c.post(f"/instruments/{iid}/book", data=form, follow_redirects=False)
    assert r.status_code == 303 and "booked=" in r.headers["location"]
    page = c.get(r.headers["location"])
    assert "预约已提交" in page.text and 'class="mine"' in page.text
    r = c.post(f"/instruments/{iid}/book", data=form | {"start": "07:00", "end": "08:00"}, follow_redirects=False)
    assert r.status_code == 422 and 'data-field="start"' in r.text and f'action="/instruments/{iid}/book"' in r.text  # said on the form


def test_verification_and_policies(site: dict[str, Any]) -> None:
    c = site["c"]
    r = c.get("/api/v1/certifications/verify", params={"mark": "XZD-GI", "org": "ORG-WQ", "date": "2026-05-01"})
    assert r.status_code == 200 and r.json()["licensed"] is True and r.json()["licence"]["licence_no"] == "XZD-2025-001"
    r = c.get("/api/v1/certifications/verify", params={"mark": "XZD-GI", "org": "ORG-SJZ"})
    assert r.json()["licensed"] is False and r.json()["reason_zh"] == "该机构未获得“小站稻地理标志证明商标”使用许可"
    assert c.get("/api/v1/certifications/verify", params={"mark": "NOPE", "org": "ORG-WQ"}).status_code == 404
    page = c.get("/certifications/verify", params={"mark": "XZD-GI", "org": "交控技术装备有限公司"})
    assert page.status_code == 200 and "已获许可" in page.text
    assert c.get("/api/v1/certifications/XZD-GI/licensees").json()["count"] == 1
    res = c.get(f"/api/v1/retail-needs/{site['ids']['RN-1']}/licensed-matches").json()["results"]
    assert res and any(f["key"] == "licence" for f in res[0]["explanation"]["fit"])
    assert c.get("/api/v1/policies/eligible", params={"org": "ORG-WQ"}).json()["policies"] == []
    assert c.get("/policies/eligible", params={"org": "ORG-WQ"}).status_code == 200
