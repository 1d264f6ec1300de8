"""What an operator watches: request ids, an access log, Prometheus metrics, /readyz and /metrics.

- Every request gets an id (the caller's `X-Request-ID` when it is sane, else a new one), echoed
  in the answer and written in each access-log line (`tongxin.access`).
- `/metrics` (Prometheus text format): request latency per route template, match latency, and at
  scrape time the readiness gauges (ready, index documents and lag, embedding queue). With
  several workers (`tongxin serve --workers N`) every worker writes its samples under
  PROMETHEUS_MULTIPROC_DIR and any worker answers a scrape with the sum. `TONGXIN_METRICS_TOKEN`
  set: a scrape must send `Authorization: Bearer <token>`.
- `/readyz`: 200 when this host can answer correctly, 503 with the failing check otherwise.
- `TONGXIN_LOG_FORMAT=json`: one JSON object per log line (time, level, logger, message, request id).
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..services import health
from ..settings import setting
from . import schemas

access_log = logging.getLogger("tongxin.access")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("tongxin_request_id", default="-")
PROBES = ("/healthz", "/readyz", "/metrics")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = Histogram("tongxin_http_request_duration_seconds", "HTTP request latency by method, route template and status",
                     ("method", "route", "status"), buckets=BUCKETS)
MATCHES = Histogram("tongxin_match_request_duration_seconds", "Latency of the match and search API and pages",
                    ("route",), buckets=BUCKETS)
MATCH_ROUTES = ("/api/v1/search", "/api/v1/listings/{listing_id}/matches", "/search", "/listings/{listing_id}")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    p = str(scope.get("path", ""))
    return "/static" if p.startswith("/static/") else "other"  # never the raw path: unbounded labels


class RequestContext:
    """Outermost ASGI middleware: request id, access log, latency histograms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.match(given) else secrets.token_hex(8)
        token = request_id_var.set(rid)
        status = 500
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            took = time.perf_counter() - t0
            route = _route_of(scope)
            method = str(scope.get("method", ""))
            if route not in PROBES:
                REQUESTS.labels(method, route, str(status)).observe(took)
                if route in MATCH_ROUTES:
                    MATCHES.labels(route).observe(took)
            access_log.info("%s %s %s %.1fms", method, scope.get("path", ""), status, took * 1000,
                            extra={"request_id": rid, "route": route, "status": status, "ms": round(took * 1000, 2)})
            request_id_var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors (journald, Loki, ELK) parse without rules."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key in ("route", "status", "ms"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(stream: Any = None) -> None:
    """Root logging for the server: JSON lines with TONGXIN_LOG_FORMAT=json, else plain text with the request id."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if setting("TONGXIN_LOG_FORMAT").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_tongxin", False):
            root.removeHandler(h)
    handler._tongxin = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class _LiveGauges:
    """Gauges computed at scrape time from this host's state (not summed over workers)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        r = health.readiness(self.app.state.exchange)
        idx = r.checks.get("index", {})
        yield GaugeMetricFamily("tongxin_ready", "1 when /readyz answers 200", value=1.0 if r.ready else 0.0)
        yield GaugeMetricFamily("tongxin_index_documents", "Listings in this host's search index", value=float(idx.get("documents", 0)))
        yield GaugeMetricFamily("tongxin_index_behind_changes", "Listing changes the index has not applied yet",
                                value=float(idx.get("behind", 0)))
        waiting = r.checks.get("embedding_queue", {}).get("waiting")
        yield GaugeMetricFamily("tongxin_embedding_queue_depth", "Listings waiting for a vector", value=float(waiting or 0))


def _registry(app: FastAPI) -> CollectorRegistry:
    reg = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(reg)  # every worker's samples, summed
    else:  # only our metrics: no per-process Python/GC noise
        for c in (REQUESTS, MATCHES):
            reg.register(c)
    reg.register(_LiveGauges(app))
    return reg


def install(app: FastAPI) -> None:
    """Add the probes and the request-context middleware (call last: it must be outermost)."""

    @app.get("/readyz", include_in_schema=True, tags=["运维 operations"], response_model=schemas.ReadyOut,
             summary="就绪检查 readiness: database, index and lag",
             responses={503: {"description": "未就绪 not ready: the failing check is named", "model": schemas.ReadyOut}})
    async def readyz(request: Request) -> JSONResponse:
        r = await run_in_threadpool(health.readiness, request.app.state.exchange)
        return JSONResponse(r.as_dict(), status_code=200 if r.ready else 503, headers={"Cache-Control": "no-store"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = setting("TONGXIN_METRICS_TOKEN")
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"error": {"code": "unauthorized", "message_zh": "需要监控令牌", "message_en": "a metrics token is required",
                                               "errors": []}}, status_code=401)
        body = await run_in_threadpool(lambda: generate_latest(_registry(request.app)))
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    app.add_middleware(RequestContext)
