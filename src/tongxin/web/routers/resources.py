"""Pages and API of the resource kinds: instrument catalogue, calendars and booking, iCalendar export,
usage statistics, certification verification and the policies an organisation qualifies for.

Handlers only translate: rules live in core/, work in services/. Booking needs a signed-in viewer
with a user id (`Viewer.user_id`, added by the accounts work); until then booking answers 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ...core import access as acc
from ...core import booking as B
from ...core import errors as E
from ...core import regions
from ...core.kinds.instrument import CATEGORIES
from ...core.kinds.resources import SPECS as RESOURCE_SPECS
from ...core.listing import Listing, ListingFilter
from ...core.matching.fit import MatchContext
from ...core.matching.rank import Match
from ...services.booking import Actor, Bookings
from ...services.certification import licensed_matches, licensees, marks, verify_licence
from ...services.exchange import Exchange
from ...services.policy import Eligibility, evaluate_all
from .. import schemas as S
from ..deps import ExchangeDep, Id, PageNo, exchange, form, login_url, redirect, render, viewer

router = APIRouter()
PROVINCE_CODES = {"BJ": "110000", "TJ": "120000", "HE": "130000"}
RESOURCE_KINDS = tuple(s.name for s in RESOURCE_SPECS)


def _today() -> dt.date:
    return dt.datetime.now(B.CST).date()


def _date(raw: str | None, default: dt.date) -> dt.date:
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise E.ValidationError.of([E.FieldError("date", E.Message(f"日期应为 2026-03-31 的形式，实际为 ‘{raw}’", f"a date looks like 2026-03-31, got '{raw}'"), raw)]) from None


def _actor(request: Request) -> Actor:
    """The signed-in user. Needs Viewer.user_id from the accounts work; anonymous users may not book."""
    v = viewer(request)
    user_id = getattr(v, "user_id", None)
    if user_id is None or v.org_id is None:
        raise E.Forbidden(E.Message("请先登录并绑定所属机构后再预约", "sign in (with your organisation) to book"))
    return Actor(int(user_id), int(v.org_id), v)


def _bookings(request: Request) -> Bookings:
    return Bookings(exchange(request))


def _instrument_json(x: Any) -> dict[str, Any]:
    return {"id": x.id, "title": x.title, "owner": x.owner_name, "region": x.region, "region_label": regions.label(x.region),
            "attrs": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in x.attrs.items()}}


def _bookable_kind(request: Request) -> str:
    """The kind with booking calendars (KindSpec.roles 'bookable'); without one these pages do not exist."""
    kind = exchange(request).registry.kind_with("bookable")
    if kind is None:
        raise E.NotFound(E.Message("没有可预约的资源类型", "no kind of listing can be booked"))
    return kind


def _catalogue(request: Request, q: str, province: str, category: str, limit: int) -> tuple[list[Any], list[Any]]:
    ex, v, kind = exchange(request), viewer(request), _bookable_kind(request)
    if q.strip():
        _, matches = ex.search(q, kind=kind, viewer=v, limit=limit * 2 if category else limit)
        pairs: list[tuple[Listing, Match | None]] = [(m.listing, m) for m in matches]
    else:
        rows = ex.listings(ListingFilter(kind=kind, status="published", region=PROVINCE_CODES.get(province), limit=limit * 4 if category else limit), v)
        pairs = [(x, None) for x in rows]
    pairs = [(x, m) for x, m in pairs if (not category or x.attrs.get("category") == category)
             and (not province or regions.province_of(x.region) == province)][:limit]
    return [x for x, _ in pairs], [m for _, m in pairs]


# -- pages ------------------------------------------------------------------------------------

@router.get("/resources", response_class=HTMLResponse)
def resources_home(request: Request, ex: ExchangeDep) -> Any:
    counts = ex.counts()
    return render(request, "resources/home.html", specs=RESOURCE_SPECS, counts=counts)


@router.get("/resources/{kind}", response_class=HTMLResponse)
def resources_kind(request: Request, ex: ExchangeDep, kind: str, q: str = "", region: str = "") -> Any:
    v = viewer(request)
    if kind not in RESOURCE_KINDS:
        raise E.NotFound(E.Message(f"未知的资源类型 ‘{kind}’", f"unknown resource kind '{kind}'"))
    if q.strip():
        _, results = ex.search(q, kind=kind, viewer=v, limit=30)
        items = [m.listing for m in results]
    else:
        results = []
        items = ex.listings(ListingFilter(kind=kind, status="published", region=PROVINCE_CODES.get(region), limit=30), v)
    return render(request, "resources/kind.html", spec=ex.registry.get(kind), q=q, region=region, items=items, results=results)


@router.get("/instruments", response_class=HTMLResponse)
def instruments_page(request: Request, q: str = "", province: str = "", category: str = "") -> Any:
    items, matches = _catalogue(request, q, province, category, 30)
    return render(request, "resources/instruments.html", q=q, province=province, category=category, items=items, matches=matches,
                  spec=exchange(request).registry.get(_bookable_kind(request)), categories=CATEGORIES, provinces=list(PROVINCE_CODES))


@router.get("/instruments/stats", response_class=HTMLResponse)
def stats_page(request: Request, group: str = "region", days: int = 90) -> Any:
    start, end = B.last_days(dt.datetime.now(B.CST), max(1, min(days, 730)))
    rows = _bookings(request).stats(group, start, end, viewer=viewer(request))
    return render(request, "resources/stats.html", rows=rows[:100], group=group, days=days, groups=B.GROUPS)


@router.get("/instruments/{instrument_id}", response_class=HTMLResponse)
def instrument_page(request: Request, ex: ExchangeDep, instrument_id: Id, view: str = "week", date: str | None = None, booked: int | None = None) -> Any:
    return _instrument_page(request, ex, instrument_id, view, date, booked)


def _instrument_page(request: Request, ex: Exchange, instrument_id: int, view: str = "week", date: str | None = None, booked: int | None = None,
                     status: int = 200, **form_state: Any) -> Any:
    """The instrument's calendar and booking form (`form_state`: book_values, book_errors, book_problem after a refused booking)."""
    v = viewer(request)
    svc = _bookings(request)
    anchor = _date(date, _today())
    x, cal = svc.calendar(instrument_id, "day" if view == "day" else "week", anchor, getattr(v, "user_id", None))
    if acc.access(v, x) < acc.Access.FULL:
        raise E.NotFound(E.Message(f"仪器 {instrument_id} 不存在或无权查看", f"instrument {instrument_id} does not exist or is not visible to you"))
    step = dt.timedelta(days=1 if cal.view == "day" else 7)
    return render(request, "resources/instrument.html", x=x, spec=ex.registry.get(_bookable_kind(request)), cal=cal, anchor=anchor,
                  prev=(anchor - step).isoformat(), next=(anchor + step).isoformat(), rules=B.InstrumentRules.of(x.attrs),
                  can_book=getattr(v, "user_id", None) is not None and v.org_id is not None, booked=booked, status_labels=B.STATUS_LABELS,
                  status=status, **form_state)


