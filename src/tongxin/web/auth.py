"""Who is asking: the auth middleware turns a bearer token or the session cookie into a Viewer
on `request.state`, issues the CSRF cookie, and checks CSRF on cookie-authenticated API writes."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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


def _error(status: int, code: str, zh: str, en: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message_zh": zh, "message_en": en, "errors": []}}, status_code=status)


def install(app: FastAPI) -> None:
    secure = cookie_secure()

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if request.url.path in PROBES:
            request.state.viewer, request.state.me, request.state.auth_via = acc.VISITOR, None, None
            return await call_next(request)
        accounts: Accounts = request.app.state.accounts
        auth = request.headers.get("authorization", "")
        ident, via = None, None
        if auth.lower().startswith("bearer "):
            ident = await run_in_threadpool(accounts.identity_for_token, auth[7:].strip())
            via = "token"
            if ident is None:
                return _error(401, "unauthorized", "API 令牌无效或已撤销", "the API token is invalid or revoked")
        elif request.cookies.get(SESSION_COOKIE):
            ident = await run_in_threadpool(accounts.identity_for_session, request.cookies[SESSION_COOKIE])
            via = "session" if ident else None
        request.state.viewer = viewer_of(ident) if ident else acc.VISITOR
        request.state.me = me_of(ident) if ident else None
        request.state.auth_via = via
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        request.state.csrf = csrf
        if request.url.path.startswith("/api/") and request.method not in SAFE and via == "session":  # noqa: SIM102
            if request.headers.get(CSRF_HEADER, "") != request.cookies.get(CSRF_COOKIE, "-"):
                return _error(403, "csrf_failed", "缺少或错误的 X-CSRF-Token 请求头（使用登录 Cookie 调用接口时必需）",
                              "missing or wrong X-CSRF-Token header (required when calling the API with the session cookie)")
        response = await call_next(request)
        if not request.cookies.get(CSRF_COOKIE):
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, secure=secure, samesite="lax", path="/")
        if request.cookies.get(SESSION_COOKIE) and via is None and not getattr(request.state, "session_set", False):
            clear_session_cookie(response)  # expired or signed-out session
        return response
