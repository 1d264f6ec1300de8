"""The web app factory. Pages in Chinese first (English via ?lang=en), JSON under /api/v1.

Pages and API live in routers (web/routers); this module wires services, the auth middleware
and one error translation per face (JSON envelope for /api/, an HTML page otherwise)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core import errors as E
from ..services import Exchange
from ..services.accounts import Accounts
from ..services.alert_sender import Sender, Worker
from ..services.alerts import secret_key
from ..services.contacts import Contacts
from ..services.contracts import Contracts
from ..services.deals import Deals
from ..services.listings import Listings
from ..services.mail import Mailer, mailer_from_env
from ..services.stats import Statistics
from ..settings import max_upload_bytes, setting, threads
from . import auth, observability, openapi_docs, routers, schemas
from .answer_cache import PublicAnswers
from .deps import HERE, login_url, redirect, render
from .security import BodyLimit, SecurityHeaders, allowed_methods, security_headers

log = logging.getLogger("tongxin.web")
HEALTH_COUNTS_TTL = 10.0  # seconds /healthz reuses its public counts


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> Any:
    import anyio.to_thread

    # sync routes run in a bounded thread pool sized like the database pool (settings.threads()):
    # more threads than connections only queue on the pool, and on 2 cores they only add switching
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads()
    worker = None
    if background_in_web():  # embeds queued listings in the background; Exchange.close stops it
        getattr(app.state.exchange.semantic, "start_worker", lambda: None)()
        if alerts_in_web():  # due alerts and mail without cron (claims keep several workers apart)
            worker = Worker(app.state.alert_sender, _interval())
            worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
        owned = getattr(app.state, "owned_exchange", None)
        if owned is not None:  # a worker process built its own exchange (app_from_env): close it on shutdown
            owned.close()


def background_in_web() -> bool:
    """TONGXIN_WEB_BACKGROUND: the web process runs background work (embedding) itself unless 0."""
    return setting("TONGXIN_WEB_BACKGROUND").lower() not in ("0", "false", "no", "off")


def alerts_in_web() -> bool:
    """TONGXIN_ALERTS_WORKER: the web process runs due alert work itself unless 0."""
    return setting("TONGXIN_ALERTS_WORKER").strip().lower() not in ("0", "false", "no", "off", "")


def _interval() -> float:
    try:
        return max(float(setting("TONGXIN_ALERTS_INTERVAL")), 0.5)
    except ValueError:
        return 10.0


def app_from_env() -> FastAPI:
    """The app factory for `tongxin serve --workers N`: each worker process opens its own Exchange
    from the environment (one index writer among them, the others readers kept current by it)."""
    from ..settings import Config
    from .observability import configure_logging

    configure_logging()
    ex = Exchange.from_config(Config.from_env())
    app = create_app(ex)
    app.state.owned_exchange = ex
    return app


def create_app(ex: Exchange, mailer: Mailer | None = None) -> FastAPI:
    app = FastAPI(title="同心 tongxin API", version="0.1.0", docs_url="/api/docs", redoc_url=None, lifespan=_lifespan)
    mailer = mailer or mailer_from_env()
    app.state.exchange = ex
    app.state.accounts = Accounts(ex, mailer)
    app.state.listings = Listings(ex)
    app.state.contacts = Contacts(ex, mailer)
    key_dir = os.path.dirname(os.path.abspath(ex.index_dir)) if ex.index_dir else None  # the data directory
    app.state.alert_sender = Sender(ex, mailer, secret=secret_key(key_dir))
    app.state.deals = Deals(ex)
    app.state.contracts = Contracts(ex)
    app.state.statistics = Statistics(ex)
    app.mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static")

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(E.TongxinError)
    async def domain_error(request: Request, exc: E.TongxinError) -> Any:
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry else None
        if wants_json(request):
            return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)
        if exc.status == 401:
            return redirect(login_url(request))
        return render(request, "error.html", status=exc.status, status_code=exc.status, message=exc.message, errors=exc.errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 404:
            msg, code = E.Message("页面不存在", "page not found"), "not_found"
        elif exc.status_code == 405:
            msg, code = E.Message("不支持此请求方法", "method not allowed"), "method_not_allowed"
        elif exc.status_code == 400:  # FastAPI's answer to a body it cannot decode (bad UTF-8, nesting too deep)
            msg, code = E.Message("请求内容无法解析：请发送 UTF-8 编码的 JSON 或表单", "the request body could not be parsed: send UTF-8 encoded JSON or form data"), "bad_request"
        else:
            msg, code = E.Message("请求无法完成", "the request could not be completed"), "http_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        if wants_json(request):
            return JSONResponse({"error": {"code": code, "message_zh": msg.zh, "message_en": msg.en, "errors": []}},
                                status_code=exc.status_code, headers=headers)
        resp = render(request, "error.html", status=exc.status_code, status_code=exc.status_code, message=msg)
        resp.headers.update(headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Any:
        problems = [(".".join(str(p) for p in e.get("loc", [])[1:]), E.Message("输入无效：" + str(e.get("msg")), str(e.get("msg"))))
                    for e in exc.errors()]
        message = E.Message("请求参数有误", "invalid request parameters")
        if wants_json(request):
            errs = [{"row": None, "field": field, "value": None, "message_zh": m.zh, "message_en": m.en} for field, m in problems]
            body = {"code": "validation_error", "message_zh": message.zh, "message_en": message.en, "errors": errs}
            return JSONResponse({"error": body}, status_code=422)
        return render(request, "error.html", status=422, status_code=422, message=message,
                      errors=[E.FieldError(field, m) for field, m in problems])

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Any:  # a number or date no column or calendar can hold
        log.warning("out-of-range value on %s %s: %s", request.method, request.url.path, exc)
        e = E.ValidationError(E.Message("数值或日期超出可处理的范围，请检查输入", "a number or date is out of the range that can be handled; check the input"))
        return await domain_error(request, e)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Any:  # no stack traces for users
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        msg = E.Message("服务器出错了，请稍后再试；问题已记录", "something went wrong on our side; please try again later")
        if wants_json(request):
            resp: Any = JSONResponse({"error": {"code": "internal_error", "message_zh": msg.zh, "message_en": msg.en, "errors": []}}, status_code=500)
        else:
            resp = render(request, "error.html", status=500, status_code=500, message=msg)
        resp.headers.update(security_headers(request.url.path))  # this answer bypasses the middlewares
        return resp

    app.add_middleware(BodyLimit, upload_limit=max_upload_bytes())  # inside auth: knows who is asking
    auth.install(app)
    app.add_middleware(PublicAnswers, listings=app.state.listings, secure_cookies=auth.cookie_secure())  # cached answers skip auth and routing
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors included
    for router in routers.all_routers():
        app.include_router(router)

    counted: list[Any] = [0.0, None]  # (when, counts): a liveness probe must stay cheap under load

    @app.get("/healthz", response_model=schemas.HealthOut)
    def health() -> Any:
        """Liveness: the process answers. The public counts are refreshed at most every 10 s."""
        now = time.monotonic()
        if counted[1] is None or now - counted[0] > HEALTH_COUNTS_TTL:
            counted[:] = [now, ex.counts()]
        return {"ok": True, "counts": counted[1]}

    openapi_docs.install(app)
    observability.install(app)  # last: outermost middleware, sees every answer and its time
    return app