@router.post("/instruments/{instrument_id}/book")
async def book_form(request: Request, instrument_id: Id) -> Any:
    v = viewer(request)
    if getattr(v, "user_id", None) is None:
        return redirect(login_url(request).replace("/book", ""))
    data = await form(request)  # checks the CSRF token
    actor = _actor(request)
    try:
        day = _date(str(data.get("date") or ""), _today())
        s, e = _moment(day, data, "start"), _moment(day, data, "end")
        samples = _count(data, "samples")
        amount = _amount(data, "voucher_amount")
        voucher = str(data.get("voucher") or "").strip() or None
        b = _bookings(request).request(actor, instrument_id, s, e, str(data.get("purpose") or ""), samples, voucher, amount,
                                       str(data.get("cost_centre") or ""), str(data.get("project_code") or ""))
    except (E.ValidationError, E.Conflict, E.Forbidden) as err:  # said on the form, next to the field, with what was typed
        errors = {fe.field: fe.message for fe in err.errors}
        shown_day = str(data.get("date") or "") if "date" not in errors else None
        return await run_in_threadpool(_instrument_page, request, exchange(request), instrument_id, "week", shown_day or None,
                                       None, err.status, book_values=data, book_errors=errors, book_problem=None if errors else err.message)
    return redirect(f"/instruments/{instrument_id}?date={day.isoformat()}&booked={b.id}")


def _moment(day: dt.date, data: dict[str, Any], name: str) -> dt.datetime:
    raw = str(data.get(name) or "").strip()
    try:
        return dt.datetime.combine(day, dt.time.fromisoformat(raw), B.CST)
    except ValueError:
        raise E.ValidationError.of([E.FieldError(name, E.Message(f"时间应为 09:00 的形式，实际为 ‘{raw}’", f"a time looks like 09:00; got '{raw}'"), raw)]) from None


def _count(data: dict[str, Any], name: str) -> int:
    raw = str(data.get(name) or "").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise E.ValidationError.of([E.FieldError(name, E.Message(f"样品数应为整数，实际为 ‘{raw}’", f"the number of samples is a whole number; got '{raw}'"), raw)]) from None


