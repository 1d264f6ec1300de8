"""Instrument billing pages and API (issue #15): check-in / check-out / confirm, the waitlist and its claim
links, monthly statements (XLSX / PDF), voucher claims and their settlement, owners' income per
instrument and month. Handlers only translate: the rules are in core/billing.py, the work in
services/billing.py. Included before the resources routers (its /bookings/{id}/check-in paths
would otherwise meet their /bookings/{id}/{action})."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ...core import billing as BL
from ...core import booking as B
from ...core import errors as E
from ...services import billing_files as F
from ...services.billing import Billing
from ...services.booking import Actor
from .. import schemas as S
from ..deps import Id, exchange, form, lang_of, redirect, render, safe_next, viewer

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _billing(request: Request) -> Billing:
    """`app.state.booking_clock` (tests only) moves "now", as for the booking screens."""
    return Billing(exchange(request), getattr(request.app.state, "booking_clock", None))


def _actor(request: Request) -> Actor:
    v = viewer(request)
    if v.user_id is None:
        raise E.Forbidden(E.Message("请先登录", "sign in first"))
    return Actor(int(v.user_id), int(v.org_id or 0), v)


def _field(name: str, zh: str, en: str, value: Any) -> E.ValidationError:
    return E.ValidationError.of([E.FieldError(name, E.Message(zh, en), value)])


def _moment(raw: object, name: str) -> dt.datetime | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return B.as_cst(dt.datetime.fromisoformat(text))
    except ValueError:
        raise _field(name, f"时间应为 2026-03-31T08:00 的形式，实际为 ‘{text}’", f"a time looks like 2026-03-31T08:00, got '{text}'", text) from None


def _this_month(request: Request) -> str:
    return f"{B.as_cst(_billing(request).clock()):%Y-%m}"


def _download(data: bytes, media: str, name: str) -> Response:
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    return Response(data, media_type=media, headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})


# -- check-in / check-out (pages) -------------------------------------------------------------------------

@router.post("/bookings/{booking_id}/check-in")
async def page_check_in(request: Request, booking_id: Id) -> Any:
    data = await form(request)
    _billing(request).check_in(_actor(request), booking_id, _moment(data.get("at"), "at"))
    return redirect(safe_next(str(data.get("next") or "/my/instruments")) + f"#b{booking_id}")


@router.post("/bookings/{booking_id}/check-out")
async def page_check_out(request: Request, booking_id: Id) -> Any:
    data = await form(request)
    _billing(request).check_out(_actor(request), booking_id, _moment(data.get("at"), "at"), _moment(data.get("start"), "start"))
    return redirect(safe_next(str(data.get("next") or "/my/instruments")) + f"#b{booking_id}")


@router.post("/bookings/{booking_id}/confirm")
async def page_confirm(request: Request, booking_id: Id) -> Any:
    data = await form(request)
    _billing(request).confirm(_actor(request), booking_id)
    return redirect(safe_next(str(data.get("next") or "/my/instruments")) + f"#b{booking_id}")


# -- waitlist (pages) ---------------------------------------------------------------------------------------

@router.post("/instruments/{instrument_id}/waitlist")
async def page_join_wait(request: Request, instrument_id: Id) -> Any:
    data = await form(request)
    day = str(data.get("date") or "").strip()
    start = _moment(f"{day}T{str(data.get('start') or '').strip()}", "start")
    end = _moment(f"{day}T{str(data.get('end') or '').strip()}", "end")
    if start is None or end is None:
        raise _field("start", "请填写日期和开始、结束时间", "give the date, start and end", None)
    _billing(request).join_waitlist(_actor(request), instrument_id, start, end)
    return redirect("/my/waitlist?done=joined")


@router.get("/my/waitlist", response_class=HTMLResponse)
def my_waitlist(request: Request) -> Any:
    return render(request, "billing/waitlist.html", waits=_billing(request).my_waits(viewer(request)), statuses=BL.WAIT_STATUSES,
                  done=request.query_params.get("done"))


@router.get("/waitlist/claim/{token}", response_class=HTMLResponse)
def claim_page(request: Request, token: str) -> Any:
    if viewer(request).user_id is None:
        return redirect(f"/login?next=/waitlist/claim/{quote(token)}")
    return render(request, "billing/claim.html", w=_billing(request).offer(viewer(request), token), statuses=BL.WAIT_STATUSES, token=token)


@router.post("/waitlist/claim/{token}")
async def claim_form(request: Request, token: str) -> Any:
    data = await form(request)
    b = _billing(request).claim(_actor(request), token, str(data.get("cost_centre") or ""), str(data.get("project_code") or ""))
    return redirect(f"/my/bookings?done=claimed&b={b.id}")


@router.post("/my/waitlist/{wait_id}/withdraw")
async def withdraw_form(request: Request, wait_id: Id) -> Any:
    await form(request)
    _billing(request).withdraw(_actor(request), wait_id)
    return redirect("/my/waitlist?done=withdrawn")


# -- statements (pages and downloads) -----------------------------------------------------------------------

def _statement(request: Request, month: str | None, org: str, cost_centre: str, project_code: str) -> BL.Statement:
    return _billing(request).statement(viewer(request), month or _this_month(request), org or None, cost_centre, project_code)


@router.get("/my/statements", response_class=HTMLResponse)
def statements_page(request: Request, month: str | None = None, org: str = "", cost_centre: str = "", project_code: str = "") -> Any:
    st = _statement(request, month, org, cost_centre, project_code)
    q = "&".join(f"{k}={quote(v)}" for k, v in (("month", st.month), ("org", org), ("cost_centre", st.cost_centre), ("project_code", st.project_code)) if v)
    return render(request, "billing/statement.html", st=st, query=q, org=org)


@router.get("/my/statements.{fmt}")
def statement_download(request: Request, fmt: str, month: str | None = None, org: str = "", cost_centre: str = "", project_code: str = "") -> Response:
    return _statement_file(request, fmt, month, org, cost_centre, project_code)


def _statement_file(request: Request, fmt: str, month: str | None, org: str, cost_centre: str, project_code: str) -> Response:
    if fmt not in ("xlsx", "pdf"):
        raise E.NotFound(E.Message(f"格式应为 xlsx 或 pdf，实际为 ‘{fmt}’", f"the format is xlsx or pdf; got '{fmt}'"))
    st = _statement(request, month, org, cost_centre, project_code)
    name = f"statement-{st.org_id}-{st.month}" + "".join(f"-{v}" for v in (st.cost_centre, st.project_code) if v)
    if fmt == "pdf":
        return _download(F.statement_pdf(st), "application/pdf", name + ".pdf")
    return _download(F.statement_xlsx(st), XLSX, name + ".xlsx")


# -- voucher claims (the issuer) -------------------------------------------------------------------------------

@router.get("/operator/voucher-claims", response_class=HTMLResponse)
def claims_page(request: Request, month: str | None = None, province: str = "") -> Any:
    m = month or _this_month(request)
    claims = _billing(request).voucher_claims(viewer(request), m, province)
    return render(request, "billing/claims.html", claims=claims, month=BL.month_label(m), province=province,
                  total=round(sum(c.amount for c in claims), 2), outstanding=round(sum(c.amount for c in claims if not c.settled), 2),
                  done=request.query_params.get("done"))


@router.get("/operator/voucher-claims.xlsx")
def claims_xlsx(request: Request, month: str | None = None, province: str = "") -> Response:
    m = month or _this_month(request)
    return _download(F.claims_xlsx(_billing(request).voucher_claims(viewer(request), m, province), BL.month_label(m)), XLSX,
                     f"voucher-claims-{BL.month_label(m)}{'-' + province if province else ''}.xlsx")


@router.post("/operator/voucher-claims/{booking_id}/settle")
async def settle_form(request: Request, booking_id: Id) -> Any:
    data = await form(request)
    c = _billing(request).settle_claim(viewer(request), booking_id, str(data.get("reference") or ""))
    return redirect(f"/operator/voucher-claims?month={c.day:%Y-%m}&done={booking_id}")


# -- owners' income -----------------------------------------------------------------------------------------------

@router.get("/my/instruments/income", response_class=HTMLResponse)
def income_page(request: Request, months: int = 12, org: int | None = None) -> Any:
    svc = _billing(request)
    name, rows = svc.income(viewer(request), months, org)
    no_shows = svc.no_show_counts(viewer(request), org)
    months_seen = sorted({r.month for r in rows})
    traces = []
    for iid in dict.fromkeys(r.instrument_id for r in rows):  # one stacked bar per instrument
        mine = {r.month: r.fee for r in rows if r.instrument_id == iid}
        traces.append({"type": "bar", "name": next(r.instrument for r in rows if r.instrument_id == iid)[:24], "x": months_seen,
                       "y": [mine.get(m, 0) for m in months_seen]})
    spec = {"data": traces, "layout": {"title": {"text": "每月仪器收入（元）" if lang_of(request) != "en" else "Income per month (CNY)"}, "height": 320,
                                       "barmode": "stack", "margin": {"l": 60, "r": 20, "t": 40, "b": 40}, "xaxis": {"type": "category"},
                                       "yaxis": {"title": {"text": "元" if lang_of(request) != "en" else "CNY"}}, "showlegend": len(traces) > 1}}
    return render(request, "billing/income.html", org_name=name, org=org, rows=rows, months=months, no_shows=no_shows,
                  spec=json.dumps(spec, ensure_ascii=False) if rows else "", total=round(sum(r.fee for r in rows), 2))


# -- API ----------------------------------------------------------------------------------------------------------

class CheckIn(BaseModel):
    at: dt.datetime | None = Field(None, description="签到时间，默认现在 / check-in time, default now")


class CheckOut(BaseModel):
    at: dt.datetime | None = Field(None, description="签退时间，默认现在 / check-out time, default now")
    start: dt.datetime | None = Field(None, description="实际开始（未签到时）/ actual start when not checked in")


class WaitIn(BaseModel):
    start: dt.datetime
    end: dt.datetime


class ClaimIn(BaseModel):
    token: str = Field(..., min_length=8, max_length=64)
    cost_centre: str = Field("", max_length=64)
    project_code: str = Field("", max_length=64)


class SettleIn(BaseModel):
    reference: str = Field("", max_length=200)


@router.post("/api/v1/bookings/{booking_id}/check-in", response_model=S.BookingOut, response_model_exclude_unset=True, tags=["billing"])
def api_check_in(request: Request, booking_id: Id, body: CheckIn | None = None) -> Any:
    return _billing(request).check_in(_actor(request), booking_id, body.at if body else None).as_dict()


@router.post("/api/v1/bookings/{booking_id}/check-out", response_model=S.BookingOut, response_model_exclude_unset=True, tags=["billing"])
def api_check_out(request: Request, booking_id: Id, body: CheckOut | None = None) -> Any:
    return _billing(request).check_out(_actor(request), booking_id, body.at if body else None, body.start if body else None).as_dict()


@router.post("/api/v1/bookings/{booking_id}/confirm", response_model=S.BookingOut, response_model_exclude_unset=True, tags=["billing"])
def api_confirm(request: Request, booking_id: Id) -> Any:
    return _billing(request).confirm(_actor(request), booking_id).as_dict()


@router.post("/api/v1/bookings/release-no-shows", response_model=S.DueOut, tags=["billing"])
def api_release_no_shows(request: Request) -> Any:
    """Mark approved bookings not checked in within the grace period as no-shows, free their slots
    (offered to the waitlist) and pass expired offers on; staff only (the server also does it by itself)."""
    return _billing(request).release_due(viewer(request)).as_dict()


@router.post("/api/v1/instruments/{instrument_id}/waitlist", status_code=201, response_model=S.WaitOut, tags=["billing"])
def api_join_wait(request: Request, instrument_id: Id, body: WaitIn) -> Any:
    return _billing(request).join_waitlist(_actor(request), instrument_id, body.start, body.end).as_dict()


@router.get("/api/v1/waitlist", response_model=S.WaitListOut, tags=["billing"])
def api_waitlist(request: Request) -> Any:
    return {"entries": [w.as_dict() for w in _billing(request).my_waits(viewer(request))]}


@router.post("/api/v1/waitlist/claim", status_code=201, response_model=S.BookingOut, response_model_exclude_unset=True, tags=["billing"])
def api_claim(request: Request, body: ClaimIn) -> Any:
    return _billing(request).claim(_actor(request), body.token, body.cost_centre, body.project_code).as_dict()


@router.get("/api/v1/statements", response_model=S.StatementOut, tags=["billing"])
def api_statement(request: Request, month: str, org: str = "", cost_centre: str = "", project_code: str = "") -> Any:
    return _statement(request, month, org, cost_centre, project_code).as_dict()


@router.get("/api/v1/statements.{fmt}", tags=["billing"])
def api_statement_file(request: Request, fmt: str, month: str, org: str = "", cost_centre: str = "", project_code: str = "") -> Response:
    return _statement_file(request, fmt, month, org, cost_centre, project_code)


@router.get("/api/v1/voucher-claims", response_model=S.ClaimsOut, tags=["billing"])
def api_claims(request: Request, month: str, province: str = "") -> Any:
    claims = _billing(request).voucher_claims(viewer(request), month, province)
    return {"month": BL.month_label(month), "claims": [c.as_dict() for c in claims], "amount": round(sum(c.amount for c in claims), 2),
            "outstanding": round(sum(c.amount for c in claims if not c.settled), 2)}


@router.post("/api/v1/voucher-claims/{booking_id}/settle", response_model=S.ClaimOut, tags=["billing"])
def api_settle(request: Request, booking_id: Id, body: SettleIn | None = None) -> Any:
    return _billing(request).settle_claim(viewer(request), booking_id, body.reference if body else "").as_dict()


@router.get("/api/v1/income/instruments", response_model=S.IncomeOut, tags=["billing"])
def api_income(request: Request, months: Annotated[int, Query(ge=1, le=36)] = 12, org: int | None = None) -> Any:
    name, rows = _billing(request).income(viewer(request), months, org)
    return {"org": name, "rows": [r.as_dict() for r in rows], "fee": round(sum(r.fee for r in rows), 2)}
