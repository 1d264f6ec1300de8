"""Public pages: home, search with filters and facets, listing page, organisation profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...core.accounts import DECLINE_REASONS, REPORT_REASONS
from ...core.errors import ValidationError
from ...core.listing import ListingFilter
from ...core.matching.fit import MatchContext
from ..deps import AccountsDep, ExchangeDep, Id, ListingsDep, render, search_modes, viewer

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ex: ExchangeDep, ls: ListingsDep) -> Any:
    v = viewer(request)
    recommended: list[Any] = []
    if v.org_id is not None:  # counterparts of the organisation's newest published listing
        mine = [s for s in ls.mine(v) if s.listing.status == "published"]
        if mine and mine[0].listing.id is not None:
            recommended = ls.matches(v, mine[0].listing.id, limit=4)
            recommended = [(mine[0].listing, s) for s in recommended]
    offer, need = ex.registry.kind_with("headline_offer"), ex.registry.kind_with("headline_need")
    return render(request, "home.html", counts=ex.counts(), offer_kind=offer, need_kind=need,
                  recent_tech=ls.recent(v, offer) if offer else [], recent_scen=ls.recent(v, need) if need else [], recommended=recommended)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, q: str = "", mode: str = "need", corridor: bool = False) -> Any:
    from ...services.filters import filter_params
    from ...services.listings import SearchFilters, parse_filters

    v, reg = viewer(request), ex.registry
    modes = search_modes(reg)
    mode = mode if mode in modes else "need"
    params = dict(request.query_params)
    params.setdefault("kind", modes[mode][0])
    errors: list[Any] = []
    try:
        f = parse_filters(params, ex)
    except ValidationError as e:
        kind = params["kind"] if params.get("kind") in reg else modes[mode][0]
        errors, f = e.errors, SearchFilters(kind=kind)
    res = listings_svc.search(v, q, f, limit=30, ctx=MatchContext(prefer_corridor=corridor))
    return render(request, "search.html", q=q, mode=mode, res=res, f=f, corridor=corridor, errors=errors, params=params,
                  filter_params=filter_params(reg, f.kind or modes[mode][0]), raw=params)


def listing_view(request: Request, ex: Any, ls: Any, listing_id: int, corridor: bool = False, status: int = 200,
                 problem_form: str = "", errors: Any = None, values: dict[str, Any] | None = None) -> Any:
    """The listing page; after a refused interest, report or grant form, with the problems beside that form
    (`problem_form`: interest / report / grant) and what was typed."""
    page = ls.listing_page(viewer(request), listing_id, ctx=MatchContext(prefer_corridor=corridor))
    shown = page.shown
    return render(request, "listing.html", status=status, s=shown, x=shown.listing, spec=ex.registry.get(shown.listing.kind),
                  level=int(shown.level), matches=page.matches, corridor=corridor, grants=page.grants,
                  report_reasons=REPORT_REASONS, decline_reasons=DECLINE_REASONS, sent=request.query_params.get("sent"),
                  problem_form=problem_form, form_errors=errors or [], form_values=values or {})


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
def listing_page(request: Request, ex: ExchangeDep, ls: ListingsDep, listing_id: Id, corridor: bool = False) -> Any:
    return listing_view(request, ex, ls, listing_id, corridor)


@router.get("/orgs/{org_id}", response_class=HTMLResponse)
def org_page(request: Request, accounts_svc: AccountsDep, listings_svc: ListingsDep, org_id: Id) -> Any:
    v = viewer(request)
    org = accounts_svc.organisation(v, org_id)
    listings, _ = listings_svc.page(v, ListingFilter(owner_id=org_id, status="published"), 0, 50)
    from ...core.org_facts import FACT_FIELDS

    return render(request, "org.html", org=org, listings=listings, fact_fields=FACT_FIELDS)