def _amount(data: dict[str, Any], name: str) -> float | None:
    raw = str(data.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise E.ValidationError.of([E.FieldError(name, E.Message(f"抵扣金额应为数字（元），实际为 ‘{raw}’", f"the voucher amount is a number of yuan; got '{raw}'"), raw)]) from None


@router.get("/instruments/{instrument_id}/calendar.ics")
def instrument_ics(request: Request, instrument_id: Id) -> Response:
    x = _bookings(request).instrument(instrument_id)
    if acc.access(viewer(request), x) < acc.Access.FULL:
        raise E.NotFound(E.Message(f"仪器 {instrument_id} 不存在", f"instrument {instrument_id} does not exist"))
    return Response(_bookings(request).ics(instrument_id), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="instrument-{instrument_id}.ics"'})


@router.get("/certifications", response_class=HTMLResponse)
def certifications_page(request: Request, ex: ExchangeDep) -> Any:
    return render(request, "resources/certifications.html", marks=marks(ex))


@router.get("/certifications/verify", response_class=HTMLResponse)
def verify_page(request: Request, ex: ExchangeDep, mark: str = "", org: str = "", date: str | None = None) -> Any:
    day = _date(date, _today())
    verdict, error = None, None
    if mark.strip() and org.strip():
        try:
            verdict = verify_licence(ex, mark, org, day)
        except E.NotFound as e:
            error = e.message
    return render(request, "resources/verify.html", mark=mark, org=org, day=day, verdict=verdict, error=error, marks=marks(ex))


@router.get("/certifications/{code}", response_class=HTMLResponse)
def licensees_page(request: Request, ex: ExchangeDep, code: str, date: str | None = None, page: PageNo = 1) -> Any:
    from urllib.parse import quote as quote_path

    from ...services.certification import licensees_page as page_of

    day = _date(date, _today())
    m, lics, total = page_of(ex, code, day, page, 50)
    return render(request, "resources/licensees.html", mark=m, licences=lics, day=day, total=total, page=page,
                  pages=max(1, -(-total // 50)), pager_base=f"/certifications/{quote_path(m.code)}?date={day}&")


@router.get("/policies/eligible", response_class=HTMLResponse)
def policies_page(request: Request, ex: ExchangeDep, org: str = "", date: str | None = None) -> Any:
    day = _date(date, _today())
    name, rows = "", list[Eligibility]()
    if org.strip():
        name, rows = evaluate_all(ex, org, day, viewer(request))
    return render(request, "resources/policies.html", org=org, org_name=name, rows=rows, day=day)


# -- JSON API -----------------------------------------------------------------------------------

@router.get("/api/v1/instruments", response_model=S.InstrumentsOut, response_model_exclude_unset=True)
def api_instruments(request: Request, q: str = "", province: str = "", category: str = "", limit: int = 20) -> Any:
    items, matches = _catalogue(request, q, province, category, max(1, min(limit, 100)))
    out = []
    for x, m in zip(items, matches, strict=False):
        d = _instrument_json(x)
        if m is not None:
            d |= {"score": round(m.score, 2), "explanation": m.explanation.as_dict()}
        out.append(d)
    return {"query": q, "results": out}


@router.get("/api/v1/instruments/stats", response_model=S.UsageOut, response_model_exclude_unset=True)
def api_stats(request: Request, group: str = "instrument", start: str | None = None, end: str | None = None) -> Any:
    """Usage between `start` and `end` (dates, end exclusive); by default the last 90 days up to now,
    the same window as the page and `tongxin resources stats`."""
    s, e = B.last_days(dt.datetime.now(B.CST), 90)
    if start:
        s = dt.datetime.combine(_date(start, s.date()), dt.time(), B.CST)
    if end:
        e = dt.datetime.combine(_date(end, e.date()), dt.time(), B.CST)
    rows = _bookings(request).stats(group, s, e, viewer=viewer(request))
    return {"group": group, "start": s.isoformat(), "end": e.isoformat(), "rows": [r.as_dict() for r in rows]}


@router.get("/api/v1/instruments/{instrument_id}", response_model=S.InstrumentOut, response_model_exclude_unset=True)
def api_instrument(request: Request, instrument_id: Id) -> Any:
    x = _bookings(request).instrument(instrument_id)
    if acc.access(viewer(request), x) < acc.Access.FULL:
        raise E.NotFound(E.Message(f"仪器 {instrument_id} 不存在", f"instrument {instrument_id} does not exist"))
    return _instrument_json(x)


@router.get("/api/v1/instruments/{instrument_id}/calendar", response_model=S.CalendarOut, response_model_exclude_unset=True)
def api_calendar(request: Request, instrument_id: Id, view: str = "week", date: str | None = None) -> Any:
    v = viewer(request)
    x, cal = _bookings(request).calendar(instrument_id, view, _date(date, _today()), getattr(v, "user_id", None))
    if acc.access(v, x) < acc.Access.FULL:  # occupancy is as private as the instrument
        raise acc.not_visible("仪器", "instrument", instrument_id)
    return {"instrument_id": x.id, "view": cal.view, "days": [d.isoformat() for d in cal.days], "hours": cal.hours,
            "cells": [[{"state": cal.cell(hi, di).state, "booking_id": cal.cell(hi, di).booking_id} for di in range(len(cal.days))] for hi in range(len(cal.hours))]}


@router.get("/api/v1/instruments/{instrument_id}/calendar.ics")
def api_ics(request: Request, instrument_id: Id) -> Response:
    return instrument_ics(request, instrument_id)


class BookingIn(BaseModel):
    instrument_id: int
    start: dt.datetime
    end: dt.datetime
    purpose: str = Field("", max_length=2000)
    samples: int = Field(0, ge=0)
    voucher: str | None = None
    voucher_amount: float | None = Field(None, gt=0)
    cost_centre: str = Field("", max_length=64, description="成本中心（可选）/ cost centre (optional)")
    project_code: str = Field("", max_length=64, description="项目编号（可选）/ project code (optional)")


@router.post("/api/v1/bookings", status_code=201, response_model=S.BookingOut, response_model_exclude_unset=True)
def api_book(request: Request, body: BookingIn) -> Any:
    b = _bookings(request).request(_actor(request), body.instrument_id, body.start, body.end, body.purpose, body.samples, body.voucher, body.voucher_amount,
                                   body.cost_centre, body.project_code)
    return b.as_dict()


@router.get("/api/v1/bookings/{booking_id}", response_model=S.BookingOut, response_model_exclude_unset=True)
def api_booking(request: Request, booking_id: Id) -> Any:
    actor = _actor(request)
    svc = _bookings(request)
    b = svc.get(booking_id)
    if b.user_id != actor.user_id and not B.can_manage(actor.viewer, svc.instrument(b.instrument_id).owner_id):
        raise E.NotFound(E.Message(f"预约 {booking_id} 不存在", f"booking {booking_id} does not exist"))
    return b.as_dict()


ACTIONS = {"approve": "approve", "reject": "reject", "cancel": "cancel", "used": "mark_used", "no-show": "mark_no_show"}


class BookingNote(BaseModel):
    reason: str | None = Field(None, max_length=2000)


@router.post("/api/v1/bookings/{booking_id}/{action}", response_model=S.BookingOut, response_model_exclude_unset=True)
def api_booking_action(request: Request, booking_id: Id, action: str, body: BookingNote | None = None) -> Any:
    """reject and cancel take an optional {"reason": "…"}; the requester sees it."""
    if action not in ACTIONS:
        raise E.NotFound(E.Message(f"未知操作 ‘{action}’，可选：{' / '.join(ACTIONS)}", f"unknown action '{action}'; use {', '.join(ACTIONS)}"))
    svc, actor = _bookings(request), _actor(request)
    reason = body.reason if body is not None else None
    if action in ("reject", "cancel"):
        return getattr(svc, action)(actor, booking_id, reason).as_dict()
    return getattr(svc, ACTIONS[action])(actor, booking_id).as_dict()


@router.get("/api/v1/certifications/verify", response_model=S.VerdictOut, response_model_exclude_unset=True)
def api_verify(request: Request, ex: ExchangeDep, mark: str, org: str, date: str | None = None) -> Any:
    return verify_licence(ex, mark, org, _date(date, _today())).as_dict()


@router.get("/api/v1/certifications/{code}/licensees", response_model=S.LicenseesOut, response_model_exclude_unset=True)
def api_licensees(request: Request, ex: ExchangeDep, code: str, date: str | None = None) -> Any:
    day = _date(date, _today())
    m, lics = licensees(ex, code, day)
    return {"mark": m.code, "name": m.name, "date": day.isoformat(), "count": len(lics),
            "licensees": [{"org_id": x.org_id, "org_name": x.org_name, "licence_no": x.licence_no, "valid_from": x.valid_from.isoformat(),
                           "valid_until": x.valid_until.isoformat()} for x in lics]}


@router.get("/api/v1/retail-needs/{listing_id}/licensed-matches", response_model=S.LicensedMatchesOut, response_model_exclude_unset=True)
def api_licensed_matches(request: Request, ex: ExchangeDep, listing_id: Id, limit: int = 10) -> Any:
    res = licensed_matches(ex, listing_id, viewer(request), max(1, min(limit, 50)), MatchContext())
    return {"listing_id": listing_id, "results": [{"id": m.listing.id, "title": m.listing.title, "owner": m.listing.owner_name,
                                                   "score": round(m.score, 2), "explanation": m.explanation.as_dict()} for m in res]}


@router.get("/api/v1/policies/eligible", response_model=S.PoliciesOut, response_model_exclude_unset=True)
def api_policies(request: Request, ex: ExchangeDep, org: str, date: str | None = None, include_all: bool = False) -> Any:
    day = _date(date, _today())
    name, rows = evaluate_all(ex, org, day, viewer(request))
    return {"org": name, "date": day.isoformat(), "policies": [r.as_dict() for r in rows if include_all or r.qualifies]}
