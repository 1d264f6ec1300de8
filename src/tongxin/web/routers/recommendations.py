"""Curated recommendations on the web: the operator's pages (what was sent, compose: pick listings,
write a note, choose the audience; how one was received: counts and who), the recipient's inbox
(/my/recommendations: one card per recommendation, 感兴趣 / 不相关 per listing; the in-app
notification links here), and /api/v1/recommendations (create, list, respond, responses) with
typed answers. Handlers translate; `services.recommendations` works."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ...core import access as acc
from ...core import industries
from ...core import recommendations as C
from ...core.errors import FieldError, Message, ValidationError
from ...services.recommendations import InboxCard, InboxItem, Recommendations, Responses, Sent
from ..deps import MAX_ID, Id, PageNo, exchange, form, json_object, redirect, render, viewer

router = APIRouter()
PER_PAGE = 50


async def _recs_dep(request: Request) -> Recommendations:
    return Recommendations(exchange(request))


RecsDep = Annotated[Recommendations, Depends(_recs_dep)]


# -- typed API models ---------------------------------------------------------------------------------

class ListingRefOut(BaseModel):
    id: int
    title: str
    kind: str


class AudienceOut(BaseModel):
    """收件范围（按发送时的选择）/ the audience as chosen."""

    org_ids: list[int] = Field(default_factory=list)
    industry: str = Field("", description="GB/T 4754 门类或大类代码前缀 / section or division code")
    region: str = Field("", description="GB/T 2260 代码前缀 / code prefix")


class CountsOut(BaseModel):
    interested: int = Field(description="感兴趣 / interested")
    not_relevant: int = Field(description="不相关 / not relevant")
    unanswered: int = Field(description="尚未回应 / no answer yet")


class LeftOutOut(BaseModel):
    """未发送的（机构, 资源）对，按原因 / (organisation, listing) pairs left out, by reason."""

    owner: int = Field(0, description="本机构自己的资源 / its own listing")
    not_visible: int = Field(0, description="无权查看全文 / may not read it in full")
    already_sent: int = Field(0, description="以前已推荐过 / recommended to it before")


class RecommendationOut(BaseModel):
    """一条推荐（发送方视角）/ a recommendation as its sender sees it."""

    id: int
    note: str
    author: str
    created_at: dt.datetime
    listings: list[ListingRefOut]
    audience: AudienceOut
    recipients: int = Field(description="收到的机构数 / organisations that received it")
    counts: CountsOut = Field(description="全部（机构, 资源）项的回应 / answers over every (organisation, listing) item")
    left_out: LeftOutOut


class InboxItemOut(BaseModel):
    """推荐给本机构的一条资源与本机构的回应 / one listing recommended to the viewer's organisation, and its answer."""

    listing_id: int
    title: str = Field(description="资源已不可见时为空 / empty when the listing is no longer visible")
    kind: str
    owner: str
    summary: str
    available: bool
    response: Literal["interested", "not_relevant"] | None = None
    responded_by: str | None = None
    responded_at: dt.datetime | None = None


class InboxCardOut(BaseModel):
    """收件方视角的一条推荐 / a recommendation as its recipient sees it (its own answers only)."""

    id: int
    note: str
    author: str
    created_at: dt.datetime
    items: list[InboxItemOut]


class RecommendationsOut(BaseModel):
    box: Literal["sent", "inbox"] = Field(description="sent：已发送（运营人员）；inbox：本机构收到的 / sent (staff) or received (an organisation)")
    items: list[RecommendationOut | InboxCardOut]
    total: int = Field(0, description="总数 / in all")
    page: int = 1
    per_page: int = 50


class ListingCountsOut(BaseModel):
    listing_id: int
    title: str
    counts: CountsOut


class AnswerOut(BaseModel):
    org_id: int
    org_name: str
    listing_id: int
    listing_title: str
    response: Literal["interested", "not_relevant"] | None = None
    responded_by: str | None = None
    responded_at: dt.datetime | None = None


