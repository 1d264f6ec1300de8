"""The mark licence registry on the web: the public verification page (by licence number, credit code
or part of a name, on a day) with its QR codes, the registry pages for operators and the mark owner
(issue, renew, suspend, reinstate, revoke, history, XLSX import and template, expiry reminders,
unlicensed claims), and the same under /api/v1/marks. Handlers translate; `services.licences` works."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ...core import access as acc
from ...core import booking as B
from ...core import certification as C
from ...core import errors as E
from ...services import licences as L
from .. import schemas as S
from ..deps import ExchangeDep, PageNo, exchange, form, redirect, render, viewer, xlsx_upload

router = APIRouter()
MAX_UPLOAD = 10 * 1024 * 1024
PER_PAGE = 50


def _page_no(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or 1)), 1_000_000)
    except ValueError:
        return 1


def _today(request: Request) -> dt.date:
    clock = getattr(request.app.state, "booking_clock", None)  # tests pin the resources clock
    return (clock() if clock else dt.datetime.now(B.CST)).date()


def _date(raw: str | None, default: dt.date, field: str = "date") -> dt.date:
    if not raw or not str(raw).strip():
        return default
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise E.ValidationError.of([E.FieldError(field, E.Message(f"日期应为 2026-03-31 的形式，实际为 ‘{raw}’",
                                                                  f"a date looks like 2026-03-31; got '{raw}'"), raw)]) from None


def _opt_date(raw: Any, field: str) -> dt.date | None:
    text = str(raw or "").strip()
    return _date(text, dt.date.min, field) if text else None


# -- typed API models ---------------------------------------------------------------------------

class MarkLicenceOut(BaseModel):
    """一个许可在某日的状态 / one licence's status on a day."""

    valid: bool
    status: str = Field(description="active / suspended / revoked / expired / not_yet_valid / not_found")
    mark: str | None = None
    licensee: str | None = None
    licence_no: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class MarkVerifyOut(MarkLicenceOut):  # one answer for every match
    """查验结果：最相关的一条许可（有效的优先），以及全部匹配 / the best match (valid first) and every match."""

    date: dt.date
    mark_name: str | None = None
    products: str | None = None
    reason: str | None = None
    matches: list[MarkLicenceOut] = Field(default_factory=list)


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mark: str = Field(examples=["XZD-GI"])
    licensee: str = Field(description="统一社会信用代码、全称或机构编号 / credit code, full name or id")
    licence_no: str = Field(examples=["XZD-2026-001"])
    valid_from: dt.date
    valid_until: dt.date
    products: str = Field(examples=["小站稻大米"])


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_until: dt.date
    products: str | None = None
    reason: str = ""


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str


class RemindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(L.REMIND_DAYS, ge=1, le=366)


def _brief(v: L.LicenceView) -> MarkLicenceOut:
    x = v.licence
    return MarkLicenceOut(valid=v.valid, status=v.status, mark=v.mark.code, licensee=x.org_name, licence_no=x.licence_no,
                          valid_from=x.valid_from, valid_until=x.valid_until)


def _verify_out(views: list[L.LicenceView], day: dt.date) -> MarkVerifyOut:
    if not views:
        return MarkVerifyOut(valid=False, status="not_found", date=day)
    best = views[0]
    x = best.licence
    return MarkVerifyOut(valid=best.valid, status=best.status, mark=best.mark.code, licensee=x.org_name, licence_no=x.licence_no,
                         valid_from=x.valid_from, valid_until=x.valid_until, date=day, mark_name=best.mark.name, products=x.products,
                         reason=x.reason or None, matches=[_brief(v) for v in views])


def _require_registry(request: Request) -> acc.Viewer:
    v = viewer(request)
    acc.require_signed_in(v)
    if not L.manageable_marks(exchange(request), v):
        raise acc.forbidden("只有平台运营人员或认证标志的注册人（权利人）可以管理使用许可", "only platform operators or a mark's owner may manage its licences")
    return v


# -- public pages ---------------------------------------------------------------------------------

@router.get("/marks/verify", response_class=HTMLResponse)
def verify_page(request: Request, ex: ExchangeDep, licence_no: str = "", credit_code: str = "", name: str = "", date: str = "") -> Any:
    day = _date(date, _today(request))
    asked = any(x.strip() for x in (licence_no, credit_code, name))
    views, problem, status = [], None, 200
    if asked:
        try:
            views = L.verify_public(ex, licence_no or None, credit_code or None, name or None, day)
        except E.ValidationError as e:
            problem, status = e, 422
    return render(request, "marks/verify.html", status=status, licence_no=licence_no, credit_code=credit_code, name_q=name, day=day,
                  asked=asked, views=views, problem=problem, statuses=C.STATUSES)


@router.get("/marks/licences/{licence_no}/qr.{fmt}")
def licence_qr(request: Request, ex: ExchangeDep, licence_no: str, fmt: str, scale: int = 6) -> Response:
    """二维码（印在包装上）：打开该许可的查验页 / the QR code for packaging: opens the licence's verification page."""
    data = L.qr_code(ex, licence_no, fmt, scale)
    return Response(data, media_type="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Content-Disposition": f'inline; filename="licence-{licence_no.upper()}.{fmt}"', "Cache-Control": "public, max-age=3600"})


