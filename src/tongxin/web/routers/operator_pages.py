"""Operator console: organisations to verify (credit code with its check result), reported and
hidden listings, a summary of activity. Staff only (core.access.require_staff)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...core import access as acc
from ..deps import AccountsDep, Id, ListingsDep, PageNo, form, redirect, render, viewer

router = APIRouter()
PENDING_PER_PAGE = 50


@router.get("/operator", response_class=HTMLResponse)
def console(request: Request, accounts_svc: AccountsDep, ls: ListingsDep, page: PageNo = 1) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    acc.require_staff(v)
    pending, total = accounts_svc.pending_page(v, page, PENDING_PER_PAGE)
    return render(request, "operator.html", pending=pending, pending_total=total, page=page, pages=max(1, -(-total // PENDING_PER_PAGE)),
                  reports=ls.reports(v), hidden=ls.hidden(v), summary=ls.summary(v))


@router.post("/operator/orgs/{org_id}/verify")
async def verify(request: Request, accounts_svc: AccountsDep, org_id: Id) -> Any:
    await form(request)
    accounts_svc.verify_organisation(viewer(request), org_id)
    return redirect("/operator")


@router.post("/operator/listings/{listing_id}/hide")
async def hide(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    data = await form(request)
    listings_svc.moderate(viewer(request), listing_id, True, str(data.get("note", "")))
    return redirect("/operator")


@router.post("/operator/listings/{listing_id}/restore")
async def restore(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    data = await form(request)
    listings_svc.moderate(viewer(request), listing_id, False, str(data.get("note", "")))
    return redirect("/operator")
