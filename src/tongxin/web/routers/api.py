"""JSON API under /api/v1 (described by /openapi.json). Auth: `Authorization: Bearer <token>`
or the session cookie (then writes need the X-CSRF-Token header). Errors use one envelope:
{"error": {"code", "message_zh", "message_en", "errors": [field errors]}}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel

from ...core import access as acc
from ...core.accounts import DECLINE_REASONS, REPORT_REASONS
from ...core.errors import Message, ValidationError
from ...core.listing import ListingFilter
from ...core.matching.fit import MatchContext
from ...services.accounts import Me
from ...services.listings import SearchResult, Shown, common_fields, listing_dict, parse_filters
from .. import schemas as S
from ..deps import AccountsDep, ContactsDep, Cursor, ExchangeDep, Id, ListingsDep, PageNo, me, viewer

router = APIRouter(prefix="/api/v1", tags=["api"])


class SignUp(BaseModel):
    email: str
    password: str
    name: str


class TokenRequest(BaseModel):
    name: str = "api"
    email: str | None = None
    password: str | None = None
    expires_in_days: int | str | None = None  # 30, 90, 365 or null/"never"


class ResetRequest(BaseModel):
    email: str


class ResetConfirm(BaseModel):
    token: str
    password: str


class Interest(BaseModel):
    message: str
    nda_accepted: bool = False


class Decline(BaseModel):
    reason: str
    note: str = ""


class Note(BaseModel):
    note: str = ""


class Report(BaseModel):
    reason: str
    note: str = ""


class GrantBody(BaseModel):
    org_id: int
    note: str = ""


class Invite(BaseModel):
    email: str
    role: str = "member"


def _json(model: type[BaseModel], data: dict[str, Any]) -> bytes:
    """The JSON body FastAPI would send for `data` under `response_model=model` with
    `response_model_exclude_unset=True`: validated by the model and serialised by pydantic-core
    in one pass (the result cache keeps these bytes)."""
    return model.model_validate(data).model_dump_json(exclude_unset=True, by_alias=True).encode()


def _me(request: Request) -> Me:
    v = viewer(request)
    acc.require_signed_in(v)
    m = me(request)
    if m is None:  # a viewer without a person behind it (never for requests)
        raise acc.forbidden("需要用户身份", "a user is required")
    return m


# -- accounts ---------------------------------------------------------------------------------------

@router.get("/me", response_model=S.MeOut, response_model_exclude_unset=True)
def get_me(request: Request) -> Any:
    return _me(request).as_dict()


@router.post("/auth/signup", status_code=202, response_model=S.Ok, response_model_exclude_unset=True)
def api_signup(request: Request, accounts_svc: AccountsDep, body: SignUp) -> Any:
    """Create an account; then create a token with POST /auth/tokens (e-mail + password). The answer is
    the same whether or not the e-mail was registered before (the mailbox is told which)."""
    accounts_svc.register(body.email, body.password, body.name, request.client.host if request.client else "-")
    return {"ok": True, "message_zh": "如该邮箱尚未注册，账号已创建，可用此邮箱和密码登录；我们已向该邮箱发送邮件说明",
            "message_en": "unless the e-mail was registered before, the account is ready to sign in with; we sent that mailbox an e-mail"}


@router.post("/auth/tokens", status_code=201, response_model=S.NewTokenOut, response_model_exclude_unset=True)
def create_token(request: Request, accounts: AccountsDep, body: TokenRequest) -> Any:
    """Create an API token: signed in (session or token), or with e-mail and password (rate-limited)."""
    v = viewer(request)
    if not v.signed_in:
        if not body.email or not body.password:
            from ...core.accounts import Unauthorized

            raise Unauthorized(Message("请提供邮箱和密码，或先登录", "give e-mail and password, or sign in first"))
        uid = accounts.authenticate(body.email, body.password, request.client.host if request.client else "-")
        v = accounts.viewer(uid)
    tid, token = accounts.create_token(v, body.name, body.expires_in_days)
    return {"id": tid, "token": token, "note_zh": "令牌只显示这一次，请妥善保存", "note_en": "the token is shown once; keep it safe"}


@router.get("/auth/tokens", response_model=S.TokensOut, response_model_exclude_unset=True)
def list_tokens(request: Request, accounts_svc: AccountsDep) -> Any:
    return {"items": accounts_svc.tokens(viewer(request))}


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(request: Request, accounts_svc: AccountsDep, token_id: Id) -> Response:
    accounts_svc.revoke_token(viewer(request), token_id)
    return Response(status_code=204)


@router.post("/auth/password-reset", status_code=202, response_model=S.Ok, response_model_exclude_unset=True)
def request_reset(request: Request, accounts_svc: AccountsDep, body: ResetRequest) -> Any:
    accounts_svc.request_reset(body.email)
    return {"ok": True, "message_zh": "如果该邮箱已注册，重置链接已发送", "message_en": "if the e-mail is registered, a reset link was sent"}


@router.post("/auth/password-reset/confirm", response_model=S.Ok, response_model_exclude_unset=True)
def confirm_reset(request: Request, accounts_svc: AccountsDep, body: ResetConfirm) -> Any:
    accounts_svc.reset_password(body.token, body.password)
    return {"ok": True}


# -- kinds, listings, search ------------------------------------------------------------------------

@router.get("/kinds", response_model=S.KindsOut, response_model_exclude_unset=True)
def kinds(request: Request, ex: ExchangeDep) -> Any:
    def fd(a: Any) -> dict[str, Any]:
        return {"key": a.key, "zh": a.zh, "en": a.en, "type": a.type, "required": a.required, "min": a.min, "max": a.max,
                "choices": [{"value": c.value, "zh": c.zh, "en": c.en} for c in a.choices], "help_zh": a.help_zh, "help_en": a.help_en,
                "unit_zh": a.unit_zh, "unit_en": a.unit_en, "searchable": a.searchable,
                "filter": {"param": a.filter_param, "mode": a.filter.mode, "zh": a.filter_label("zh"), "en": a.filter_label("en")} if a.filter else None}

    reg = ex.registry
    return {"common": [fd(a) for a in common_fields()],
            "kinds": [{"name": k.name, "zh": k.zh, "en": k.en, "sides": list(k.sides), "matches_with": list(reg.counterparts(k.name)),
                       "attrs": [fd(a) for a in k.attrs]} for k in reg],
            "decline_reasons": [{"value": c.value, "zh": c.zh, "en": c.en} for c in DECLINE_REASONS],
            "report_reasons": [{"value": c.value, "zh": c.zh, "en": c.en} for c in REPORT_REASONS]}


@router.get("/listings", response_model=S.ListingPage, response_model_exclude_unset=True)
def list_listings(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, kind: str | None = None, side: str | None = None, region: str | None = None,
                  industry: str | None = None, cursor: Cursor = 0, per_page: int = 20) -> Any:
    if kind is not None:
        ex.registry.get(kind)
    f = ListingFilter(kind=kind, side=side, region=region, industry=industry, status="published")
    items, nxt = listings_svc.page(viewer(request), f, cursor, max(1, min(per_page, 100)))
    return {"items": [listing_dict(s, ex) for s in items], "next_cursor": nxt}


@router.get("/search", response_model=S.SearchOut, response_model_exclude_unset=True)
def api_search(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, q: str = "", limit: int = 10, corridor: bool = False) -> Any:
    """Free-text search with the page's filters: kind, side, region, industry, since, and the
    filters the kinds' fields declare (e.g. trl, budget; see /api/v1/kinds, attrs[].filter)."""
    params = dict(request.query_params)
    if params.get("kind"):
        ex.registry.get(params["kind"])
    f = parse_filters(params, ex)

    def render(res: SearchResult) -> bytes:
        return _json(S.SearchOut, {
            "query": q, "terms": res.terms, "total": res.total,
            "facets": {k: [{"value": v, "zh": zh, "en": en, "count": n} for v, zh, en, n in vals] for k, vals in res.facets.items()},
            "results": [listing_dict(s, ex) for s in res.items]})

    body = render(listings_svc.search(viewer(request), q, f, limit=max(1, min(limit, 50)), ctx=MatchContext(prefer_corridor=corridor)))
    return Response(body, media_type="application/json")  # an anonymous visitor's answer is kept by web/answer_cache


