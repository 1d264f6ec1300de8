"""Two plain ASGI middlewares: request-body limits and security headers.

`BodyLimit` answers 413 before the handler runs when Content-Length is too large, and stops a
chunked body as soon as the bytes read pass the limit (the handler's answer is then replaced by the
413). JSON and form bodies get `SMALL_BODY`; only the upload routes get TONGXIN_MAX_UPLOAD_MB, and
only for signed-in users (anonymous uploads are refused before a byte is read).

`SecurityHeaders` adds CSP, frame, sniffing and referrer headers to every response, and
`Cache-Control: no-store` to every response for a signed-in user (pages with their data, the page
showing a new API token) and to every response that sets the session cookie."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..core.errors import Message

Scope = MutableMapping[str, Any]
Message_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message_]]
Send = Callable[[Message_], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SMALL_BODY = 1024 * 1024  # JSON and forms
UPLOAD_ROUTES = frozenset({("POST", "/contracts/import"), ("POST", "/my/org/facts/evidence"), ("POST", "/operator/facts/import"),
                           ("POST", "/api/v1/operator/organisations/facts/import")})
UPLOAD_PATHS = (re.compile(r"/api/v1/organisations/[0-9]+/facts/evidence"),)  # POST, with a path parameter

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI (/api/docs) loads its script and style from a CDN and starts with an inline script
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' "
            "https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'")
HEADERS = ((b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"strict-origin-when-cross-origin"), (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"))


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette's Allow names only the first route's)."""
    from starlette.routing import Match

    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = dict(request.scope) | {"method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.routes):
            allowed.append(method)
    return ", ".join(allowed)


class TooLarge(Exception):
    """Raised from `receive` once a streamed body passes its limit."""


def _signed_in(scope: Scope) -> bool:
    v = (scope.get("state") or {}).get("viewer")
    return bool(v is not None and getattr(v, "signed_in", False))


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or ():
        if k == name:
            return str(v.decode("latin-1"))
    return None


def _error(scope: Scope, status: int, code: str, msg: Message) -> Response:
    """The app's error envelope (JSON under /api/, else the error page)."""
    if scope["path"].startswith("/api/"):
        body = {"error": {"code": code, "message_zh": msg.zh, "message_en": msg.en, "errors": []}}
        return JSONResponse(body, status_code=status, headers={"Connection": "close"} if status == 413 else None)
    from .deps import render

    resp = render(Request(scope), "error.html", status=status, status_code=status, message=msg)
    if status == 413:
        resp.headers["Connection"] = "close"
    return resp


def too_large(limit: int) -> Message:
    mb = f"{limit / 1024 / 1024:g}"
    return Message(f"请求内容过大：上限 {mb} MB；文件请拆分后分批上传", f"the request body is too large: the limit is {mb} MB; split files and upload the parts")


class BodyLimit:
    def __init__(self, app: ASGIApp, upload_limit: int, small_limit: int = SMALL_BODY) -> None:
        self.app, self.upload_limit, self.small_limit = app, upload_limit, small_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = (scope["method"], scope["path"]) in UPLOAD_ROUTES or (
            scope["method"] == "POST" and any(p.fullmatch(scope["path"]) for p in UPLOAD_PATHS))
        if upload and not _signed_in(scope):  # before a byte of the body is read
            return await self._refuse_anonymous(scope, receive, send)
        limit = self.upload_limit if upload else self.small_limit
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            bad = not declared.strip().isdigit()
            msg = Message("Content-Length 请求头无效", "invalid Content-Length header") if bad else too_large(limit)
            return await _error(scope, 400 if bad else 413, "bad_request" if bad else "payload_too_large", msg)(scope, receive, send)
        await self._stream(scope, receive, send, limit)

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        state = {"read": 0, "over": False, "started": False}

        async def counted() -> Message_:
            msg = await receive()
            if msg["type"] == "http.request":
                state["read"] += len(msg.get("body", b""))
                if state["read"] > limit:
                    state["over"] = True
                    raise TooLarge
            return msg

        async def guarded(msg: Message_) -> None:
            if state["over"]:
                return  # the handler's answer to a cut-off body is replaced by the 413
            state["started"] = True
            await send(msg)

        with contextlib.suppress(TooLarge):
            await self.app(scope, counted, guarded)
        if state["over"] and not state["started"]:
            await _error(scope, 413, "payload_too_large", too_large(limit))(scope, receive, send)

    async def _refuse_anonymous(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith("/api/"):
            resp = _error(scope, 401, "unauthorized", Message("请先登录再上传文件", "sign in before uploading files"))
        else:
            resp = RedirectResponse("/login?next=" + quote(scope["path"]), status_code=303)
            resp.headers["Connection"] = "close"  # the unread body is not drained
        await resp(scope, receive, send)


def security_headers(path: str) -> dict[str, str]:
    """The fixed headers (for answers made outside the middleware, such as the 500 page)."""
    csp = DOCS_CSP if path in ("/api/docs", "/api/docs/oauth2-redirect") else CSP
    return {"content-security-policy": csp} | {k.decode(): v.decode() for k, v in HEADERS} | {"cache-control": "no-store"}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(msg: Message_) -> None:
            if msg["type"] == "http.response.start":
                msg["headers"] = self._headers(scope, list(msg.get("headers") or []))
            await send(msg)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        have = {k.lower() for k, _ in headers}
        docs = scope["path"] in ("/api/docs", "/api/docs/oauth2-redirect")
        extra = [(b"content-security-policy", (DOCS_CSP if docs else CSP).encode())] + list(HEADERS)
        headers += [(k, v) for k, v in extra if k not in have]
        if scope["path"].startswith("/static/") or scope["path"] == "/stats/plotly.min.js":
            return headers  # public assets stay cacheable
        sets_session = any(k.lower() == b"set-cookie" and v.startswith(b"tx_session=") for k, v in headers)
        if _signed_in(scope) or sets_session:
            headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [(b"cache-control", b"no-store")]
        return headers