# -- the registry (operators and the mark owner) ----------------------------------------------------

def _registry_page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    v = _require_registry(request)
    ex, day = exchange(request), _today(request)
    q = request.query_params
    mark, st, text = q.get("mark", ""), q.get("status", ""), q.get("q", "")
    page = _page_no(q.get("page"))
    items, total = L.licence_page(ex, v, mark or None, st or None, text or None, today=day, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    base = "/operator/marks?" + urlencode({k: val for k, val in (("mark", mark), ("status", st), ("q", text)) if val}) + ("&" if mark or st or text else "")
    claims = L.unlicensed_claims(ex, v, day) if v.is_staff else []
    return render(request, "marks/registry.html", status=status, items=items, total=total, page=page, pages=pages, pager_base=base,
                  marks=L.manageable_marks(ex, v), mark=mark, status_filter=st,
                  q=text, claims=claims, statuses=C.STATUSES, day=day, errors=ctx.pop("errors", []), problem=ctx.pop("problem", None),
                  form=ctx.pop("form", {}), **ctx)


@router.get("/operator/marks", response_class=HTMLResponse)
def registry_page(request: Request) -> Any:
    return _registry_page(request, done=request.query_params.get("done", ""))


@router.post("/operator/marks/issue", response_class=HTMLResponse)
async def issue_form(request: Request, ex: ExchangeDep) -> Any:
    data = await form(request)
    v = _require_registry(request)
    try:
        vf, vu = _opt_date(data.get("valid_from"), "valid_from"), _opt_date(data.get("valid_until"), "valid_until")
        x = L.issue(ex, v, str(data.get("mark") or ""), str(data.get("licensee") or ""), str(data.get("licence_no") or ""), vf, vu,
                    str(data.get("products") or ""), today=_today(request))
    except (E.ValidationError, E.Conflict) as e:
        return _registry_page(request, e.status, errors=e.errors, problem=e.message, form=data)
    return redirect(f"/operator/marks/licences/{x.licence.licence_no}?done=issue")


@router.get("/operator/marks/template.xlsx")
def template(request: Request) -> Response:
    _require_registry(request)
    from ...fileio.licences import write_licence_template

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.xlsx")
        write_licence_template(path)
        with open(path, "rb") as fh:
            body = fh.read()
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="mark-licences-template.xlsx"'})


async def _upload_import(request: Request, upload: Any) -> L.ImportReport:
    v = _require_registry(request)
    body = await xlsx_upload(upload, MAX_UPLOAD)
    ex = exchange(request)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "upload.xlsx")
        with open(path, "wb") as fh:
            fh.write(body)
        return await run_in_threadpool(L.import_licences, ex, v, path)


@router.post("/operator/marks/import", response_class=HTMLResponse)
async def import_form(request: Request) -> Any:
    posted = await request.form()
    try:
        await form(request)
        try:
            rep = await _upload_import(request, posted.get("file"))
        except (E.ValidationError, E.BadFile) as e:
            return _registry_page(request, e.status, errors=e.errors, problem=e.message)
    finally:
        await posted.close()
    return _registry_page(request, imported=rep)


@router.post("/operator/marks/remind")
async def remind_form(request: Request, ex: ExchangeDep) -> Any:
    await form(request)
    acc.require_staff(viewer(request))
    sent = L.remind_expiring(ex, _today(request))
    return _registry_page(request, reminded=sent)


@router.get("/operator/marks/licences/{licence_no}", response_class=HTMLResponse)
def licence_page(request: Request, ex: ExchangeDep, licence_no: str) -> Any:
    return _licence_page(request, ex, licence_no)