class ResponsesOut(BaseModel):
    """回应统计与明细（仅运营人员）/ counts and who answered what (staff only)."""

    recommendation: RecommendationOut
    per_listing: list[ListingCountsOut]
    answers: list[AnswerOut]


def _sent_out(x: Sent) -> RecommendationOut:
    return RecommendationOut.model_validate(x.as_dict())


def _card_out(x: InboxCard) -> InboxCardOut:
    return InboxCardOut.model_validate(x.as_dict())


def _responses_out(x: Responses) -> ResponsesOut:
    return ResponsesOut.model_validate(x.as_dict())


# -- API ------------------------------------------------------------------------------------------

@router.post("/api/v1/recommendations", tags=["api"], status_code=201, response_model=RecommendationOut)
async def create_recommendation(request: Request, recs: RecsDep) -> Any:
    """发送推荐（运营人员）/ send a recommendation (staff):
    {"listing_ids": [12, 15], "note": "…", "org_ids": [3], "industry": "C37", "region": "12"} —
    org_ids 与 industry/region 至少一项 / organisations, or an industry and/or region (every verified organisation there)."""
    return _sent_out(recs.send(viewer(request), await json_object(request)))


@router.get("/api/v1/recommendations", tags=["api"], response_model=RecommendationsOut)
def list_recommendations(request: Request, recs: RecsDep,
                         box: Annotated[Literal["sent", "inbox"] | None, Query(description="默认：运营人员 sent，其他人 inbox / default: sent for staff, inbox otherwise")] = None,
                         page: PageNo = 1) -> Any:
    """已发送的推荐及其统计（运营人员），或本机构收到的推荐 / recommendations sent (staff) or received by the viewer's organisation."""
    v = viewer(request)
    acc.require_signed_in(v)
    which = box or ("sent" if v.is_staff else "inbox")
    if which == "sent":
        sent, total = recs.sent_page(v, page, PER_PAGE)
        return RecommendationsOut(box="sent", items=[_sent_out(x) for x in sent], total=total, page=page, per_page=PER_PAGE)
    cards, total = recs.inbox_page(v, page, PER_PAGE)
    return RecommendationsOut(box="inbox", items=[_card_out(x) for x in cards], total=total, page=page, per_page=PER_PAGE)


@router.post("/api/v1/recommendations/{rec_id}/responses", tags=["api"], response_model=InboxItemOut)
async def respond_recommendation(request: Request, rec_id: Id, recs: RecsDep) -> Any:
    """标记一条推荐的资源 / mark one recommended listing: {"listing_id": 12, "response": "interested" | "not_relevant"}"""
    body = await json_object(request)
    raw = body.get("listing_id")
    if isinstance(raw, bool) or not str(raw or "").isdigit() or not 0 < int(str(raw)) <= MAX_ID:
        raise ValidationError.of([FieldError("listing_id", Message("请填写推荐中的资源编号（正整数）", "give the id of a listing in the recommendation"), raw)])
    item: InboxItem = recs.respond(viewer(request), rec_id, int(str(raw)), body.get("response"))
    return InboxItemOut.model_validate(item.as_dict())


@router.get("/api/v1/recommendations/{rec_id}/responses", tags=["api"], response_model=ResponsesOut)
def recommendation_responses(request: Request, rec_id: Id, recs: RecsDep) -> Any:
    """回应统计与明细（仅运营人员）/ counts and who answered what (staff only)."""
    return _responses_out(recs.responses(viewer(request), rec_id))


# -- the operator's pages ---------------------------------------------------------------------------

def _ids(raw: Any) -> list[int]:
    vals = raw if isinstance(raw, list) else str(raw or "").replace("，", ",").split(",")
    return [int(s) for v in vals if (s := str(v).strip()).isdigit() and 0 < int(s) <= MAX_ID]


