"""Issue #11, login: every cookie-authenticated form checks its CSRF token, and no `next` sends a
signed-in user off-site. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import world
from factories import load
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.mail import LogMailer
from tongxin.web import routers
from tongxin.web.app import create_app

EVIL_NEXT = ["https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example", "/\t/evil.example",
             "/\n/evil.example", " //evil.example", "http://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example", "%2F%2Fevil.example",
             "//evil.example/%2F..", "/login?next=//evil.example"]


# POSTs authorised by a signed token in the URL, not by the session: RFC 8058 one-click unsubscribe
# comes from the mail provider without cookies (tests/test_alerts.py: a tampered token does nothing)
TOKEN_AUTHORISED = {"/alerts/unsubscribe"}


def page_posts() -> list[str]:
    """Every POST route outside /api/ (the HTML forms, authenticated by the session cookie)."""
    out = []
    for router in routers.all_routers():
        for r in router.routes:
            if "POST" in (getattr(r, "methods", None) or ()) and not r.path.startswith("/api/") and r.path not in TOKEN_AUTHORISED:
                out.append(r.path)
    return sorted(set(out))


@pytest.fixture
def signed_in(exchange: Exchange) -> Iterator[tuple[TestClient, str]]:
    load(exchange)
    app = create_app(exchange, LogMailer())
    app.state.accounts = accounts = Accounts(exchange, LogMailer(), hasher=world.fast_hasher())
    accounts.sign_up("root@example.cn", "good-pass-1", "管理员", role="admin")
    with TestClient(app, base_url="https://testserver") as c:
        c.get("/login")
        csrf = c.cookies["tx_csrf"]
        r = c.post("/login", data={"email": "root@example.cn", "password": "good-pass-1", "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and "tx_session" in c.cookies
        yield c, csrf


def test_every_page_form_refuses_a_post_without_its_csrf_token(signed_in: tuple[TestClient, str], exchange: Exchange) -> None:
    c, csrf = signed_in
    paths = page_posts()
    assert len(paths) > 30 and "/login" in paths and "/contracts/import" in paths
    before = exchange.counts()
    failures = []
    for path in paths:
        url = re.sub(r"\{([a-z_]+)(:[a-z]+)?\}", lambda m: "1" if m.group(1).endswith("id") else "x", path)
        for data in ({}, {"csrf": "forged-" + csrf}):
            r = c.post(url, data=data, follow_redirects=False)
            if r.status_code != 403 or "表单已过期或来源不明" not in r.text:
                failures.append((url, data, r.status_code))
    assert not failures, failures
    assert exchange.counts() == before  # nothing was written
    assert c.get("/api/v1/me").status_code == 200  # still signed in: the session itself was not touched


def test_csrf_cookie_is_http_only_and_same_site(exchange: Exchange) -> None:
    with TestClient(create_app(exchange, LogMailer()), base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"]
        assert "tx_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie


def local(location: str) -> bool:
    """A Location a browser resolves on this site (browsers drop raw tabs and newlines and turn \\
    into /; they do not decode %2F or %0A before resolving)."""
    seen = re.sub(r"[\t\r\n ]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return seen.startswith("/") and not seen.startswith("//") and not parts.scheme and not parts.netloc


@pytest.mark.parametrize("nxt", EVIL_NEXT)
def test_login_never_redirects_off_site(signed_in: tuple[TestClient, str], nxt: str) -> None:
    c, csrf = signed_in
    page = c.get("/login", params={"next": nxt})
    assert page.status_code == 200 and "evil.example\"" not in page.text.replace("&#34;", "\"").split("<form")[0]
    r = c.post("/login", data={"email": "root@example.cn", "password": "good-pass-1", "csrf": csrf, "next": nxt}, follow_redirects=False)
    assert r.status_code == 303 and local(r.headers["location"]), (nxt, r.headers["location"])


def test_a_same_site_next_is_kept(signed_in: tuple[TestClient, str]) -> None:
    c, csrf = signed_in
    r = c.post("/login", data={"email": "root@example.cn", "password": "good-pass-1", "csrf": csrf, "next": "/my/org?tab=1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/my/org?tab=1"


def test_the_local_check_itself_catches_off_site_locations() -> None:
    assert local("/my/org") and local("/%20x") and local("/%2F%2Fevil.example")
    assert not any(local(x) for x in ("//evil.example", "/\\evil.example", "/\t/evil.example", " //evil.example", "https://evil.example"))


def test_safe_next_refuses_control_characters() -> None:
    from tongxin.web.deps import safe_next

    assert [safe_next(x) for x in ("/\t/evil.example", "/\r\n/evil.example", "/\x7f/x", "/ok?a=1")] == ["/", "/", "/", "/ok?a=1"]
