"""The technology-contract registration office on the web: a party submits a contract (from a signed
deal on the deal page, or on /contracts/new), the office reviews it from its queue (/office/contracts)
and registers it (number, date) or returns it with reasons; a party corrects a returned contract and
resubmits it; every step shows in the contract's history; a registered contract has a certificate
(PDF). The same under /api/v1/contracts with typed answers.

Who may do what is decided in core.contracts (can_see, can_submit, can_decide) through
services.contracts; handlers parse, call one service method and render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ...core import access as acc
from ...core import contracts as K
from ...core.clock import local_today
from ...core.errors import Conflict, FieldError, Message, ValidationError
from ...core.fields import parse_date
from ...services import contracts as C
from ..deps import ContractsDep, Id, PageNo, form, redirect, render, viewer
from ..schemas import AwareDatetime

router = APIRouter()
PER_PAGE = 50


def _today() -> dt.date:
    return local_today()


def _signed_in(request: Request) -> acc.Viewer:
    v = viewer(request)
    acc.require_signed_in(v)
    return v


def _opt_date(raw: object, field: str, zh: str, en: str) -> dt.date | None:
    s = str(raw or "").strip()
    if not s:
        return None
    try:
        return parse_date(s)
    except (ValueError, TypeError):
        raise ValidationError.of([FieldError(field, Message(f"{zh}应为日期（如 2026-03-31），实际为 ‘{s}’",
                                                            f"{en} should be a date such as 2026-03-31, got '{s}'"), s)]) from None


def _as_list(raw: object) -> list[str]:
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [str(raw)] if raw not in (None, "") else []


# -- typed API models ---------------------------------------------------------------------------

class PartyOut(BaseModel):
    id: int
    name: str
    credit_code: str


class ContractEventOut(BaseModel):
    """登记流程的一步 / one step of the registration."""

    action: str = Field(description="submit / resubmit / review / return / register / import")
    action_label: str
    at: AwareDatetime
    actor: str
    actor_role: str = Field(description="party / office / system")
    reason: str
    status: str = Field(description="the status after this step")
    changes: dict[str, Any] = Field(default_factory=dict, description="resubmit: field → [before, after]; return: reasons; register: number and date")


class ContractBrief(BaseModel):
    id: int
    contract_no: str
    title: str
    contract_type: str
    status: str = Field(description="submitted / under_review / returned / registered")
    status_label: str
    seller: PartyOut
    buyer: PartyOut
    amount_yuan: int
    tech_amount_yuan: int
    signed_on: dt.date
    registration_no: str | None = None
    registered_on: dt.date | None = None
    submitted_at: AwareDatetime | None = None


class ContractOut(ContractBrief):
    """一项技术合同及其登记流程（仅当事双方、平台运营人员与登记机构可见） / a contract and its registration
    (its two parties, platform staff and the registration office only)."""

    contract_type_label: str
    status_reason: str = Field("", description="the reasons of the last return")
    park: str = ""
    industry: str | None = None
    deal_id: int | None = None
    listings: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list, description="what this viewer may do now: resubmit / review / register / return")
    certificate: str | None = Field(None, description="the certificate PDF's path, once registered")
    history: list[ContractEventOut] = Field(default_factory=list)


class ContractListOut(BaseModel):
    total: int
    page: int
    per_page: int
    amount_yuan: int
    status_counts: dict[str, int]
    items: list[ContractBrief]


class ContractIn(BaseModel):
    """提交登记 / submit for registration. Amounts in 万元; the registration number and date are the office's."""

    model_config = ConfigDict(extra="forbid")
    contract_no: str = Field(examples=["TX-2026-0001"])
    title: str
    contract_type: str = Field(examples=["licence"], description="development / transfer / licence / consulting / service, or the Chinese name")
    seller: str = Field(description="卖方统一社会信用代码 / the seller's credit code")
    buyer: str = Field(description="买方统一社会信用代码 / the buyer's credit code")
    amount: float | str = Field(description="合同成交额（万元）/ contract amount in 10,000 yuan")
    tech_amount: float | str | None = None
    signed_on: str = Field(examples=["2026-03-31"])
    park: str = ""
    industry: str = ""
    listings: str | list[str] = ""
    deal_id: int | None = None

    def raw(self) -> dict[str, Any]:
        d = self.model_dump()
        if isinstance(d["listings"], list):
            d["listings"] = ";".join(d["listings"])
        return {k: ("" if v is None else v) for k, v in d.items()}


