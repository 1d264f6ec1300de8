"""Booking screens for people, not just the API: the requester's "my bookings" (cancel with notice), the
owner organisation's bookings inbox (approve / reject with a reason, used / no-show, cancellations), each
instrument's administration (maintenance blackouts, training records), and the staff voucher desk
(issue innovation vouchers 创新券, recognise labs as voucher service providers).

Handlers only translate forms and pick the page: who may do what is decided in core (access, booking)
through services/booking.py. Every form carries the CSRF token (deps.form checks it first).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...core import booking as B
from ...core import errors as E
from ...services.booking import Actor, Bookings
from ..deps import Id, exchange, form, redirect, render, safe_next, templates, viewer

router = APIRouter()

# the instrument page offers its managers a link to the administration page (the rule lives in core/booking.py)
templates.env.globals.setdefault("can_manage_instrument", B.can_manage)


def _bookings(request: Request) -> Bookings:
    """The booking service; `app.state.booking_clock` (tests only) moves the owner's "now" to confirm use."""
    return Bookings(exchange(request), getattr(request.app.state, "booking_clock", None))


def _now(request: Request) -> dt.datetime:
    return _bookings(request).clock()


def _actor(request: Request) -> Actor:
    """Whoever is signed in (staff may have no organisation: the service decides what they may do)."""
    v = viewer(request)
    return Actor(int(v.user_id or 0), int(v.org_id or 0), v)


def _field(name: str, zh: str, en: str, value: Any) -> E.ValidationError:
    return E.ValidationError.of([E.FieldError(name, E.Message(zh, en), value)])


def _date(data: dict[str, Any], name: str, default: dt.date | None = None) -> dt.date | None:
    raw = str(data.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise _field(name, f"日期应为 2026-03-31 的形式，实际为 ‘{raw}’", f"a date looks like 2026-03-31, got '{raw}'", raw) from None


def _moment(data: dict[str, Any], name: str) -> dt.datetime:
    raw = str(data.get(name) or "").strip()
    try:
        return B.as_cst(dt.datetime.fromisoformat(raw))
    except ValueError:
        raise _field(name, f"时间应为 2026-03-31T08:00 的形式，实际为 ‘{raw}’", f"a time looks like 2026-03-31T08:00, got '{raw}'", raw) from None


def _number(data: dict[str, Any], name: str, default: float | None = None) -> float:
    raw = str(data.get(name) or "").strip()
    if not raw and default is not None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise _field(name, f"应为数字，实际为 ‘{raw}’", f"a number is expected, got '{raw}'", raw) from None


def _back(next_url: str | None, default: str, **params: Any) -> Any:
    url = safe_next(next_url or default)
    path, _, frag = url.partition("#")
    base, _, query = path.partition("?")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0] not in params]
    q = "&".join(kept + ([urlencode(params)] if params else []))
    return redirect(base + ("?" + q if q else "") + ("#" + frag if frag else ""))


def _field_errors(e: E.TongxinError) -> dict[str, E.Message]:
    return {fe.field: fe.message for fe in e.errors}


# -- the requester ---------------------------------------------------------------------------------------

def _my_page(request: Request, status: int = 200, error: E.Message | None = None) -> Any:
    lines = _bookings(request).my_bookings(viewer(request))
    now = _now(request)
    active = [x for x in lines if x.booking.status in ("pending", "approved") and B.as_cst(x.booking.slot.end) > now]
    active.sort(key=lambda x: x.booking.slot.start)
    past = [x for x in lines if x not in active]
    return render(request, "resources/my_bookings.html", status=status, active=active, past=past, error=error,
                  done=request.query_params.get("done"), done_id=request.query_params.get("b"), status_labels=B.STATUS_LABELS)


@router.get("/my/bookings", response_class=HTMLResponse)
def my_bookings(request: Request) -> Any:
    return _my_page(request)


@router.post("/my/bookings/{booking_id}/cancel", response_class=HTMLResponse)
async def my_cancel(request: Request, booking_id: Id) -> Any:
    await form(request)
    try:
        _bookings(request).cancel(_actor(request), booking_id)
    except E.Conflict as e:  # too late, or no longer active: say so on the same page
        return _my_page(request, status=e.status, error=e.message)
    return _back("/my/bookings", "/my/bookings", done="cancelled", b=booking_id)


# -- the owner organisation: inbox and decisions -----------------------------------------------------------

@router.get("/my/instruments", response_class=HTMLResponse)
def owner_inbox(request: Request, org: int | None = None) -> Any:
    box = _bookings(request).inbox(viewer(request), org)
    return render(request, "resources/inbox.html", box=box, admin=None, done=request.query_params.get("done"),
                  done_id=request.query_params.get("b"), here=str(request.url.path) + (f"?org={org}" if org else ""),
                  status_labels=B.STATUS_LABELS)


DECISIONS = {"approve": "approve", "used": "mark_used", "no-show": "mark_no_show"}
DONE = {"approve": "approved", "used": "used", "no-show": "no_show", "reject": "rejected", "cancel": "cancelled"}