def _compose(request: Request, recs: Recommendations, values: dict[str, Any], errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    chosen_l, chosen_o = _ids(values.get("listing_ids")), _ids(values.get("org_ids"))
    listings, orgs = recs.candidates(viewer(request), str(values.get("q") or ""), str(values.get("orgq") or ""), chosen_l, chosen_o)
    return render(request, "operator_recommend.html", status=status, values=values, errors=errors or {}, listings=listings, orgs=orgs,
                  chosen_listings=set(chosen_l), chosen_orgs=set(chosen_o), sections=industries.sections(), note_max=C.NOTE_MAX)


@router.get("/operator/recommendations", response_class=HTMLResponse)
def sent_page(request: Request, recs: RecsDep, page: PageNo = 1) -> Any:
    sent, total = recs.sent_page(viewer(request), page, PER_PAGE)
    return render(request, "operator_recommendations.html", sent=sent, left_labels=C.LEFT_OUT, total=total, page=page,
                  pages=max(1, -(-total // PER_PAGE)))


@router.get("/operator/recommendations/new", response_class=HTMLResponse)
def compose_page(request: Request, recs: RecsDep) -> Any:
    C.require_sender(viewer(request))
    qp = request.query_params
    values = {"listing_ids": qp.getlist("listing_ids") or qp.get("listing_ids", ""), "org_ids": qp.getlist("org_ids") or qp.get("org_ids", ""),
              "q": qp.get("q", ""), "orgq": qp.get("orgq", ""), "note": "", "industry": qp.get("industry", ""), "region": qp.get("region", "")}
    return _compose(request, recs, values)


@router.post("/operator/recommendations/new", response_class=HTMLResponse)
async def compose_send(request: Request, recs: RecsDep) -> Any:
    """One form, two buttons: 查找 (search listings and organisations, keeping what is ticked) and 发送 (send)."""
    data = await form(request)
    v = viewer(request)
    C.require_sender(v)
    values = {k: data.get(k, "") for k in ("listing_ids", "org_ids", "q", "orgq", "note", "industry", "region")}
    values["listing_ids"] = _ids(data.get("listing_ids")) + _ids(data.get("more_listing_ids"))
    values["org_ids"] = _ids(data.get("org_ids")) + _ids(data.get("more_org_ids"))
    if data.get("action") != "send":
        return _compose(request, recs, values)
    try:
        sent = recs.send(v, values)
    except ValidationError as e:
        return _compose(request, recs, values, {fe.field: fe.message for fe in e.errors}, status=422)
    return redirect(f"/operator/recommendations/{sent.id}?sent=1")


@router.get("/operator/recommendations/{rec_id}", response_class=HTMLResponse)
def responses_page(request: Request, rec_id: Id, recs: RecsDep) -> Any:
    return render(request, "operator_recommendation.html", r=recs.responses(viewer(request), rec_id), responses=C.RESPONSES,
                  left_labels=C.LEFT_OUT, just_sent=request.query_params.get("sent") == "1")


# -- the recipient's inbox ------------------------------------------------------------------------------

@router.get("/my/recommendations", response_class=HTMLResponse)
def inbox_page(request: Request, recs: RecsDep, page: PageNo = 1) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    cards, total = recs.inbox_page(v, page, PER_PAGE)
    return render(request, "my_recommendations.html", cards=cards, responses=C.RESPONSES, total=total, page=page,
                  pages=max(1, -(-total // PER_PAGE)))


@router.post("/my/recommendations/{rec_id}/respond", response_class=HTMLResponse)
async def inbox_respond(request: Request, rec_id: Id, recs: RecsDep) -> Any:
    data = await form(request)
    ids = _ids(data.get("listing_id"))
    if not ids:
        raise ValidationError.of([FieldError("listing_id", Message("请选择推荐中的资源", "choose a listing in the recommendation"))])
    recs.respond(viewer(request), rec_id, ids[0], data.get("response"))
    return redirect(f"/my/recommendations#rec{rec_id}")