@router.get("/export", response_model=S.ListingItems, response_model_exclude_unset=True)
def api_export(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, kind: str | None = None) -> Any:
    """Every listing visible to the caller, as the caller may see it."""
    if kind is not None:
        ex.registry.get(kind)
    return {"items": listings_svc.export(viewer(request), kind)}


@router.get("/listings/{listing_id}", response_model=S.ListingOut, response_model_exclude_unset=True)
def get_listing(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, listing_id: Id) -> Any:
    return listing_dict(listings_svc.show(viewer(request), listing_id), ex)


@router.get("/listings/{listing_id}/matches", response_model=S.MatchesOut, response_model_exclude_unset=True)
def get_matches(request: Request, ex: ExchangeDep, listings_svc: ListingsDep, listing_id: Id, limit: int = 10, corridor: bool = False) -> Any:
    def render(res: list[Shown]) -> bytes:
        return _json(S.MatchesOut, {"listing_id": listing_id, "results": [listing_dict(s, ex) for s in res]})

    body = render(listings_svc.matches(viewer(request), listing_id, limit=max(1, min(limit, 50)), ctx=MatchContext(prefer_corridor=corridor)))
    return Response(body, media_type="application/json")  # an anonymous visitor's answer is kept by web/answer_cache


@router.post("/listings", status_code=201, response_model=S.ListingOut, response_model_exclude_unset=True)
def create_listing(request: Request, ex: ExchangeDep, ls: ListingsDep, body: dict[str, Any] = Body(..., examples=[{"kind": "scenario", "publish": True, "title": "…"}])) -> Any:
    kind = str(body.get("kind") or "")
    if not kind:
        raise ValidationError.of([_fe("kind", "资源类型为必填项", "kind is required")])
    lid = ls.save(viewer(request), kind, body, publish=bool(body.get("publish")))
    return listing_dict(ls.show(viewer(request), lid), ex)