class ResubmitIn(BaseModel):
    """修改后重新提交（只写要改的字段）/ correct and resubmit (only the fields that change)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    contract_type: str | None = None
    amount: float | str | None = None
    tech_amount: float | str | None = None
    signed_on: str | None = None
    park: str | None = None
    industry: str | None = None
    note: str = ""


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = ""


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registration_no: str | None = Field(None, description="留空则自动编号（年份 + 卖方区县代码 + 六位序号）/ empty: numbered automatically")
    registered_on: dt.date | None = Field(None, description="默认今天 / default today")
    note: str = ""


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(default_factory=list, description="not_technology / incomplete / amount / parties / documents / other")
    note: str = ""


def _party(o: Any) -> PartyOut:
    return PartyOut(id=o.id, name=o.name, credit_code=o.credit_code)


def _brief(c: Any, orgs: dict[int, Any]) -> ContractBrief:
    return ContractBrief(id=c.id, contract_no=c.contract_no, title=c.title, contract_type=c.contract_type, status=c.status,
                         status_label=K.status_label(c.status), seller=_party(orgs[c.seller_org_id]), buyer=_party(orgs[c.buyer_org_id]),
                         amount_yuan=c.amount_yuan, tech_amount_yuan=c.tech_amount_yuan, signed_on=c.signed_on, registration_no=c.registration_no,
                         registered_on=c.registered_on, submitted_at=c.submitted_at)


def _out(p: C.ContractPage) -> ContractOut:
    c = p.c
    b = _brief(c, {c.seller_org_id: p.seller, c.buyer_org_id: p.buyer})
    actions = (["resubmit"] if p.can_resubmit else []) + list(p.office_actions)
    return ContractOut(**b.model_dump(), contract_type_label=K.type_label(c.contract_type), status_reason=c.status_reason or "", park=c.park,
                       industry=c.industry, deal_id=c.deal_id, listings=p.listing_refs, actions=actions,
                       certificate=f"/contracts/{c.id}/certificate.pdf" if c.status == "registered" else None,
                       history=[ContractEventOut(action=e.action, action_label=e.label(), at=e.at, actor=e.actor, actor_role=e.actor_role,
                                                 reason=e.reason, status=e.status, changes=e.changes) for e in p.history])


def _list_out(lst: C.ContractList, page: int, per_page: int) -> ContractListOut:
    return ContractListOut(total=lst.total, page=page, per_page=per_page, amount_yuan=lst.amount_yuan, status_counts=lst.status_counts,
                           items=[_brief(c, lst.orgs) for c in lst.rows])


# -- API --------------------------------------------------------------------------------------------

@router.get("/api/v1/contracts", response_model=ContractListOut, tags=["contracts"])
def api_contracts(request: Request, contracts: ContractsDep, status: str | None = None,
                  year: Annotated[int | None, Query(ge=1900, le=2200, description="签订年份 / year signed")] = None, type: str | None = None,
                  region: str | None = None, page: PageNo = 1) -> Any:
    """技术合同列表：当事方看本机构的合同，运营人员与登记机构看全部；status=open 为待处理 / contracts: a party sees
    its own, staff and the registration office see all; status=open is the office's queue (submitted, under review)."""
    lst = contracts.contracts(viewer(request), year, type or None, region or None, page, PER_PAGE, status)
    return _list_out(lst, page, PER_PAGE)


@router.post("/api/v1/contracts", status_code=201, response_model=ContractOut, tags=["contracts"])
def api_submit(request: Request, contracts: ContractsDep, body: ContractIn) -> Any:
    """提交技术合同登记（本机构须为卖方或买方）/ submit a contract for registration (your organisation is the seller or buyer)."""
    return _out(contracts.submit(viewer(request), body.raw(), _today()))


@router.get("/api/v1/contracts/{contract_id}", response_model=ContractOut, tags=["contracts"])
def api_contract(request: Request, contracts: ContractsDep, contract_id: Id) -> Any:
    return _out(contracts.page(_signed_in(request), contract_id))


@router.post("/api/v1/contracts/{contract_id}/resubmit", response_model=ContractOut, tags=["contracts"])
def api_resubmit(request: Request, contracts: ContractsDep, contract_id: Id, body: ResubmitIn) -> Any:
    fields = {k: ("" if v is None else v) for k, v in body.model_dump(exclude_unset=True).items() if k != "note"}
    return _out(contracts.resubmit(viewer(request), contract_id, fields, body.note, _today()))


@router.post("/api/v1/contracts/{contract_id}/review", response_model=ContractOut, tags=["contracts"])
def api_review(request: Request, contracts: ContractsDep, contract_id: Id, body: NoteIn | None = None) -> Any:
    return _out(contracts.review(viewer(request), contract_id, body.note if body else ""))


