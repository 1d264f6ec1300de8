"""The web app factory. Pages in Chinese first (English via ?lang=en), JSON under /api/v1."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core import access as acc
from ..core import errors as E
from ..core.matching.fit import MatchContext
from ..services import Exchange
from ..storage.repo import ListingFilter
from . import routers
from .deps import HERE, MODES, render, viewer

def create_app(ex: Exchange) -> FastAPI:
    app = FastAPI(title="同心 tongxin API", version="0.1.0", docs_url="/api/docs", redoc_url=None)
    app.state.exchange = ex
    app.mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static")

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(E.TongxinError)
    async def domain_error(request: Request, exc: E.TongxinError) -> Any:
        if wants_json(request):
            return JSONResponse({"error": exc.as_dict()}, status_code=exc.status)
        return render(request, "error.html", status=exc.status, status_code=exc.status, message=exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        msg = E.Message("页面不存在", "page not found") if exc.status_code == 404 else E.Message("请求无法完成", "the request could not be completed")
        if wants_json(request):
            return JSONResponse({"error": {"code": "not_found" if exc.status_code == 404 else "http_error", "message_zh": msg.zh,
                                           "message_en": msg.en, "errors": []}}, status_code=exc.status_code)
        return render(request, "error.html", status=exc.status_code, status_code=exc.status_code, message=msg)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Any:
        errs = [{"row": None, "field": ".".join(str(p) for p in e.get("loc", [])[1:]), "value": None,
                 "message_zh": "输入无效：" + str(e.get("msg")), "message_en": str(e.get("msg"))} for e in exc.errors()]
        body = {"code": "validation_error", "message_zh": "请求参数有误", "message_en": "invalid request parameters", "errors": errs}
        if wants_json(request):
            return JSONResponse({"error": body}, status_code=422)
        return render(request, "error.html", status=422, status_code=422, message=E.Message(body["message_zh"], body["message_en"]))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Any:  # no stack traces for users
        msg = E.Message("服务器出错了，请稍后再试；问题已记录", "something went wrong on our side; please try again later")
        if wants_json(request):
            return JSONResponse({"error": {"code": "internal_error", "message_zh": msg.zh, "message_en": msg.en, "errors": []}}, status_code=500)
        return render(request, "error.html", status=500, status_code=500, message=msg)

    # -- pages ------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Any:
        v = viewer(request)
        recent_tech = ex.listings(ListingFilter(kind="technology", status="published", limit=6), v)
        recent_scen = ex.listings(ListingFilter(kind="scenario", status="published", limit=6), v)
        return render(request, "home.html", counts=ex.counts(), recent_tech=recent_tech, recent_scen=recent_scen)

    @app.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "", mode: str = "need", corridor: bool = False) -> Any:
        v = viewer(request)
        kind = MODES.get(mode, MODES["need"])[0]
        results = []
        if q.strip():
            _, results = ex.search(q, kind=kind, viewer=v, limit=20, ctx=MatchContext(prefer_corridor=corridor))
        return render(request, "search.html", q=q, mode=mode if mode in MODES else "need", results=results, corridor=corridor)

    @app.get("/listings/{listing_id}", response_class=HTMLResponse)
    def listing_page(request: Request, listing_id: int, corridor: bool = False) -> Any:
        v = viewer(request)
        listing, level = ex.get(listing_id, v)
        if level == acc.Access.NONE:
            raise E.NotFound(E.Message(f"资源 {listing_id} 不存在或无权查看", f"listing {listing_id} does not exist or is not visible to you"))
        matches = []
        if level == acc.Access.FULL and listing.status == "published":
            _, matches = ex.match(listing_id, v, limit=10, ctx=MatchContext(prefer_corridor=corridor))
        return render(request, "listing.html", x=listing, spec=ex.registry.get(listing.kind), level=int(level), matches=matches, corridor=corridor)

    # -- JSON API ---------------------------------------------------------------------------
    def listing_json(x: Any, level: int) -> dict[str, Any]:
        spec = ex.registry.get(x.kind)
        d: dict[str, Any] = {"id": x.id, "external_id": x.external_id, "kind": x.kind, "side": x.side, "title": x.title,
                             "industry": x.industry, "region": x.region, "owner": x.owner_name, "visibility": x.visibility}
        if level >= acc.Access.FULL:
            d |= {"description": x.description, "keywords": x.keywords, "status": x.status,
                  "valid_from": x.valid_from.isoformat() if x.valid_from else None,
                  "valid_until": x.valid_until.isoformat() if x.valid_until else None,
                  "attrs": {a.key: (x.attrs[a.key].isoformat() if isinstance(x.attrs.get(a.key), dt.date) else x.attrs.get(a.key))
                            for a in spec.attrs if a.key in x.attrs}}
        else:
            d["summary"] = x.summary
        return d

    @app.get("/api/v1/search")
    def api_search(request: Request, q: str, kind: str | None = None, limit: int = 10) -> Any:
        if kind is not None:
            ex.registry.get(kind)
        qterms, results = ex.search(q, kind=kind, viewer=viewer(request), limit=max(1, min(limit, 50)))
        return {"query": q, "terms": [t.term for t in qterms],
                "results": [listing_json(m.listing, acc.Access.FULL) | {"score": round(m.score, 2), "explanation": m.explanation.as_dict()} for m in results]}

    @app.get("/api/v1/listings/{listing_id}")
    def api_listing(request: Request, listing_id: int) -> Any:
        x, level = ex.get(listing_id, viewer(request))
        if level == acc.Access.NONE:
            raise E.NotFound(E.Message(f"资源 {listing_id} 不存在或无权查看", f"listing {listing_id} does not exist or is not visible to you"))
        return listing_json(x, level)

    @app.get("/api/v1/listings/{listing_id}/matches")
    def api_matches(request: Request, listing_id: int, limit: int = 10, corridor: bool = False) -> Any:
        _, res = ex.match(listing_id, viewer(request), limit=max(1, min(limit, 50)), ctx=MatchContext(prefer_corridor=corridor))
        return {"listing_id": listing_id, "results": [listing_json(m.listing, acc.Access.FULL) | {"score": round(m.score, 2), "explanation": m.explanation.as_dict()} for m in res]}

    for router in routers.all_routers():
        app.include_router(router)

    @app.get("/healthz")
    def health() -> Any:
        return {"ok": True, "counts": ex.counts()}

    return app