@router.put("/listings/{listing_id}", response_model=S.ListingOut, response_model_exclude_unset=True)
def update_listing(request: Request, ex: ExchangeDep, ls: ListingsDep, listing_id: Id, body: dict[str, Any] = Body(...)) -> Any:
    ls.save(viewer(request), None, body, listing_id=listing_id, publish=bool(body.get("publish")))
    return listing_dict(ls.show(viewer(request), listing_id), ex)


@router.post("/listings/{listing_id}/close", response_model=S.StatusOut, response_model_exclude_unset=True)
def close_listing(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    return {"status": listings_svc.set_open(viewer(request), listing_id, False)}


@router.post("/listings/{listing_id}/reopen", response_model=S.StatusOut, response_model_exclude_unset=True)
def reopen_listing(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    return {"status": listings_svc.set_open(viewer(request), listing_id, True)}


@router.post("/listings/{listing_id}/interest", status_code=201, response_model=S.ContactOut, response_model_exclude_unset=True)
def express_interest(request: Request, contacts_svc: ContactsDep, listing_id: Id, body: Interest) -> Any:
    cid = contacts_svc.express_interest(viewer(request), listing_id, body.message, body.nda_accepted)
    return contacts_svc.get(viewer(request), cid)


@router.post("/listings/{listing_id}/report", status_code=201, response_model=S.IdOut, response_model_exclude_unset=True)
def report_listing(request: Request, listings_svc: ListingsDep, listing_id: Id, body: Report) -> Any:
    return {"id": listings_svc.report(viewer(request), listing_id, body.reason, body.note)}


@router.get("/listings/{listing_id}/grants", response_model=S.GrantsOut, response_model_exclude_unset=True)
def list_grants(request: Request, listings_svc: ListingsDep, listing_id: Id) -> Any:
    return listings_svc.grants(viewer(request), listing_id)


@router.post("/listings/{listing_id}/grants", status_code=201, response_model=S.GrantsOut, response_model_exclude_unset=True)
def add_grant(request: Request, listings_svc: ListingsDep, listing_id: Id, body: GrantBody) -> Any:
    listings_svc.grant(viewer(request), listing_id, body.org_id, body.note, grant=True)
    return listings_svc.grants(viewer(request), listing_id)


@router.delete("/listings/{listing_id}/grants/{org_id}", response_model=S.GrantsOut, response_model_exclude_unset=True)
def revoke_grant(request: Request, listings_svc: ListingsDep, listing_id: Id, org_id: Id) -> Any:
    listings_svc.grant(viewer(request), listing_id, org_id, "", grant=False)
    return listings_svc.grants(viewer(request), listing_id)


# -- contact requests --------------------------------------------------------------------------------

@router.get("/contacts", response_model=S.ContactsOut, response_model_exclude_unset=True)
def list_contacts(request: Request, contacts_svc: ContactsDep, received_page: PageNo = 1, sent_page: PageNo = 1) -> Any:
    """收到的与发出的合作意向，各 50 条一页 / requests received and sent, 50 of each a page."""
    return contacts_svc.list(viewer(request), received_page, sent_page)


@router.get("/contacts/{request_id}", response_model=S.ContactOut, response_model_exclude_unset=True)
def get_contact(request: Request, contacts_svc: ContactsDep, request_id: Id) -> Any:
    return contacts_svc.get(viewer(request), request_id)


@router.post("/contacts/{request_id}/accept", response_model=S.ContactOut, response_model_exclude_unset=True)
def accept_contact(request: Request, contacts_svc: ContactsDep, request_id: Id, body: Note | None = None) -> Any:
    contacts_svc.accept(viewer(request), request_id, body.note if body else "")
    return contacts_svc.get(viewer(request), request_id)


@router.post("/contacts/{request_id}/decline", response_model=S.ContactOut, response_model_exclude_unset=True)
def decline_contact(request: Request, contacts_svc: ContactsDep, request_id: Id, body: Decline) -> Any:
    contacts_svc.decline(viewer(request), request_id, body.reason, body.note)
    return contacts_svc.get(viewer(request), request_id)


# -- organisations ----------------------------------------------------------------------------------

@router.post("/organisations", status_code=201, response_model=S.OrganisationOut, response_model_exclude_unset=True)
def create_org(request: Request, accounts_svc: AccountsDep, body: dict[str, Any] = Body(...)) -> Any:
    oid = accounts_svc.create_organisation(viewer(request), body)
    return accounts_svc.organisation(accounts_svc.viewer(_me(request).user_id), oid)


@router.get("/organisations/{org_id}", response_model=S.OrganisationOut, response_model_exclude_unset=True)
def get_org(request: Request, accounts_svc: AccountsDep, org_id: Id) -> Any:
    return accounts_svc.organisation(viewer(request), org_id)


@router.patch("/organisations/{org_id}", response_model=S.OrganisationOut, response_model_exclude_unset=True)
def update_org(request: Request, accounts_svc: AccountsDep, org_id: Id, body: dict[str, Any] = Body(...)) -> Any:
    accounts_svc.update_organisation(viewer(request), org_id, body)
    return accounts_svc.organisation(viewer(request), org_id)


@router.get("/organisations/{org_id}/members", response_model=S.MembersOut, response_model_exclude_unset=True)
def org_members(request: Request, accounts_svc: AccountsDep, org_id: Id) -> Any:
    return {"items": accounts_svc.members(viewer(request), org_id)}


@router.post("/organisations/{org_id}/invitations", status_code=201, response_model=S.IdOut, response_model_exclude_unset=True)
def org_invite(request: Request, accounts_svc: AccountsDep, org_id: Id, body: Invite) -> Any:
    v = viewer(request)
    acc.require_manage_org(v, org_id)
    return {"id": accounts_svc.invite(v, body.email, body.role)}


@router.post("/invitations/{token}/accept", response_model=S.JoinedOut, response_model_exclude_unset=True)
def accept_invitation(request: Request, accounts_svc: AccountsDep, token: str) -> Any:
    return {"org_id": accounts_svc.accept_invitation(viewer(request), token)}


@router.get("/notifications", response_model=S.NotificationsOut, response_model_exclude_unset=True)
def notifications(request: Request, accounts_svc: AccountsDep, page: PageNo = 1) -> Any:
    """本机构的通知，最新在前，每页 50 条 / the organisation's notifications, newest first, 50 a page."""
    acc.require_signed_in(viewer(request))
    items, total = accounts_svc.notifications_page(viewer(request), page, 50)
    return {"items": items, "total": total, "page": page, "per_page": 50}


# -- operator ---------------------------------------------------------------------------------------

@router.get("/operator/organisations", response_model=S.PendingOrgsOut, response_model_exclude_unset=True)
def pending_orgs(request: Request, accounts_svc: AccountsDep) -> Any:
    return {"items": accounts_svc.pending_organisations(viewer(request))}


@router.post("/operator/organisations/{org_id}/verify", response_model=S.VerifiedOut, response_model_exclude_unset=True)
def verify_org(request: Request, accounts_svc: AccountsDep, org_id: Id) -> Any:
    return {"published": accounts_svc.verify_organisation(viewer(request), org_id)}


@router.get("/operator/reports", response_model=S.ReportsOut, response_model_exclude_unset=True)
def reports(request: Request, listings_svc: ListingsDep) -> Any:
    return {"items": listings_svc.reports(viewer(request))}


@router.post("/operator/listings/{listing_id}/hide", response_model=S.HiddenOut, response_model_exclude_unset=True)
def hide(request: Request, listings_svc: ListingsDep, listing_id: Id, body: Note | None = None) -> Any:
    listings_svc.moderate(viewer(request), listing_id, True, body.note if body else "")
    return {"hidden": True}


@router.post("/operator/listings/{listing_id}/restore", response_model=S.HiddenOut, response_model_exclude_unset=True)
def restore(request: Request, listings_svc: ListingsDep, listing_id: Id, body: Note | None = None) -> Any:
    listings_svc.moderate(viewer(request), listing_id, False, body.note if body else "")
    return {"hidden": False}


@router.get("/operator/summary", response_model=S.OperatorSummaryOut, response_model_exclude_unset=True)
def summary(request: Request, listings_svc: ListingsDep) -> Any:
    return listings_svc.summary(viewer(request))


def _fe(key: str, zh: str, en: str) -> Any:
    from ...core.errors import FieldError

    return FieldError(key, Message(zh, en))
