"""Web hardening (issue #11): request-body limits (Content-Length and streamed), anonymous uploads
refused before the body is read, security headers on every response, Allow on 405."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import world
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.mail import LogMailer
from tongxin.storage.db import Database
from tongxin.web.app import create_app
from tongxin.web.security import SMALL_BODY

MB = 1024 * 1024


@pytest.fixture
def app(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TONGXIN_MAX_UPLOAD_MB", "2")
    ex = Exchange(Database(f"sqlite:///{tmp_path}/w.db"), str(tmp_path / "i"))
    ex.init_db()
    a = create_app(ex, LogMailer())
    a.state.accounts = Accounts(ex, LogMailer(), hasher=world.fast_hasher())
    yield a
    ex.close()


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def _spy(app: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    real = getattr(app.state.accounts, name)
    setattr(app.state.accounts, name, lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_oversized_json_is_refused_before_the_handler_runs(app: Any) -> None:
    calls = _spy(app, "register")
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/api/v1/auth/signup", content=_chunks(5 * MB), headers={"content-type": "application/json"})  # chunked, no length
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        assert "1 MB" in r.json()["error"]["message_zh"] and "1 MB" in r.json()["error"]["message_en"]
        r = c.post("/api/v1/auth/signup", content=b"x", headers={"content-type": "application/json", "content-length": str(400 * MB)})
        assert r.status_code == 413  # the declared length alone is enough
        ok = c.post("/api/v1/auth/signup", json={"email": "ok@example.cn", "password": "good-pass-1", "name": "好"})
        assert ok.status_code == 202
    assert len(calls) == 1  # only the small request reached the handler


def test_streamed_body_is_cut_off_at_the_limit() -> None:
    """Straight through the ASGI middleware: it stops reading once the limit is passed."""
    from tongxin.web.security import BodyLimit

    reads, ran = [], []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        ran.append(True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 4096, "more_body": len(reads) < 5000}  # 20 MB in all

    sent: list[dict[str, Any]] = []

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/auth/signup", "headers": [], "state": {}}
    asyncio.run(BodyLimit(inner, upload_limit=20 * MB)(scope, receive, send))
    assert sent[0]["status"] == 413 and not ran
    assert len(reads) == SMALL_BODY // 4096 + 1  # not one chunk more than needed


def test_uploads_need_a_signed_in_user_and_have_their_own_limit(app: Any) -> None:
    accounts = app.state.accounts
    accounts.sign_up("up@example.cn", "good-pass-1", "传")
    with TestClient(app, base_url="https://testserver") as c:
        c.get("/login")
        csrf = c.cookies["tx_csrf"]
        files = {"file": ("c.xlsx", b"x" * (MB // 2))}
        r = c.post("/contracts/import", data={"csrf": csrf}, files=files, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/contracts/import"  # anonymous: refused unread
        c.post("/login", data={"email": "up@example.cn", "password": "good-pass-1", "csrf": csrf})
        r = c.post("/contracts/import", data={"csrf": csrf}, files={"file": ("c.xlsx", b"x" * (3 * MB))})
        assert r.status_code == 413 and "2 MB" in r.text  # TONGXIN_MAX_UPLOAD_MB=2, an HTML page for pages
        r = c.post("/contracts/import", data={"csrf": csrf}, files={"file": ("c.xlsx", b"x" * (3 * MB // 2))})
        assert r.status_code != 413  # above the 1 MB form limit, within the upload limit: the handler answers
        r = c.post("/login", data={"csrf": csrf, "email": "x" * (2 * MB)})
        assert r.status_code == 413 and "<html" in r.text.lower()  # other forms: 1 MB


def test_security_headers_on_every_response(app: Any) -> None:
    accounts = app.state.accounts
    accounts.sign_up("hd@example.cn", "good-pass-1", "头")
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        for path in ("/", "/login", "/api/v1/kinds", "/no-such-page", "/api/v1/no-such", "/static/style.css"):
            h = c.get(path).headers
            assert "frame-ancestors 'none'" in h["content-security-policy"] and "script-src 'self';" in h["content-security-policy"]
            assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
            assert h["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "no-store" not in c.get("/").headers.get("cache-control", "")
        c.get("/login")
        r = c.post("/login", data={"email": "hd@example.cn", "password": "good-pass-1", "csrf": c.cookies["tx_csrf"]}, follow_redirects=False)
        assert r.headers["cache-control"] == "no-store"
        for path in ("/", "/account", "/api/v1/me"):
            assert c.get(path).headers["cache-control"] == "no-store", path
        r = c.post("/account/tokens", data={"name": "ci", "expires_in_days": "30", "csrf": c.cookies["tx_csrf"]})
        assert "txk_" in r.text and r.headers["cache-control"] == "no-store"
        assert c.get("/static/style.css").headers.get("cache-control") != "no-store"  # public assets stay cacheable


def test_method_not_allowed_says_what_is_allowed(app: Any) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.put("/api/v1/kinds")
        assert r.status_code == 405 and r.headers["allow"] == "GET" and r.json()["error"]["code"] == "method_not_allowed"
        r = c.delete("/login")
        assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_no_inline_scripts_in_templates() -> None:
    """The CSP allows scripts from this site only: inline scripts and handlers would be blocked."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "src/tongxin/web/templates"
    bad = []
    for f in root.rglob("*.html"):
        text = f.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text) or "javascript:" in text:
            bad.append(f.name)
    assert not bad, bad
