"""Organisation facts on the web: the owners' page (/my/org/facts), the operators' verification
queue (/operator/facts), and the API beside PATCH /api/v1/organisations/{id} (which takes the same keys)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse

from ...core import access as acc
from ...core import errors as E
from ...core.org_facts import CERTIFICATIONS, FACT_FIELDS
from ...services import org_facts as F
from .. import schemas as S
from ..deps import ExchangeDep, Id, form, redirect, render, viewer

router = APIRouter()


def _page(request: Request, ex: Any, org_id: int, status: int = 200, **ctx: Any) -> HTMLResponse:
    name, facts = F.facts(ex, viewer(request), org_id)
    return render(request, "org_facts.html", status=status, org_id=org_id, org_name=name, facts=facts, fields=FACT_FIELDS,
                  certifications=CERTIFICATIONS, can_edit=acc.can_manage_org(viewer(request), org_id), errors=ctx.get("errors", []),
                  values=ctx.get("values"), saved=request.query_params.get("saved"), newly=ctx.get("newly", []))


@router.get("/my/org/facts", response_class=HTMLResponse)
def my_facts(request: Request, ex: ExchangeDep) -> Any:
    v = viewer(request)
    return _page(request, ex, acc.require_org(v))


@router.post("/my/org/facts", response_class=HTMLResponse)
async def save_facts(request: Request, ex: ExchangeDep) -> Any:
    data = await form(request)
    v = viewer(request)
    org_id = acc.require_org(v)
    certs = data.get("certifications", [])
    raw = {k: data.get(k, "") for k in ("employees", "revenue", "founded", "rd_spending")}
    raw["certifications"] = certs if isinstance(certs, list) else ([certs] if certs else [])
    try:
        F.update(ex, v, org_id, raw)
    except E.ValidationError as e:
        return _page(request, ex, org_id, 422, errors=e.errors, values=raw)
    return redirect("/my/org/facts?saved=1")


@router.get("/operator/facts", response_class=HTMLResponse)
def facts_queue(request: Request, ex: ExchangeDep) -> Any:
    return render(request, "operator_facts.html", rows=F.to_verify(ex, viewer(request)), fields=FACT_FIELDS,
                  verified=request.query_params.get("verified"))


@router.get("/operator/orgs/{org_id}/facts", response_class=HTMLResponse)
def org_facts_page(request: Request, ex: ExchangeDep, org_id: Id) -> Any:
    acc.require_staff(viewer(request))
    return _page(request, ex, org_id)


@router.post("/operator/orgs/{org_id}/facts/verify")
async def verify_facts(request: Request, ex: ExchangeDep, org_id: Id) -> Any:
    await form(request)
    F.verify(ex, viewer(request), org_id)
    return redirect(f"/operator/facts?verified={org_id}")


# -- API --------------------------------------------------------------------------------------------

@router.get("/api/v1/organisations/{org_id}/facts", tags=["organisations"], response_model=S.FactsOut, response_model_exclude_unset=True)
def api_facts(request: Request, ex: ExchangeDep, org_id: Id) -> Any:
    """本机构与平台人员可见 / for the organisation's own people and staff only."""
    name, facts = F.facts(ex, viewer(request), org_id)
    return {"org_id": org_id, "name": name, **facts.as_dict()}


@router.patch("/api/v1/organisations/{org_id}/facts", tags=["organisations"], response_model=S.FactsOut, response_model_exclude_unset=True)
def api_update_facts(request: Request, ex: ExchangeDep, org_id: Id, body: dict[str, Any] = Body(...)) -> Any:
    """employees, revenue (万元), founded (YYYY-MM-DD), rd_spending (万元), certifications ([…]); null clears one.
    An unknown key is a 422. Answers the facts and the policies the organisation newly meets."""
    facts, newly = F.update(ex, viewer(request), org_id, body)
    return {"org_id": org_id, **facts.as_dict(), "newly_eligible_policies": newly}


@router.post("/api/v1/operator/organisations/{org_id}/facts/verify", tags=["operator"], response_model=S.FactsOut, response_model_exclude_unset=True)
def api_verify_facts(request: Request, ex: ExchangeDep, org_id: Id) -> Any:
    return {"org_id": org_id, **F.verify(ex, viewer(request), org_id).as_dict()}