def _licence_page(request: Request, ex: Any, licence_no: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    v = _require_registry(request)
    view, events = L.history(ex, v, licence_no, _today(request))
    return render(request, "marks/licence.html", status=status, x=view, events=events, statuses=C.STATUSES, done=request.query_params.get("done", ""),
                  errors=ctx.get("errors", []), problem=ctx.get("problem"), verify_url=L.verify_url(view.licence.licence_no))


ACTIONS = ("renew", "suspend", "reinstate", "revoke")


@router.post("/operator/marks/licences/{licence_no}/{action}", response_class=HTMLResponse)
async def licence_action(request: Request, ex: ExchangeDep, licence_no: str, action: str) -> Any:
    data = await form(request)
    v = _require_registry(request)
    if action not in ACTIONS:
        raise E.NotFound(E.Message(f"未知操作 ‘{action}’，可选：{' / '.join(ACTIONS)}", f"unknown action '{action}'; use {', '.join(ACTIONS)}"))
    reason, day = str(data.get("reason") or ""), _today(request)
    try:
        if action == "renew":
            L.renew(ex, v, licence_no, _opt_date(data.get("valid_until"), "valid_until"), reason, str(data.get("products") or "") or None, today=day)
        else:
            getattr(L, action)(ex, v, licence_no, reason, today=day)
    except (E.ValidationError, E.Conflict) as e:
        return _licence_page(request, ex, licence_no, status=e.status, errors=e.errors, problem=e.message)
    return redirect(f"/operator/marks/licences/{licence_no.upper()}?done={action}")


# -- API --------------------------------------------------------------------------------------------

@router.get("/api/v1/marks/verify", response_model=MarkVerifyOut, tags=["marks"])
def api_verify(request: Request, ex: ExchangeDep, licence_no: str | None = None, credit_code: str | None = None, name: str | None = None,
               date: str | None = None) -> Any:
    """公开查验认证标志使用许可（许可编号、统一社会信用代码或机构名称的一部分，可指定日期） / verify a mark licence
    by number, credit code or part of the licensee's name, on a day (default today). No match: valid=false, status=not_found."""
    day = _date(date, _today(request))
    return _verify_out(L.verify_public(ex, licence_no, credit_code, name, day), day)


@router.get("/api/v1/marks/licences", tags=["marks"], response_model=S.LicencesOut, response_model_exclude_unset=True)
def api_licences(request: Request, ex: ExchangeDep, mark: str | None = None, status: str | None = None, q: str | None = None,
                 page: PageNo = 1) -> Any:
    """50 a page, newest end date first; `total` counts every licence that matches."""
    v = _require_registry(request)
    day = _today(request)
    items, total = L.licence_page(ex, v, mark, status, q, today=day, page=page, per_page=PER_PAGE)
    return {"date": day.isoformat(), "items": [x.as_dict() for x in items], "total": total, "page": page, "per_page": PER_PAGE}


@router.post("/api/v1/marks/licences", status_code=201, tags=["marks"], response_model=S.LicenceViewOut, response_model_exclude_unset=True)
def api_issue(request: Request, ex: ExchangeDep, body: LicenceIn) -> Any:
    return L.issue(ex, viewer(request), body.mark, body.licensee, body.licence_no, body.valid_from, body.valid_until, body.products,
                   today=_today(request)).as_dict()


@router.get("/api/v1/marks/licences/{licence_no}", tags=["marks"], response_model=S.LicenceDetailOut, response_model_exclude_unset=True)
def api_licence(request: Request, ex: ExchangeDep, licence_no: str) -> Any:
    view, events = L.history(ex, viewer(request), licence_no, _today(request))
    return {**view.as_dict(), "credit_code": view.credit_code, "history": [e.as_dict() for e in events]}


@router.post("/api/v1/marks/licences/{licence_no}/renew", tags=["marks"], response_model=S.LicenceViewOut, response_model_exclude_unset=True)
def api_renew(request: Request, ex: ExchangeDep, licence_no: str, body: RenewIn) -> Any:
    return L.renew(ex, viewer(request), licence_no, body.valid_until, body.reason, body.products, today=_today(request)).as_dict()


@router.post("/api/v1/marks/licences/{licence_no}/{action}", tags=["marks"], response_model=S.LicenceViewOut, response_model_exclude_unset=True)
def api_action(request: Request, ex: ExchangeDep, licence_no: str, action: str, body: ReasonIn) -> Any:
    """suspend / reinstate / revoke, each with {"reason": "…"} (kept in the history, sent to the licensee)."""
    if action not in ("suspend", "reinstate", "revoke"):
        raise E.NotFound(E.Message(f"未知操作 ‘{action}’，可选：suspend / reinstate / revoke", f"unknown action '{action}'; use suspend, reinstate or revoke"))
    return getattr(L, action)(ex, viewer(request), licence_no, body.reason, today=_today(request)).as_dict()


@router.post("/api/v1/marks/licences/import", tags=["marks"], response_model=S.LicenceImportOut, response_model_exclude_unset=True)
async def api_import(request: Request) -> Any:
    """multipart/form-data with `file`: the licence XLSX (template: /operator/marks/template.xlsx); all or nothing."""
    posted = await request.form()
    try:
        return (await _upload_import(request, posted.get("file"))).as_dict()
    finally:
        await posted.close()


@router.get("/api/v1/marks/unlicensed-claims", tags=["marks"], response_model=S.UnlicensedClaimsOut, response_model_exclude_unset=True)
def api_unlicensed(request: Request, ex: ExchangeDep, date: str | None = None) -> Any:
    day = _date(date, _today(request))
    return {"date": day.isoformat(), "items": [c.as_dict() for c in L.unlicensed_claims(ex, viewer(request), day)]}


@router.post("/api/v1/marks/reminders", tags=["marks"], response_model=S.RemindedOut, response_model_exclude_unset=True)
def api_remind(request: Request, ex: ExchangeDep, body: RemindIn | None = None) -> Any:
    acc.require_staff(viewer(request))
    return {"reminded": L.remind_expiring(ex, _today(request), body.days if body else L.REMIND_DAYS)}