@router.post("/api/v1/contracts/{contract_id}/register", response_model=ContractOut, tags=["contracts"])
def api_register(request: Request, contracts: ContractsDep, contract_id: Id, body: RegisterIn | None = None) -> Any:
    b = body or RegisterIn(registration_no=None, registered_on=None)
    return _out(contracts.register(viewer(request), contract_id, b.registration_no, b.registered_on, b.note, _today()))


@router.post("/api/v1/contracts/{contract_id}/return", response_model=ContractOut, tags=["contracts"])
def api_return(request: Request, contracts: ContractsDep, contract_id: Id, body: ReturnIn) -> Any:
    return _out(contracts.return_(viewer(request), contract_id, body.reasons, body.note))


# -- pages ------------------------------------------------------------------------------------------

@router.get("/contracts/{contract_id}/certificate.pdf")
def certificate_pdf(request: Request, contracts: ContractsDep, contract_id: Id) -> Any:
    cert = contracts.certificate(_signed_in(request), contract_id)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in cert.registration_no) or "certificate"
    return Response(C.certificate_pdf(cert), media_type="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=\"{safe}.pdf\"; filename*=UTF-8''{quote(cert.registration_no)}.pdf"})


@router.get("/office/contracts", response_class=HTMLResponse)
def office_queue(request: Request, contracts: ContractsDep, status: str = "open", page: PageNo = 1) -> Any:
    v = _signed_in(request)
    lst = contracts.queue(v, status, page, PER_PAGE)
    pages = max(1, (lst.total + PER_PAGE - 1) // PER_PAGE)
    return render(request, "deals/office.html", lst=lst, want_status=status, page=page, pages=pages, statuses=K.STATUSES, type_label=K.type_label,
                  status_label=K.status_label, wan=C.wan, office=K.is_office(v))


def contract_page(request: Request, contracts: Any, contract_id: int, status: int = 200, problem: tuple[str, Message] | None = None,
                  field_errors: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> HTMLResponse:
    """The contract page (deal_pages.contract renders it too); after a refused form, the problem at that form."""
    v = _signed_in(request)
    p = contracts.page(v, contract_id)
    return render(request, "deals/contract.html", status=status, p=p, c=p.c, type_label=K.type_label, wan=C.wan, yuan_to_wan=K.yuan_to_wan,
                  status_label=K.status_label, contract_types=K.CONTRACT_TYPES, return_reasons=K.RETURN_REASONS,
                  submitted=request.query_params.get("submitted"), done=request.query_params.get("done", ""),
                  problem=problem, field_errors=field_errors or {}, values=values or {}, form_name=problem[0] if problem else "",
                  today=_today(), field_labels={k: zh for k, zh, _h, _r in K.CONTRACT_COLUMNS})


def _refused(request: Request, contracts: Any, contract_id: int, which: str, e: Conflict | ValidationError, data: dict[str, Any]) -> HTMLResponse:
    fields = {fe.field: fe.message for fe in e.errors}
    msg = e.message
    if isinstance(e, ValidationError) and e.errors:
        msg = Message("；".join(fe.message.zh for fe in e.errors), "; ".join(fe.message.en for fe in e.errors))
    return contract_page(request, contracts, contract_id, e.status, (which, msg), fields, data)


@router.post("/contracts/{contract_id}/resubmit", response_class=HTMLResponse)
async def resubmit_form(request: Request, contracts: ContractsDep, contract_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    fields = {k: data[k] for k in C.RESUBMIT_FIELDS if k in data}
    try:
        contracts.resubmit(v, contract_id, fields, str(data.get("note") or ""), _today())
    except (Conflict, ValidationError) as e:
        return _refused(request, contracts, contract_id, "resubmit", e, data)
    return redirect(f"/contracts/{contract_id}?done=resubmit#history")


@router.post("/contracts/{contract_id}/office/{action}", response_class=HTMLResponse)
async def office_form(request: Request, contracts: ContractsDep, contract_id: Id, action: str) -> Any:
    data = await form(request)
    v = _signed_in(request)
    if action not in ("review", "register", "return"):
        raise ValidationError.of([FieldError("action", Message(f"未知操作 ‘{action}’，可选：review / register / return",
                                                               f"unknown action '{action}'; use review, register or return"), action)])
    note = str(data.get("note") or "")
    try:
        if action == "review":
            contracts.review(v, contract_id, note)
        elif action == "register":
            day = _opt_date(data.get("registered_on"), "registered_on", "登记日期", "registration date")
            contracts.register(v, contract_id, str(data.get("registration_no") or "") or None, day, note, _today())
        else:
            contracts.return_(v, contract_id, _as_list(data.get("reasons")), note)
    except (Conflict, ValidationError) as e:
        return _refused(request, contracts, contract_id, "office-" + action, e, data)
    return redirect(f"/contracts/{contract_id}?done={action}#history")