@router.post("/bookings/{booking_id}/{action}")
async def decide(request: Request, booking_id: Id, action: str) -> Any:
    data = await form(request)
    svc, actor = _bookings(request), _actor(request)
    if action == "reject":
        svc.reject(actor, booking_id, str(data.get("reason") or ""))
    elif action == "cancel":
        svc.cancel(actor, booking_id, str(data.get("reason") or ""))
    elif action in DECISIONS:
        getattr(svc, DECISIONS[action])(actor, booking_id)
    else:
        raise E.NotFound(E.Message(f"未知操作 ‘{action}’", f"unknown action '{action}'"))
    return _back(str(data.get("next") or ""), "/my/instruments", done=DONE[action], b=booking_id)


# -- one instrument: inbox, blackouts, training records ---------------------------------------------------

def _manage_page(request: Request, instrument_id: int, status: int = 200, error: E.Message | None = None,
                 errors: dict[str, E.Message] | None = None, values: dict[str, Any] | None = None) -> Any:
    adm = _bookings(request).admin(viewer(request), instrument_id)
    today = B.as_cst(adm.inbox.now).date()
    return render(request, "resources/manage.html", status=status, admin=adm, box=adm.inbox, x=adm.instrument, rules=adm.rules,
                  error=error, errors=errors or {}, values=values or {}, today=today, here=f"/instruments/{instrument_id}/manage",
                  done=request.query_params.get("done"), done_id=request.query_params.get("b"), status_labels=B.STATUS_LABELS)


@router.get("/instruments/{instrument_id}/manage", response_class=HTMLResponse)
def manage(request: Request, instrument_id: Id) -> Any:
    return _manage_page(request, instrument_id)


@router.post("/instruments/{instrument_id}/blackouts", response_class=HTMLResponse)
async def add_blackout(request: Request, instrument_id: Id) -> Any:
    data = await form(request)
    try:
        start, end = _moment(data, "start"), _moment(data, "end")
        _bookings(request).add_blackout(_actor(request), instrument_id, start, end, str(data.get("reason") or ""))
    except (E.ValidationError, E.Conflict) as e:
        return _manage_page(request, instrument_id, e.status, e.message, _field_errors(e), data)
    return _back(f"/instruments/{instrument_id}/manage#blackouts", "", done="blackout")


@router.post("/instruments/{instrument_id}/blackouts/{blackout_id}/remove")
async def remove_blackout(request: Request, instrument_id: Id, blackout_id: Id) -> Any:
    await form(request)
    _bookings(request).remove_blackout(_actor(request), instrument_id, blackout_id)
    return _back(f"/instruments/{instrument_id}/manage#blackouts", "", done="blackout_removed")


@router.post("/instruments/{instrument_id}/trainings", response_class=HTMLResponse)
async def add_training(request: Request, instrument_id: Id) -> Any:
    data = await form(request)
    try:
        on = _date(data, "trained_on", _now(request).date()) or _now(request).date()
        until = _date(data, "valid_until")
        _bookings(request).train_user(_actor(request), instrument_id, str(data.get("user") or ""), on, until)
    except (E.ValidationError, E.Conflict) as e:
        return _manage_page(request, instrument_id, e.status, e.message, _field_errors(e), data)
    return _back(f"/instruments/{instrument_id}/manage#training", "", done="trained")


# -- staff: innovation vouchers and recognised labs ----------------------------------------------------------

def _desk(request: Request, status: int = 200, error: E.Message | None = None, errors: dict[str, E.Message] | None = None,
          values: dict[str, Any] | None = None, form_name: str = "") -> Any:
    province = request.query_params.get("province") or ""
    vouchers, labs = _bookings(request).voucher_desk(viewer(request), province if province in B.VOUCHER_PROVINCES else None)
    today = _now(request).date()
    return render(request, "resources/vouchers.html", status=status, vouchers=vouchers, labs=labs, province=province, provinces=B.VOUCHER_PROVINCES,
                  error=error, errors=errors or {}, values=values or {}, form_name=form_name, today=today,
                  year_end=dt.date(today.year, 12, 31), done=request.query_params.get("done"), voucher_status=B.voucher_status_label)


@router.get("/operator/vouchers", response_class=HTMLResponse)
def voucher_desk(request: Request) -> Any:
    return _desk(request)


@router.post("/operator/vouchers", response_class=HTMLResponse)
async def issue_voucher(request: Request) -> Any:
    data = await form(request)
    try:
        today = _now(request).date()
        vf = _date(data, "valid_from", today) or today
        vu = _date(data, "valid_until", dt.date(today.year, 12, 31)) or today
        _bookings(request).issue_voucher(viewer(request), str(data.get("code") or ""), str(data.get("province") or ""), str(data.get("org") or ""),
                                         _number(data, "amount"), vf, vu, _number(data, "max_share", 50) / 100.0)
    except (E.ValidationError, E.Conflict) as e:
        return _desk(request, e.status, e.message, _field_errors(e), data, "voucher")
    return _back("/operator/vouchers", "", done="issued")


@router.post("/operator/vouchers/labs", response_class=HTMLResponse)
async def recognise_lab(request: Request) -> Any:
    data = await form(request)
    try:
        today = _now(request).date()
        on = _date(data, "recognised_on", today) or today
        _bookings(request).recognise_lab(viewer(request), str(data.get("province") or ""), str(data.get("org") or ""), on, _date(data, "valid_until"))
    except (E.ValidationError, E.Conflict) as e:
        return _desk(request, e.status, e.message, _field_errors(e), data, "lab")
    return _back("/operator/vouchers", "", done="recognised")
