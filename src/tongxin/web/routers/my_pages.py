"""Signed-in pages: my organisation (profile, members, invitations, listings, notifications),
publish / edit / close / reopen, express interest, report, grants, contact requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...core import access as acc
from ...core.accounts import DECLINE_REASONS
from ...core.errors import Conflict, FieldError, Message, NotFound, TongxinError, ValidationError
from ...core.vocab import ORG_TYPES
from ...services.listings import common_fields, fetch, form_values
from ..deps import AccountsDep, ContactsDep, ExchangeDep, Id, ListingsDep, PageNo, form, redirect, render, viewer

router = APIRouter()


def _errors(e: ValidationError) -> dict[str, Any]:
    return {fe.field: fe.message for fe in e.errors}


# -- my organisation --------------------------------------------------------------------------------

MY_LISTINGS_PER_PAGE = 50


def _my_org_page(request: Request, accounts: Any, contacts_svc: Any, ls: Any, page: int = 1, status: int = 200, **ctx: Any) -> Any:
    """/my/org; after a refused profile or invitation form, with the problems beside that form and what was typed."""
    v = viewer(request)
    org_id = acc.require_org(v)
    listings, total = ls.mine_page(v, page, MY_LISTINGS_PER_PAGE)
    pages = max(1, -(-total // MY_LISTINGS_PER_PAGE))
    if page > pages:  # past the end (the list shrank): the last page
        listings, total = ls.mine_page(v, pages, MY_LISTINGS_PER_PAGE)
    return render(request, "my_org.html", status=status, org=accounts.organisation(v, org_id), members=accounts.members(v, org_id),
                  invitations=accounts.invitations(v, org_id) if acc.can_manage_org(v, org_id) else [],
                  listings=listings, total=total, page=min(page, pages), pages=pages,
                  notifications=accounts.notifications(v), contacts=contacts_svc.list(v),
                  org_types=ORG_TYPES, invited=request.query_params.get("invited"), profile_errors=ctx.get("profile_errors", {}),
                  profile_values=ctx.get("profile_values"), invite_errors=ctx.get("invite_errors", {}), invite_values=ctx.get("invite_values", {}))


@router.get("/my/org", response_class=HTMLResponse)
def my_org(request: Request, accounts: AccountsDep, contacts_svc: ContactsDep, ls: ListingsDep, page: PageNo = 1) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    if v.org_id is None:
        return render(request, "org_new.html", values={}, errors={}, org_types=ORG_TYPES)
    return _my_org_page(request, accounts, contacts_svc, ls, page)


NOTIFICATIONS_PER_PAGE = 50


@router.get("/my/notifications", response_class=HTMLResponse)
def my_notifications(request: Request, accounts: AccountsDep, page: PageNo = 1) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    if v.org_id is None:
        return redirect("/my/org")
    items, total = accounts.notifications_page(v, page, NOTIFICATIONS_PER_PAGE)
    return render(request, "my_notifications.html", items=items, total=total, page=page,
                  pages=max(1, -(-total // NOTIFICATIONS_PER_PAGE)))


@router.post("/my/org", response_class=HTMLResponse)
async def create_org(request: Request, accounts_svc: AccountsDep) -> Any:
    data = await form(request)
    try:
        accounts_svc.create_organisation(viewer(request), data)
    except ValidationError as e:
        return render(request, "org_new.html", status=422, values=data, errors=_errors(e), org_types=ORG_TYPES)
    return redirect("/my/org")


@router.post("/my/org/profile", response_class=HTMLResponse)
async def update_org(request: Request, accounts_svc: AccountsDep, contacts_svc: ContactsDep, ls: ListingsDep) -> Any:
    data = await form(request)
    v = viewer(request)
    org_id = acc.require_org(v)
    values = {k: val for k, val in data.items() if k != "csrf"}
    try:
        accounts_svc.update_organisation(v, org_id, values)
    except ValidationError as e:
        return _my_org_page(request, accounts_svc, contacts_svc, ls, status=422, profile_errors=_errors(e), profile_values=values)
    return redirect("/my/org")


@router.post("/my/org/invitations", response_class=HTMLResponse)
async def invite(request: Request, accounts_svc: AccountsDep, contacts_svc: ContactsDep, ls: ListingsDep) -> Any:
    data = await form(request)
    email, role = str(data.get("email", "")), str(data.get("role") or "member")
    try:
        accounts_svc.invite(viewer(request), email, role)
    except ValidationError as e:
        return _my_org_page(request, accounts_svc, contacts_svc, ls, status=422, invite_errors=_errors(e),
                            invite_values={"email": email, "role": role})
    return redirect("/my/org?invited=1")


@router.post("/my/org/members/{user_id}/remove")
async def remove_member(request: Request, accounts_svc: AccountsDep, user_id: Id) -> Any:
    await form(request)
    accounts_svc.remove_member(viewer(request), user_id)
    return redirect("/my/org")


# -- publishing ------------------------------------------------------------------------------------

def _form_page(request: Request, spec: Any, values: dict[str, Any], errors: dict[str, Any], listing_id: int | None, status: int = 200) -> Any:
    return render(request, "listing_form.html", status=status, spec=spec, common=common_fields(), values=values, errors=errors,
                  listing_id=listing_id)


@router.get("/publish", response_class=HTMLResponse)
def publish_choose(request: Request) -> Any:
    acc.require_org(viewer(request))
    return render(request, "publish_choose.html")


@router.get("/publish/{kind}", response_class=HTMLResponse)
def publish_form(request: Request, ex: ExchangeDep, kind: str) -> Any:
    acc.require_org(viewer(request))
    spec = ex.registry.get(kind)
    return _form_page(request, spec, {"visibility": "public"}, {}, None)


@router.post("/publish/{kind}", response_class=HTMLResponse)
async def publish(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, kind: str) -> Any:
    data = await form(request)
    spec = ex.registry.get(kind)
    try:
        lid = listings_svc.save(viewer(request), kind, data, publish=data.get("action") == "publish")
    except ValidationError as e:
        return _form_page(request, spec, data, _errors(e), None, 422)
    return redirect(f"/listings/{lid}")


@router.get("/listings/{listing_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, ex: ExchangeDep, listing_id: Id) -> Any:
    v = viewer(request)
    x, _ = fetch(ex, v, listing_id)
    acc.require_edit(v, x)
    spec = ex.registry.get(x.kind)
    return _form_page(request, spec, form_values(x, spec), {}, listing_id)


@router.post("/listings/{listing_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, listing_id: Id) -> Any:
    data = await form(request)
    v = viewer(request)
    x, _ = fetch(ex, v, listing_id)
    acc.require_edit(v, x)
    try:
        listings_svc.save(v, None, data, listing_id=listing_id, publish=data.get("action") == "publish")
    except ValidationError as e:
        return _form_page(request, ex.registry.get(x.kind), data, _errors(e), listing_id, 422)
    return redirect(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/close")
async def close(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    await form(request)
    listings_svc.set_open(viewer(request), listing_id, False)
    return redirect(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/reopen")
async def reopen(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    await form(request)
    listings_svc.set_open(viewer(request), listing_id, True)
    return redirect(f"/listings/{listing_id}")


def _refused(request: Request, ex: Any, ls: Any, listing_id: int, which: str, e: TongxinError, data: dict[str, Any]) -> Any:
    """The listing page again, the problem beside the form that was sent (interest / report / grant)."""
    from .pages import listing_view

    errs = e.errors or [FieldError("", e.message)]
    return listing_view(request, ex, ls, listing_id, status=e.status, problem_form=which, errors=errs,
                        values={k: v for k, v in data.items() if k != "csrf"})


@router.post("/listings/{listing_id}/grants", response_class=HTMLResponse)
async def grant(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, listing_id: Id) -> Any:
    data = await form(request)
    try:
        try:
            org_id = int(str(data.get("org_id", "")).strip())
        except ValueError:
            raise ValidationError.of([FieldError("org_id", Message("请填写机构编号（数字），如 12", "enter the organisation's number, e.g. 12"),
                                                 str(data.get("org_id", "")))]) from None
        listings_svc.grant(viewer(request), listing_id, org_id, str(data.get("note", "")), grant=True)
    except (ValidationError, Conflict, NotFound) as e:
        if isinstance(e, NotFound) and not e.errors:
            e = ValidationError.of([FieldError("org_id", e.message, str(data.get("org_id", "")))])
        return _refused(request, ex, listings_svc, listing_id, "grant", e, data)
    return redirect(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/grants/{org_id}/revoke")
async def revoke(request: Request, listings_svc: ListingsDep, listing_id: Id, org_id: Id) -> Any:
    data = await form(request)
    listings_svc.grant(viewer(request), listing_id, org_id, str(data.get("note", "")), grant=False)
    return redirect(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/report", response_class=HTMLResponse)
async def report(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, listing_id: Id) -> Any:
    data = await form(request)
    try:
        listings_svc.report(viewer(request), listing_id, str(data.get("reason", "")), str(data.get("note", "")))
    except (ValidationError, Conflict) as e:
        return _refused(request, ex, listings_svc, listing_id, "report", e, data)
    return redirect(f"/listings/{listing_id}?sent=report")


# -- contact requests ------------------------------------------------------------------------------

@router.post("/listings/{listing_id}/interest", response_class=HTMLResponse)
async def interest(request: Request, ex: ExchangeDep, ls: ListingsDep, contacts_svc: ContactsDep, listing_id: Id) -> Any:
    data = await form(request)
    try:
        contacts_svc.express_interest(viewer(request), listing_id, str(data.get("message", "")), data.get("nda_accepted") in ("1", "on", "yes"))
    except (ValidationError, Conflict) as e:
        return _refused(request, ex, ls, listing_id, "interest", e, data)
    return redirect("/my/contacts?sent=1")


CONTACTS_PER_PAGE = 50


def _page_param(request: Request, name: str) -> int:
    try:
        return min(max(1, int(request.query_params.get(name) or 1)), 1_000_000)
    except ValueError:
        return 1


def _contacts_page(request: Request, contacts_svc: Any, status: int = 200, **ctx: Any) -> Any:
    """/my/contacts; after a refused answer, the problem beside that request's form (`problem_id`) and what was typed."""
    v = viewer(request)
    acc.require_signed_in(v)
    if v.org_id is None:
        return redirect("/my/org")
    rp, sp = _page_param(request, "rpage"), _page_param(request, "spage")
    lst = contacts_svc.list(v, rp, sp, CONTACTS_PER_PAGE)
    return render(request, "contacts.html", status=status, contacts=lst, decline_reasons=DECLINE_REASONS, rpage=rp, spage=sp,
                  rpages=max(1, -(-lst["received_total"] // CONTACTS_PER_PAGE)), spages=max(1, -(-lst["sent_total"] // CONTACTS_PER_PAGE)),
                  sent=request.query_params.get("sent"), problem_id=ctx.get("problem_id"), form_errors=ctx.get("errors", []),
                  form_values=ctx.get("values", {}))


@router.get("/my/contacts", response_class=HTMLResponse)
def contacts(request: Request, contacts_svc: ContactsDep) -> Any:
    return _contacts_page(request, contacts_svc)


@router.post("/contacts/{request_id}/accept", response_class=HTMLResponse)
async def accept(request: Request, contacts_svc: ContactsDep, request_id: Id) -> Any:
    data = await form(request)
    try:
        contacts_svc.accept(viewer(request), request_id, str(data.get("note", "")))
    except (ValidationError, Conflict) as e:
        return _contacts_page(request, contacts_svc, e.status, problem_id=request_id, errors=e.errors or [FieldError("", e.message)])
    return redirect("/my/contacts")


@router.post("/contacts/{request_id}/decline", response_class=HTMLResponse)
async def decline(request: Request, contacts_svc: ContactsDep, request_id: Id) -> Any:
    data = await form(request)
    reason, note = str(data.get("reason", "")), str(data.get("note", ""))
    try:
        contacts_svc.decline(viewer(request), request_id, reason, note)
    except (ValidationError, Conflict) as e:
        return _contacts_page(request, contacts_svc, e.status, problem_id=request_id, errors=e.errors or [FieldError("", e.message)],
                              values={"reason": reason, "note": note})
    return redirect("/my/contacts")
