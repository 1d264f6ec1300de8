"""Instrument billing end to end in a real headless Chromium (Debian's chromium, driven by Playwright)
against uvicorn, on a SQLite file and on a fresh PostgreSQL schema (when TONGXIN_TEST_POSTGRES_URL is set):

a researcher books a slot with a cost centre on the instrument's form; the owner approves it; once the
slot starts the owner checks the booking in from the inbox and, 80 minutes later, checks it out (billed
1.5 h: the actual hours rounded up to the half hour, with a note that the use differed from the booking);
the researcher opens the month's statement from "my bookings" and downloads it as XLSX and PDF, whose
totals are the statement's. Skip/fail rules in e2e_support.py."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
import test_e2e_booking as booking_e2e
from e2e_support import shot
from test_e2e_booking import _login_as, _request_slot

from tongxin.core import booking as B

browser = booking_e2e.browser  # module-scoped fixtures: one Chromium, one app per database
site = booking_e2e.site


@pytest.mark.slow
def test_check_in_check_out_and_statement_download(site: dict[str, Any], browser: Any) -> None:
    base, iid = site["url"], site["iid"]
    day = dt.datetime.now(B.CST).date() + dt.timedelta(days=15)
    shots = site["db"] == "sqlite"

    # the researcher books 09:00–11:00 with a cost centre (typed in lower case: stored upper case)
    rctx, rp = _login_as(browser, base, "researcher")
    rp.goto(f"{base}/instruments/{iid}?date={day}")
    rp.fill("section.book input[name=cost_centre]", "cc-e2e-01")
    _request_slot(rp, day, "09:00", "11:00", "计费测试")
    m = re.search(r"booked=(\d+)", rp.url)
    assert m, rp.content()[:1500]
    bid = int(m.group(1))

    # the owner approves it, then checks it in once the slot has started
    octx, op = _login_as(browser, base, "owner")
    op.goto(f"{base}/my/instruments")
    op.locator(f"#pending tr#b{bid} button.approve").click()
    op.wait_for_load_state()
    site["clock"][0] = dt.datetime.combine(day, dt.time(9, 5), B.CST)
    op.goto(f"{base}/my/instruments")
    op.locator(f"#confirm tr#b{bid} button.check-in").click()
    op.wait_for_load_state()
    row = op.locator(f"#confirm tr#b{bid}")
    assert "已签到 09:05" in row.inner_text(), row.inner_text()

    # … and checks it out 80 minutes later: 1 h 20 min billed as 1.5 h at the cross-region rate (500 CNY/h)
    site["clock"][0] = dt.datetime.combine(day, dt.time(10, 25), B.CST)
    op.goto(f"{base}/my/instruments")
    op.locator(f"#confirm tr#b{bid} button.check-out").click()
    op.wait_for_load_state()
    done = op.locator(f"#history tr#b{bid}").inner_text()
    assert "已使用" in done and "计费 1.5 小时" in done and "750.00" in done and "实际使用 09:05–10:25" in done, done
    if shots:
        shot(op, "billing-inbox-checked-out.png")
    # the owner's income page: the month's row and its chart (plotly, drawn by the site's own script)
    op.click("p.billing-links a[href='/my/instruments/income']")
    op.wait_for_url("**/my/instruments/income")
    assert "750.00" in op.locator("table.income").inner_text()
    op.wait_for_selector("#chart-income .main-svg", timeout=15000)
    if shots:
        shot(op, "billing-income.png")

    # the researcher finds the statement from "my bookings" and downloads it
    rp.goto(f"{base}/my/bookings")
    rp.click("p.billing-links a[href='/my/statements']")
    rp.wait_for_url("**/my/statements")
    line = rp.locator(f"table.statement tr#line{bid}").inner_text()
    assert "CC-E2E-01" in line and "750.00" in line, line
    assert rp.locator("#total-payable").inner_text() == "750.00"
    if shots:
        shot(rp, "billing-statement.png")
    with rp.expect_download() as dl:
        rp.click("#dl-xlsx")
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes())).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    mine = [r for r in rows if r[1] == bid]
    total = next(r for r in rows if r[0] == "合计 total")
    assert len(mine) == 1 and mine[0][5] == 1.5 and mine[0][7] == 750 and mine[0][10] == "CC-E2E-01", mine
    assert total[7] == 750 and total[9] == 750
    with rp.expect_download() as dl2:
        rp.click("#dl-pdf")
    assert Path(dl2.value.path()).read_bytes()[:5] == b"%PDF-"
    site["clock"][0] = None
    rctx.close()
    octx.close()
