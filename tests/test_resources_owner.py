"""Owner and requester booking screens through the real app (session cookie + CSRF): the bookings inbox
(approve / reject with a reason / used / no-show / cancel), maintenance blackouts, training records, the
staff voucher desk, "my bookings" with the cancellation notice; the shared error page listing field errors;
and a retail need's match page showing only producers licensed for the mark they claim.
Runs on SQLite and, when TONGXIN_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import world
from factories import ORGS, load
from fastapi.testclient import TestClient
from resource_factories import instrument
from test_kinds_resources import VALID, row

from tongxin.core import booking as B
from tongxin.core.certification import Mark
from tongxin.core.matching.fit import local_today
from tongxin.services import Exchange
from tongxin.services.booking import Actor, Bookings
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=B.CST)  # a Monday; the app's booking screens run on this clock
CSRF = "CSRFTOKEN"


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2030, 3, day, hour, tzinfo=B.CST)


@pytest.fixture
def site(db_url: str, tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    rows = [instrument(), instrument("I-SELF", title="场发射扫描电子显微镜（自主上机）", service_mode="self", training_required=True,
                                     auto_approve_trained=True),
            VALID["retail_need"][0], VALID["certified_product"][0],
            row("CP-FAKE", "certified_product", "小站稻大米（自称）", "自称持小站稻地理标志证明商标的大米。", "小站稻;大米", "ORG-SJZ", "130100", "A01",
                mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=900, price=11),
            row("CP-LAPSED", "certified_product", "小站稻大米（许可已过期）", "小站稻地理标志证明商标大米，许可已过期。", "小站稻;大米", "ORG-BJTU", "110108", "A01",
                mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=700, price=12)]
    ids = load(ex, ORGS, rows)
    app = create_app(ex)
    clock = [NOW]
    app.state.booking_clock = lambda: clock[0]
    accounts = app.state.accounts
    accounts._ph = world.fast_hasher()
    with ex.db.transaction(write=False) as s:
        orgs = {o: rr.resolve_org(s, o).id for o in ("ORG-TIB", "ORG-SJZ", "ORG-WQ", "ORG-BJTU")}
        mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="协会", mark_type="gi_certification"))
    with ex.db.transaction() as s:
        rr.add_licence(s, mid, orgs["ORG-WQ"], "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2099, 12, 31))
        rr.add_licence(s, mid, orgs["ORG-BJTU"], "XZD-2020-007", dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    people: dict[str, dict[str, Any]] = {}
    for who, org, platform in (("owner", "ORG-TIB", "user"), ("researcher", "ORG-SJZ", "user"), ("other", "ORG-WQ", "user"), ("operator", None, "operator")):
        uid = accounts.sign_up(f"{who}@owner.tongxin.cn", world.PASSWORD, f"{who}用户")
        with ex.db.transaction() as s:
            R.get_user(s, uid).role = platform
            if org:
                R.add_membership(s, uid, orgs[org], "member")
        people[who] = {"uid": uid, "session": accounts.create_session(uid), "viewer": accounts.viewer(uid), "org": orgs.get(org or "", 0)}
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"c": c, "ex": ex, "ids": ids, "people": people, "clock": clock, "svc": Bookings(ex, clock=lambda: clock[0])}
    ex.close()


def _as(site: dict[str, Any], who: str) -> dict[str, str]:
    cookie = f"tx_csrf={CSRF}"
    if who != "visitor":
        cookie += f"; tx_session={site['people'][who]['session']}"
    return {"Cookie": cookie}


def _post(site: dict[str, Any], who: str, path: str, **data: Any) -> Any:
    return site["c"].post(path, data={"csrf": CSRF, **data}, headers=_as(site, who), follow_redirects=False)


def _get(site: dict[str, Any], who: str, path: str, **params: Any) -> Any:
    return site["c"].get(path, params=params, headers=_as(site, who), follow_redirects=False)


def _actor(site: dict[str, Any], who: str) -> Actor:
    p = site["people"][who]
    return Actor(p["uid"], p["org"], p["viewer"])


def _row(html: str, booking_id: int) -> str:
    m = re.search(rf'<tr id="b{booking_id}".*?</tr>', html, re.S)
    assert m, f"booking {booking_id} not on the page"
    return m.group(0)


def test_inbox_approve_reject_used_no_show(site: dict[str, Any]) -> None:
    svc, iid = site["svc"], site["ids"]["I-MS"]
    b1 = svc.request(_actor(site, "researcher"), iid, at(6, 9), at(6, 11), purpose="血清蛋白质组")
    b2 = svc.request(_actor(site, "researcher"), iid, at(6, 13), at(6, 14))
    b3 = svc.request(_actor(site, "other"), iid, at(7, 9), at(7, 10))
    assert _get(site, "visitor", "/my/instruments").headers["location"].startswith("/login")
    assert _get(site, "researcher", "/my/instruments", org=site["people"]["owner"]["org"]).status_code == 403  # not the owner organisation
    own = _get(site, "researcher", "/my/instruments")  # their own organisation's (empty) inbox
    assert own.status_code == 200 and f'id="b{b1.id}"' not in own.text and "本机构还没有发布仪器" in own.text
    assert _get(site, "researcher", f"/instruments/{iid}/manage").status_code == 403
    page = _get(site, "owner", "/my/instruments")
    assert page.status_code == 200 and "待审批的预约申请" in page.text and 'name="csrf"' in page.text
    assert "血清蛋白质组" in _row(page.text, b1.id) and "researcher用户" in _row(page.text, b1.id)
    assert "researcher@owner.tongxin.cn" not in page.text  # the e-mail only once approved
    # only the owner organisation decides
    assert _post(site, "researcher", f"/bookings/{b1.id}/approve", next="/my/instruments").status_code == 403
    r = _post(site, "owner", f"/bookings/{b1.id}/approve", next="/my/instruments")
    assert r.status_code == 303 and r.headers["location"] == f"/my/instruments?done=approved&b={b1.id}"
    # a rejection needs a reason; the shared error page lists the field error
    r = _post(site, "owner", f"/bookings/{b2.id}/reject", reason="  ", next="/my/instruments")
    assert r.status_code == 422 and 'data-field="reason"' in r.text and "请填写拒绝原因" in r.text
    r = _post(site, "owner", f"/bookings/{b2.id}/reject", reason="该时段需校准仪器，请改约周三", next=f"/instruments/{iid}/manage")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/instruments/{iid}/manage?done=rejected")
    mine = _get(site, "researcher", "/my/bookings").text
    assert "已批准" in _row(mine, b1.id) and "已拒绝" in _row(mine, b2.id) and "该时段需校准仪器，请改约周三" in _row(mine, b2.id)
    # approved and not started: no used / no-show yet
    page = _get(site, "owner", "/my/instruments").text
    assert "/used" not in _row(page, b1.id) and "researcher@owner.tongxin.cn" in _row(page, b1.id)
    assert _post(site, "owner", f"/bookings/{b1.id}/used").status_code == 409
    # once the slots start, the owner confirms use or a no-show
    svc.approve(_actor(site, "owner"), b3.id)
    site["clock"][0] = at(7, 9) + dt.timedelta(minutes=30)
    page = _get(site, "owner", "/my/instruments").text
    assert f"/bookings/{b1.id}/used" in _row(page, b1.id) and f"/bookings/{b3.id}/no-show" in _row(page, b3.id)
    assert _post(site, "owner", f"/bookings/{b1.id}/used").status_code == 303
    assert _post(site, "owner", f"/bookings/{b3.id}/no-show", next=f"/instruments/{iid}/manage").status_code == 303
    assert svc.get(b1.id).status == "used" and svc.get(b3.id).status == "no_show"
    page = _get(site, "owner", f"/instruments/{iid}/manage").text
    assert "最近处理" in page and "已使用" in _row(page, b1.id) and "未到场" in _row(page, b3.id)
    assert _post(site, "owner", f"/bookings/{b1.id}/fly").status_code == 404
    # the requester's organisation was told
    notes = site["c"].get("/api/v1/notifications", headers=_as(site, "researcher")).text
    assert "该时段需校准仪器" in notes or "已拒绝" in notes


def test_my_bookings_cancel_respects_notice(site: dict[str, Any]) -> None:
    svc, iid = site["svc"], site["ids"]["I-MS"]
    soon = svc.request(_actor(site, "researcher"), iid, at(5, 8), at(5, 9))  # 23 h ahead: inside the 24 h notice
    later = svc.request(_actor(site, "researcher"), iid, at(8, 9), at(8, 10))
    page = _get(site, "researcher", "/my/bookings")
    assert page.status_code == 200 and "我的仪器预约" in page.text
    assert "须在开始前 24 小时取消；已过取消时限，请联系仪器管理员" in _row(page.text, soon.id) and "/cancel" not in _row(page.text, soon.id)
    assert f"/my/bookings/{later.id}/cancel" in _row(page.text, later.id) and "可在 03-07 09:00 前取消" in _row(page.text, later.id)
    r = _post(site, "researcher", f"/my/bookings/{soon.id}/cancel")  # too late (e.g. a page left open)
    assert r.status_code == 409 and 'role="alert"' in r.text and "已过取消时限" in r.text
    assert svc.get(soon.id).status == "pending"
    assert _post(site, "other", f"/my/bookings/{later.id}/cancel").status_code == 403  # not theirs
    r = _post(site, "researcher", f"/my/bookings/{later.id}/cancel")
    assert r.status_code == 303 and r.headers["location"] == f"/my/bookings?done=cancelled&b={later.id}"
    page = _get(site, "researcher", "/my/bookings", lang="en", done="cancelled", b=later.id).text
    assert "Cancelled booking" in page and "cancelled" in _row(page, later.id)
    # the owner may still cancel late, with a reason; it shows among the cancellations
    r = _post(site, "owner", f"/bookings/{soon.id}/cancel", reason="仪器故障", next="/my/instruments")
    assert r.status_code == 303
    page = _get(site, "owner", "/my/instruments").text
    assert "仪器故障" in _row(page, soon.id) and "最近取消" in page
    assert "仪器故障" in _row(_get(site, "researcher", "/my/bookings").text, soon.id)


def test_blackouts_and_training(site: dict[str, Any]) -> None:
    svc, iid, sem = site["svc"], site["ids"]["I-MS"], site["ids"]["I-SELF"]
    b = svc.request(_actor(site, "researcher"), iid, at(6, 9), at(6, 11))
    r = _post(site, "owner", f"/instruments/{iid}/blackouts", start="2030-03-06T08:00", end="2030-03-06T20:00", reason="年度保养")
    assert r.status_code == 409 and "该时段已有 1 个预约" in r.text and 'value="年度保养"' in r.text  # the form keeps what was typed
    r = _post(site, "owner", f"/instruments/{iid}/blackouts", start="2030-03-07", end="later", reason="x")
    assert r.status_code == 422 and "2026-03-31T08:00" in r.text
    r = _post(site, "owner", f"/instruments/{iid}/blackouts", start="2030-03-07T08:00", end="2030-03-07T20:00", reason="更换离子源")
    assert r.status_code == 303
    assert _post(site, "researcher", f"/instruments/{iid}/blackouts", start="2030-03-08T08:00", end="2030-03-08T09:00").status_code == 403
    page = _get(site, "owner", f"/instruments/{iid}/manage").text
    m = re.search(r'data-blackout="(\d+)"><td>2030-03-07 08:00–20:00</td><td>更换离子源', page)
    assert m, page[:2000]
    with pytest.raises(Exception) as e:
        svc.request(_actor(site, "other"), iid, at(7, 9), at(7, 10))
    assert "更换离子源" in str(e.value)
    assert _post(site, "researcher", f"/instruments/{iid}/blackouts/{m.group(1)}/remove").status_code == 403
    assert _post(site, "owner", f"/instruments/{iid}/blackouts/{m.group(1)}/remove").status_code == 303
    assert f'data-blackout="{m.group(1)}"' not in _get(site, "owner", f"/instruments/{iid}/manage").text
    assert svc.request(_actor(site, "other"), iid, at(7, 9), at(7, 10)).status == "pending"
    # training: self-service needs it; the owner records it by e-mail; trained users are approved automatically
    with pytest.raises(Exception) as e:
        svc.request(_actor(site, "researcher"), sem, at(6, 9), at(6, 10))
    assert "培训" in str(e.value)
    r = _post(site, "owner", f"/instruments/{sem}/trainings", user="nobody@owner.tongxin.cn", trained_on="2030-03-01")
    assert r.status_code == 422 and "平台上没有用户" in r.text and 'data-field="user"' in r.text
    r = _post(site, "owner", f"/instruments/{sem}/trainings", user="researcher@owner.tongxin.cn", trained_on="2030-03-01", valid_until="2029-01-01")
    assert r.status_code == 422 and "早于培训日期" in r.text
    assert _post(site, "researcher", f"/instruments/{sem}/trainings", user="researcher@owner.tongxin.cn").status_code == 403
    r = _post(site, "owner", f"/instruments/{sem}/trainings", user="Researcher@owner.tongxin.cn", trained_on="2030-03-01")
    assert r.status_code == 303
    page = _get(site, "owner", f"/instruments/{sem}/manage").text
    assert re.search(r"researcher用户.*?2030-03-01.*?有效", page, re.S)
    assert svc.request(_actor(site, "researcher"), sem, at(6, 9), at(6, 10)).status == "approved"
    assert b.status == "pending"


def test_voucher_desk_is_staff_only(site: dict[str, Any]) -> None:
    assert _get(site, "owner", "/operator/vouchers").status_code == 403
    assert _get(site, "visitor", "/operator/vouchers").headers["location"].startswith("/login")
    page = _get(site, "operator", "/operator/vouchers")
    assert page.status_code == 200 and "发放创新券" in page.text and "创新券服务机构" in page.text
    good = {"code": "he-2030-0001", "province": "HE", "org": "石家庄药业集团有限公司", "amount": "2000", "max_share": "50",
            "valid_from": "2030-01-01", "valid_until": "2030-12-31"}
    assert _post(site, "owner", "/operator/vouchers", **good).status_code == 403
    r = _post(site, "operator", "/operator/vouchers", **(good | {"code": "坏 编号", "amount": "0", "valid_until": "2029-12-31"}))
    assert r.status_code == 422
    for f in ("code", "amount", "valid_until"):
        assert f'data-field="{f}"' in r.text, f
    assert _post(site, "operator", "/operator/vouchers", **(good | {"org": "不存在的公司"})).status_code == 422
    r = _post(site, "operator", "/operator/vouchers", **good)
    assert r.status_code == 303 and r.headers["location"] == "/operator/vouchers?done=issued"
    assert _post(site, "operator", "/operator/vouchers", **good).status_code == 409  # the code is taken
    r = _post(site, "operator", "/operator/vouchers/labs", province="HE", org="ORG-TIB", recognised_on="2030-01-01")
    assert r.status_code == 303
    page = _get(site, "operator", "/operator/vouchers", province="HE").text
    assert 'data-voucher="HE-2030-0001"' in page and "石家庄药业集团有限公司" in page and "中国科学院天津工业生物技术研究所" in page
    # the voucher now pays part of a Hebei enterprise's booking at the recognised Tianjin lab
    b = site["svc"].request(_actor(site, "researcher"), site["ids"]["I-MS"], at(6, 9), at(6, 11), voucher="HE-2030-0001", voucher_amount=300)
    assert b.voucher_amount == 300
    assert "创新券抵扣 300.00" in _get(site, "researcher", "/my/bookings").text


def test_links_from_instrument_page_and_navigation(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    owner = _get(site, "owner", f"/instruments/{iid}").text
    assert f'href="/instruments/{iid}/manage"' in owner and 'href="/my/bookings"' in owner
    researcher = _get(site, "researcher", f"/instruments/{iid}").text
    assert f'href="/instruments/{iid}/manage"' not in researcher and 'href="/my/bookings"' in researcher
    assert "/manage" not in _get(site, "visitor", f"/instruments/{iid}").text
    assert 'href="/my/instruments"' in _get(site, "owner", "/my/bookings").text
    assert 'href="/operator/vouchers"' in _get(site, "operator", "/my/bookings").text
    # in English too
    assert "Requests to approve" in _get(site, "owner", "/my/instruments", lang="en").text
    en = _get(site, "owner", f"/instruments/{iid}/manage", lang="en").text
    assert "Maintenance blackouts" in en and "Training records" in en and "待审批" not in en
    assert "Issue a voucher" in _get(site, "operator", "/operator/vouchers", lang="en").text
    assert "Manage bookings, blackouts and training" in _get(site, "owner", f"/instruments/{iid}", lang="en").text


def test_booking_form_shows_each_field_error(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    form = {"date": "2030-03-06", "start": "07:00", "end": "08:00"}
    r = _post(site, "researcher", f"/instruments/{iid}/book", **form)
    assert r.status_code == 422 and f'action="/instruments/{iid}/book"' in r.text  # the booking form again, not an error page
    assert 'data-field="start"' in r.text and "开放时间为每天 08:00–20:00" in r.text and "book inside these hours" not in r.text
    assert 'value="07:00"' in r.text  # what was typed is kept
    r = site["c"].post(f"/instruments/{iid}/book?lang=en", data={"csrf": CSRF, **form}, headers=_as(site, "researcher"))
    assert r.status_code == 422 and "open 08:00–20:00 daily; book inside these hours" in r.text and "开放时间为每天" not in r.text
    r = _get(site, "visitor", f"/instruments/{iid}", view="day", date="2030-13-01")
    assert r.status_code == 422 and 'data-field="date"' in r.text


def test_retail_need_page_shows_only_licensed_producers(site: dict[str, Any]) -> None:
    ids = site["ids"]
    page = _get(site, "visitor", f"/listings/{ids['RN-1']}").text
    assert f'href="/listings/{ids["CP-1"]}"' in page
    assert f"{local_today()} 持“小站稻地理标志证明商标”有效许可 XZD-2025-001" in page  # the day in Beijing, as the service counts it
    assert f'href="/listings/{ids["CP-FAKE"]}"' not in page  # claims the mark, holds no licence
    assert f'href="/listings/{ids["CP-LAPSED"]}"' not in page  # its licence expired in 2021
    en = _get(site, "visitor", f"/listings/{ids['RN-1']}", lang="en").text
    assert f"licensed for '小站稻地理标志证明商标' on {local_today()}" in en.replace("&#39;", "'")
    api = site["c"].get(f"/api/v1/retail-needs/{ids['RN-1']}/licensed-matches").json()["results"]
    assert [m["id"] for m in api] == [ids["CP-1"]]
