"""Who is asking: the auth middleware turns a bearer token or the session cookie into a Viewer
on `request.state`, issues the CSRF cookie, and checks CSRF on cookie-authenticated API writes."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core import access as acc
from ..services.accounts import SESSION_COOKIE, Accounts, me_of, viewer_of
from ..settings import setting
from .deps import CSRF_COOKIE, CSRF_HEADER

SAFE = ("GET", "HEAD", "OPTIONS")
PROBES = ("/healthz", "/readyz", "/metrics")  # operators' probes: no session, no CSRF cookie; /metrics checks its own token


def cookie_secure() -> bool:
    return setting("TONGXIN_COOKIE_SECURE") not in ("0", "false", "no")


def set_session_cookie(resp: Response, token: str, max_age: int) -> None:
    resp.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=cookie_secure(), samesite="lax", path="/")


def clear_session_cookie(resp: Response) -> None:
    resp.delete_cookie(SESSION_COOKIE, path="/", secure=cookie_secure(), httponly=True, samesite="lax")


def csrf_cookie_header(value: str, secure: bool) -> tuple[bytes, bytes]:
    """The Set-Cookie header that gives a visitor without one their CSRF cookie."""
    r = Response()
    r.set_cookie(CSRF_COOKIE, value, httponly=True, secure=secure, samesite="lax", path="/")
    return next((k, v) for k, v in r.raw_headers if k == b"set-cookie")


def _error(status: int, code: str, zh: str, en: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message_zh": zh, "message_en": en, "errors": []}}, status_code=status)


class Authenticate:
    """Plain ASGI middleware (no task group or memory streams per request, as Starlette's
    `BaseHTTPMiddleware` would cost): who is asking, the CSRF cookie and the CSRF check."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if scope["path"] in PROBES:
            state["viewer"], state["me"], state["auth_via"] = acc.VISITOR, None, None
            return await self.app(scope, receive, send)
        request = Request(scope)
        accounts: Accounts = request.app.state.accounts
        auth = request.headers.get("authorization", "")
        ident, via = None, None
        if auth.lower().startswith("bearer "):
            ident = await run_in_threadpool(accounts.identity_for_token, auth[7:].strip())
            via = "token"
            if ident is None:
                return await _error(401, "unauthorized", "API 令牌无效或已撤销", "the API token is invalid or revoked")(scope, receive, send)
        elif request.cookies.get(SESSION_COOKIE):
            ident = await run_in_threadpool(accounts.identity_for_session, request.cookies[SESSION_COOKIE])
            via = "session" if ident else None
        state["viewer"] = viewer_of(ident) if ident else acc.VISITOR
        state["me"] = me_of(ident) if ident else None
        state["auth_via"] = via
        had_csrf = bool(request.cookies.get(CSRF_COOKIE))
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        state["csrf"] = csrf
        if scope["path"].startswith("/api/") and scope["method"] not in SAFE and via == "session":  # noqa: SIM102
            if request.headers.get(CSRF_HEADER, "") != request.cookies.get(CSRF_COOKIE, "-"):
                return await _error(403, "csrf_failed", "缺少或错误的 X-CSRF-Token 请求头（使用登录 Cookie 调用接口时必需）",
                                    "missing or wrong X-CSRF-Token header (required when calling the API with the session cookie)")(
                    scope, receive, send)
        stale_session = bool(request.cookies.get(SESSION_COOKIE)) and via is None

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and (not had_csrf or (stale_session and not state.get("session_set"))):
                headers = list(message.get("headers") or ())
                if not had_csrf:
                    headers.append(csrf_cookie_header(csrf, self.secure))
                if stale_session and not state.get("session_set"):
                    gone = Response()
                    clear_session_cookie(gone)  # expired or signed-out session
                    headers += [(k, v) for k, v in gone.raw_headers if k == b"set-cookie"]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_cookies)


def install(app: FastAPI) -> None:
    app.add_middleware(Authenticate, secure=cookie_secure())
