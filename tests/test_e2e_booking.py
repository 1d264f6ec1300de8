"""Instrument booking end to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) against uvicorn on 127.0.0.1, once on a SQLite file and once on a fresh PostgreSQL schema
(when TONGXIN_TEST_POSTGRES_URL is set; with CI=true PostgreSQL is required):

a researcher signs in, opens an instrument, sees the week calendar and requests a slot; a rival's
conflicting request for the same slot is refused with a clear message; the owner approves it in the
bookings inbox; the researcher sees it approved on the calendar and in "my bookings"; once the slot has
started the owner marks it used; the .ics export contains the booking.
Screenshots go to screenshots/ (git-ignored). Skip/fail rules in e2e_support.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import world
from conftest import pg_schema_url, require_pg
from e2e_support import add_person, chromium, login, serve, shot
from factories import ORGS, load
from resource_factories import instrument

from tongxin.core import booking as B
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database

PEOPLE = (("researcher", "ORG-SJZ", "member"), ("rival", "ORG-WQ", "member"), ("owner", "ORG-TIB", "org_admin"))


def _email(who: str) -> str:
    return f"{who}@booking.tongxin.cn"


@contextmanager
def _database(kind: str, d: Any) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL schema (dropped afterwards) as conftest's db_url does."""
    if kind == "sqlite":
        yield f"sqlite:///{d}/booking.db"
        return
    require_pg()
    with pg_schema_url("e2e_") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[dict[str, Any]]:
    from tongxin.web.app import create_app

    d = tmp_path_factory.mktemp(f"booking-{request.param}")
    with _database(request.param, d) as url:
        ex = Exchange(Database(url), str(d / "idx"))
        try:
            ex.init_db()
            ids = load(ex, ORGS, [instrument()])
            accounts = Accounts(ex, hasher=world.fast_hasher())
            with ex.db.transaction(write=False) as s:
                orgs = {o: rr.resolve_org(s, o).id for _, o, _ in PEOPLE}
            for who, org, role in PEOPLE:
                add_person(ex, accounts, _email(who), {"researcher": "李研究员", "rival": "赵工程师", "owner": "王主任"}[who],
                           membership=(orgs[org], role))
            app = create_app(ex)
            clock: list[dt.datetime | None] = [None]  # None: real time; the test moves it to confirm use once the slot starts
            app.state.booking_clock = lambda: clock[0] or dt.datetime.now(B.CST)
            with serve(app) as base:
                yield {"url": base, "iid": ids["I-MS"], "clock": clock, "db": request.param}
        finally:
            ex.close()


def _login_as(browser: Any, base: str, who: str) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    return ctx, login(ctx, base, _email(who))


def _request_slot(page: Any, day: dt.date, start: str, end: str, purpose: str) -> None:
    page.fill("section.book input[name=date]", day.isoformat())
    page.fill("section.book input[name=start]", start)
    page.fill("section.book input[name=end]", end)
    page.fill("section.book input[name=purpose]", purpose)
    page.click("section.book button[type=submit]")
    page.wait_for_load_state()


def _cell_texts(page: Any, state: str) -> list[str]:
    return [x.strip() for x in page.locator(f"table.cal td.{state}").all_inner_texts()]


