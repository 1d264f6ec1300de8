"""The Content-Security-Policy (scripts from this site only) in a real headless Chromium: pages
load without CSP violations, the plotly charts still draw and the period selector still submits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import chromium, need_browser, serve
from factories import load

from tongxin.services import Exchange
from tongxin.storage.db import Database


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_browser()
    from tongxin.web.app import create_app

    d = tmp_path_factory.mktemp("csp")
    ex = Exchange(Database(f"sqlite:///{d}/csp.db"), str(d / "idx"))
    ex.init_db()
    load(ex)
    from tongxin.demo.load import load_deals_demo

    load_deals_demo(ex)  # contracts for the charts
    with serve(create_app(ex)) as url:
        yield url
    ex.close()


def test_pages_and_charts_work_under_the_csp(site: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        for path in ("/", "/login", "/search?q=列车", "/no-such-page"):
            page.goto(site + path)
        page.goto(site + "/summary")
        charts = page.locator(".chart[data-spec]").count()
        assert charts >= 2
        page.wait_for_function(f"document.querySelectorAll('.chart .main-svg').length >= {charts}")
        select = page.locator("select[data-autosubmit]")
        if select.count() and select.locator("option").count() > 1:
            value = select.locator("option").nth(0).get_attribute("value")
            select.select_option(value)
            page.wait_for_url(f"**period={value}*")
        assert violations == []
        headers: dict[str, Any] = page.goto(site + "/").headers  # type: ignore[union-attr]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
