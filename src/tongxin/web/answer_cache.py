"""The API's public answers served before routing: a plain ASGI middleware in front of FastAPI.

An anonymous visitor's `GET /api/v1/search` and `GET /api/v1/listings/{id}/matches` are answered
from the result cache (`services.result_cache`, held by `Listings.results`) without entering the
auth middleware, FastAPI's routing, dependency injection or the thread pool: a cached answer costs
a key and a dictionary look-up. Profiled on the demo data (one worker, 50 connections), routing
and the auth middleware took most of a cached answer's time.

What is cached and under which key is still decided by the service (`Listings.answer_key`): the
request (path and raw query string), the day, the viewer class and the index's watermark, after
the index has been brought up to date; so an answer is never older than the index it would be
computed from. Only requests without a session cookie or an `Authorization` header take this
path, and an answer is stored only when the viewer the app decided on was the anonymous visitor
and it succeeded (200). A cached answer gets its own CSRF cookie (a fresh one, as the auth
middleware gives every visitor without one), never the one of the request that computed it; the
security headers and the request id are added outside, as for every answer.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser

from ..core import access as acc
from ..services.accounts import SESSION_COOKIE
from ..services.listings import Listings
from .auth import csrf_cookie_header
from .deps import CSRF_COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# path -> the route template (for metrics and logs: cached answers are counted under their route)
CACHED_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/api/v1/search"), "/api/v1/search"),
    (re.compile(r"/api/v1/listings/[0-9]{1,18}/matches"), "/api/v1/listings/{listing_id}/matches"),
)


class _Route:
    """Stands in for the matched route in `scope["route"]` (observability reads its `path`)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


def _template(path: str) -> str | None:
    for pattern, template in CACHED_ROUTES:
        if pattern.fullmatch(path):
            return template
    return None


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed as the auth middleware parses them (Starlette's parser)."""
    raw = b"; ".join(v for k, v in scope.get("headers") or () if k == b"cookie")
    return cookie_parser(raw.decode("latin-1")) if raw else {}


class PublicAnswers:
    """Serve anonymous visitors' search and match API answers from `listings.results`."""

    def __init__(self, app: ASGIApp, listings: Listings, secure_cookies: bool) -> None:
        self.app = app
        self.listings = listings
        self.secure = secure_cookies
        self._computing: dict[Any, asyncio.Event] = {}  # keys being computed now: one computation each

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.listings.results.size == 0:
            return await self.app(scope, receive, send)
        template = _template(scope["path"])
        if template is None or any(k == b"authorization" for k, _ in scope.get("headers") or ()):
            return await self.app(scope, receive, send)
        cookies = _cookies(scope)
        if SESSION_COOKIE in cookies:
            return await self.app(scope, receive, send)
        what = ("http", scope["path"], bytes(scope.get("query_string") or b""))
        if self.listings.answer_key_is_cheap():  # nothing to sync: no thread needed (misses may hold them all)
            key = self.listings.answer_key(acc.VISITOR, what)
        else:
            key = await run_in_threadpool(self.listings.answer_key, acc.VISITOR, what)  # syncs the index
        if key is None:
            return await self.app(scope, receive, send)
        hit = self.listings.results.get(key)
        running = self._computing.get(key)
        if hit is None and running is not None:  # the same answer is being computed: wait for it
            await running.wait()
            hit = self.listings.results.get(key)
        if hit is not None:
            status, headers, body = hit
            scope["route"] = _Route(template)
            if CSRF_COOKIE not in cookies:
                headers = [*headers, csrf_cookie_header(secrets.token_urlsafe(24), self.secure)]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if key in self._computing:  # its computation failed or was not kept (an error): compute our own
            return await self.app(scope, receive, send)
        done = self._computing[key] = asyncio.Event()
        try:
            await self._compute(scope, receive, send, key)
        finally:
            del self._computing[key]
            done.set()

    async def _compute(self, scope: Scope, receive: Receive, send: Send, key: Any) -> None:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["status"] = int(message["status"])
                started["headers"] = [(k, v) for k, v in message.get("headers") or () if k.lower() != b"set-cookie"]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    viewer = (scope.get("state") or {}).get("viewer")
                    if started.get("status") == 200 and viewer is not None and acc.cache_class(viewer) == "public":
                        self.listings.results.put(key, (200, started["headers"], b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, keep)