@pytest.mark.slow
def test_booking_workflow_in_the_browser(site: dict[str, Any], browser: Any) -> None:
    base, iid = site["url"], site["iid"]
    day = dt.datetime.now(B.CST).date() + dt.timedelta(days=8)
    shots = site["db"] == "sqlite"  # one set of screenshots (both databases render the same pages)

    # the researcher opens the instrument and sees the week calendar
    rctx, rp = _login_as(browser, base, "researcher")
    rp.goto(f"{base}/instruments/{iid}?view=week&date={day}")
    assert rp.locator("table.cal tr").first.locator("th").count() == 8  # the hour column + 7 days
    assert day.strftime("%m-%d") in rp.locator("table.cal").inner_text()
    assert rp.locator("table.cal td.free").count() > 0 and "登录后预约" not in rp.content()

    # … and requests 09:00–11:00
    _request_slot(rp, day, "09:00", "11:00", "血清蛋白质组定量")
    assert "预约已提交" in rp.content(), rp.content()[:1500]
    m = re.search(r"booked=(\d+)", rp.url)
    assert m, rp.url
    bid = int(m.group(1))
    assert _cell_texts(rp, "mine") == ["待审批", "待审批"]

    # a rival's conflicting request for the same slot is refused with a clear message
    vctx, vp = _login_as(browser, base, "rival")
    vp.goto(f"{base}/instruments/{iid}?date={day}")
    assert _cell_texts(vp, "booked") == ["待审批", "待审批"]
    _request_slot(vp, day, "10:00", "12:00", "重复预约")
    body = vp.locator('p.form-error[data-form="book"]').inner_text()  # said on the booking form, in the page's language
    assert f"{day} 10:00–12:00 已被预约，请选择其他时段" in body, body
    assert vp.locator('input[name="purpose"]').input_value() == "重复预约"  # what was typed is kept
    assert "Traceback" not in vp.content()
    vctx.close()

    # the owner finds the request through the navigation and approves it
    octx, op = _login_as(browser, base, "owner")
    op.goto(f"{base}/instruments/{iid}")
    op.click("a.manage")
    op.wait_for_url(f"**/instruments/{iid}/manage")
    op.click("header nav a.bookings")
    op.wait_for_url("**/my/bookings")
    op.click("a[href='/my/instruments']")
    op.wait_for_url("**/my/instruments")
    row = op.locator(f"#pending tr#b{bid}")
    assert "李研究员" in row.inner_text() and "血清蛋白质组定量" in row.inner_text() and "待审批" in row.inner_text()
    if shots:
        shot(op, "bookings-inbox.png")
    row.locator("button.approve").click()
    op.wait_for_load_state()
    assert f"已批准预约 #{bid}" in op.locator("p.flash").inner_text()
    assert op.locator(f"#upcoming tr#b{bid}").count() == 1 and op.locator(f"#pending tr#b{bid}").count() == 0

    # the researcher sees it approved on the calendar (week and day) and in "my bookings"
    rp.goto(f"{base}/instruments/{iid}?view=week&date={day}")
    assert _cell_texts(rp, "mine") == ["已批准", "已批准"]
    if shots:
        shot(rp, "instrument-calendar-week.png")
    rp.goto(f"{base}/instruments/{iid}?view=day&date={day}")
    assert rp.locator("table.cal tr").first.locator("th").count() == 2 and _cell_texts(rp, "mine") == ["已批准", "已批准"]
    if shots:
        shot(rp, "instrument-calendar-day.png")
    rp.click("header nav a.bookings")
    rp.wait_for_url("**/my/bookings")
    mine = rp.locator(f"#active tr#b{bid}").inner_text()
    assert "已批准" in mine and f"{day} 09:00–11:00" in mine and "可在" in mine
    if shots:
        shot(rp, "my-bookings.png")

    # once the slot has started, the owner marks it used
    site["clock"][0] = dt.datetime.combine(day, dt.time(9, 30), B.CST)
    op.goto(f"{base}/my/instruments")
    op.locator(f"#confirm tr#b{bid} button.used").click()
    op.wait_for_load_state()
    assert f"已登记使用：预约 #{bid}" in op.locator("p.flash").inner_text()
    assert "已使用" in op.locator(f"#history tr#b{bid}").inner_text()
    rp.goto(f"{base}/my/bookings")
    assert "已使用" in rp.locator(f"#past tr#b{bid}").inner_text()

    # the .ics export contains the booking
    resp = rp.request.get(f"{base}/instruments/{iid}/calendar.ics")
    assert resp.ok and resp.headers["content-type"].startswith("text/calendar")
    ics = resp.text().replace("\r\n ", "")  # unfold (RFC 5545 §3.1)
    start_utc = dt.datetime.combine(day, dt.time(9), B.CST).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"UID:booking-{bid}@tongxin" in ics and f"DTSTART:{start_utc}" in ics and "已使用" in ics
    rctx.close()
    octx.close()
