"""Shared pieces of the browser tests (test_e2e_*.py): Debian's /usr/bin/chromium driven by Playwright
against a uvicorn server on 127.0.0.1.

Skip/fail rule: without Chromium or Playwright the browser tests are skipped, except with CI=true,
where that is a failure. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import world

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync"]
HOW = "browser tests need Chromium and Playwright: apt-get install -y chromium fonts-noto-cjk && .venv/bin/pip install playwright"
SHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "screenshots")


def need_browser() -> None:
    """Skip (or, with CI=true, fail) when Chromium or Playwright is missing."""
    missing = not os.path.exists(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(HOW)
        pytest.skip(HOW)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright Browser), closed afterwards."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run the ASGI app with uvicorn in a thread on a free port; yields its base URL, stops it afterwards."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    os.makedirs(SHOTS, exist_ok=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(timeout=10)


def org_ids(ex: Any) -> dict[str, int]:
    """Organisation row ids by external id (ORG-…) in the Exchange's database."""
    from sqlalchemy import select

    from tongxin.storage.models import OrganisationRow

    with ex.db.transaction(write=False) as s:
        return {o.external_id: o.id for o in s.scalars(select(OrganisationRow))}


def add_person(ex: Any, accounts: Any, email: str, name: str, *, platform: str | None = None,
               membership: tuple[int, str] | None = None) -> int:
    """Sign up a person (password world.PASSWORD), then optionally set the platform role and add a membership
    (organisation id, role in it); returns the user id."""
    from tongxin.storage import accounts_repo as R

    uid: int = accounts.sign_up(email, world.PASSWORD, name)
    with ex.db.transaction() as s:
        if platform is not None:
            R.get_user(s, uid).role = platform
        if membership is not None:
            R.add_membership(s, uid, *membership)
    return uid


def login(ctx: Any, base: str, email: str) -> Any:
    """Sign in through /login in a new page of the browser context; returns the page."""
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", world.PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]
    return page


def shot(page: Any, name: str) -> None:
    page.screenshot(path=os.path.join(SHOTS, name), full_page=True)
