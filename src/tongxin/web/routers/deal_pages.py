"""Deal and contract pages: 我的对接 (the deals of an organisation, or every deal for staff), a deal
with its stage bar, history, stage changes, financial services, agreement register and — once
signed — the technology-contract registration; the contract list, a contract with its
registration package, and the contract import (Excel upload, staff).

Who may see or change what is decided in services.deals.can_see_deal, services.contracts
(can_see_contract, can_register_from_deal, can_import_contracts) and core.access; handlers only
parse forms, call the services and render. Every form carries the CSRF token (deps.form)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ...core import access as acc
from ...core import contracts as K
from ...core import deals as D
from ...core.clock import local_today
from ...core.contracts import CONTRACT_COLUMNS, CONTRACT_HELP_ZH, CONTRACT_TYPES, type_label
from ...core.errors import BadFile, Conflict, FieldError, Message, ValidationError
from ...core.fields import parse_date
from ...services import contracts as C
from ...services import deals as DS
from ..deps import ContractsDep, DealsDep, Id, PageNo, exchange, form, get_deals, redirect, render, viewer

router = APIRouter()

MAX_UPLOAD = 10 * 1024 * 1024
DEALS_PER_PAGE = 50
PER_PAGE = 50
COLUMN_HEADERS = {k: zh for k, zh, _h, _r in CONTRACT_COLUMNS}


def _today() -> dt.date:
    return local_today()


def _signed_in(request: Request) -> acc.Viewer:
    v = viewer(request)
    acc.require_signed_in(v)
    return v


def _bad(field: str, zh: str, en: str, value: object = None) -> ValidationError:
    return ValidationError.of([FieldError(field, Message(zh, en), value)])


def _number(raw: object, field: str, zh: str, en: str) -> float | None:
    s = str(raw or "").strip().replace(",", "")
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise _bad(field, f"{zh}应为数字，实际为 ‘{s}’", f"{en} should be a number, got '{s}'", s) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise _bad(field, f"{zh}应为数字，实际为 ‘{s}’", f"{en} should be a number, got '{s}'", s)
    return v


def _date(raw: object, field: str, zh: str, en: str) -> dt.date | None:
    s = str(raw or "").strip()
    if not s:
        return None
    try:
        return parse_date(s)
    except (ValueError, TypeError):
        raise _bad(field, f"{zh}应为日期（如 2025-06-30），实际为 ‘{s}’", f"{en} should be a date such as 2025-06-30, got '{s}'", s) from None


# -- my deals ------------------------------------------------------------------------------------------

@router.get("/my/deals", response_class=HTMLResponse)
def my_deals(request: Request, deals: DealsDep, stage: str | None = None, page: PageNo = 1) -> Any:
    v = _signed_in(request)
    if v.org_id is None and not v.is_staff:
        return redirect("/my/org")
    want = D.find_stage(stage) if stage else None
    mine = deals.mine(v, _today(), want, page, DEALS_PER_PAGE)
    return render(request, "deals/list.html", lines=mine.lines, reminders=mine.reminders, stage=want, counts=mine.counts, stages=D.STAGES,
                  stage_label=D.stage_label, idle_after=DS.idle_days_setting(), total=mine.total, page=page,
                  pages=max(1, -(-mine.total // DEALS_PER_PAGE)), pager_base=f"/my/deals?stage={want}&" if want else "/my/deals?")


@router.get("/my/contacts/{request_id}/deal")
def contact_deal(request: Request, deals: DealsDep, request_id: Id) -> Any:
    v = _signed_in(request)
    deal_id = deals.for_contact(v, request_id)
    return redirect(f"/deals/{deal_id}", 303)


# -- one deal --------------------------------------------------------------------------------------------

def _deal_page(request: Request, deal_id: int, status: int = 200, problem: tuple[str, Message] | None = None,
               field_errors: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> Any:
    """The deal page; after a refused form, with the problem shown at that form (`problem` = (form, message))."""
    v = _signed_in(request)
    today = _today()
    view = get_deals(request).view(v, deal_id, today)
    p, options, draft = view.page, view.finance_options, view.draft
    form_name = problem[0] if problem else ""
    if draft is not None and form_name == "contract" and values:
        draft |= {k: values.get(k, "") for k in C.EDITABLE}
    return render(request, "deals/detail.html", status=status, p=p, d=p.x.deal, today=today, options=options, draft=draft,
                  problem=problem, field_errors=field_errors or {}, values=values or {}, form_name=form_name,
                  stages=D.STAGES, bar=D.OPEN_STAGES + ("signed",), stage_label=D.stage_label, choice_label=D.choice_label,
                  finance_kinds=D.FINANCE_KINDS, finance_statuses=D.FINANCE_STATUSES, agreement_types=D.AGREEMENT_TYPES,
                  contract_types=CONTRACT_TYPES, type_label=type_label, wan=C.wan, default_remind=D.DEFAULT_EXPIRY_NOTICE_DAYS,
                  status_label=K.status_label)


def _refused(request: Request, deal_id: int, which: str, e: Conflict | ValidationError, data: dict[str, Any]) -> Any:
    fields = {fe.field: fe.message for fe in e.errors}
    msg = e.message
    if isinstance(e, ValidationError) and e.errors:
        msg = Message("；".join(fe.message.zh for fe in e.errors), "; ".join(fe.message.en for fe in e.errors))
    return _deal_page(request, deal_id, e.status, (which, msg), fields, data)


@router.get("/deals/{deal_id}", response_class=HTMLResponse)
def deal(request: Request, deal_id: Id) -> Any:
    return _deal_page(request, deal_id)


@router.post("/deals/{deal_id}/stage", response_class=HTMLResponse)
async def move(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        deals.move(v, deal_id, str(data.get("stage", "")), str(data.get("note", "")))
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "stage", e, data)
    return redirect(f"/deals/{deal_id}#history")


@router.post("/deals/{deal_id}/note", response_class=HTMLResponse)
async def note(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        text = str(data.get("note", "")).strip()
        if not text:
            raise _bad("note", "请填写记录内容", "write the note first")
        deals.note(v, deal_id, text)
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "note", e, data)
    return redirect(f"/deals/{deal_id}#history")


@router.post("/deals/{deal_id}/finance", response_class=HTMLResponse)
async def attach_finance(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        raw = str(data.get("listing_id", "")).strip()
        if not raw.isdigit():
            raise _bad("listing_id", "请选择一项金融服务", "choose a financial service", raw)
        amount = _number(data.get("amount_wan"), "amount_wan", "金额（万元）", "amount (10,000 yuan)")
        deals.attach_finance(v, deal_id, int(raw), amount, str(data.get("note", "")))
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "finance", e, data)
    return redirect(f"/deals/{deal_id}#finance")


@router.post("/deals/{deal_id}/finance/{finance_id}/status", response_class=HTMLResponse)
async def finance_status(request: Request, deals: DealsDep, deal_id: Id, finance_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        deals.set_finance_status(v, deal_id, finance_id, str(data.get("status", "")))
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "finance", e, data)
    return redirect(f"/deals/{deal_id}#finance")


@router.post("/deals/{deal_id}/agreements", response_class=HTMLResponse)
async def agreement(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        errors: list[FieldError] = []
        parsed: dict[str, Any] = {}
        for key, zh, en in (("effective_on", "生效日期", "effective date"), ("expires_on", "到期日", "expiry date")):
            try:
                parsed[key] = _date(data.get(key), key, zh, en)
            except ValidationError as e:
                errors += e.errors
        try:
            days = _number(data.get("remind_days"), "remind_days", "到期提醒天数", "reminder days")
            parsed["remind_days"] = D.DEFAULT_EXPIRY_NOTICE_DAYS if days is None else int(days)
        except ValidationError as e:
            errors += e.errors
        if errors:
            raise ValidationError.of(errors)
        deals.register_agreement(v, deal_id, str(data.get("agreement_type", "")), str(data.get("title", "")), parsed["effective_on"],
                                 parsed["expires_on"], remind_days=parsed["remind_days"], note=str(data.get("note", "")))
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "agreement", e, data)
    return redirect(f"/deals/{deal_id}#agreements")


@router.post("/deals/{deal_id}/contract", response_class=HTMLResponse)
async def register_contract(request: Request, contracts_svc: ContractsDep, deal_id: Id) -> Any:
    data = await form(request)
    v = _signed_in(request)
    try:
        cid = contracts_svc.register_from_deal(v, deal_id, data, _today())
    except (Conflict, ValidationError) as e:
        return _refused(request, deal_id, "contract", e, data)
    return redirect(f"/contracts/{cid}?submitted=1")


# -- contracts -------------------------------------------------------------------------------------------

@router.get("/contracts", response_class=HTMLResponse)
def contracts(request: Request, contracts_svc: ContractsDep, year: str | None = None, type: str | None = None, region: str | None = None,
              status: str | None = None, page: PageNo = 1) -> Any:
    v = _signed_in(request)
    if v.org_id is None and not v.is_staff and not K.is_office(v):
        return redirect("/my/org")
    y = int(year) if year and year.strip().isdigit() and len(year.strip()) <= 4 else None  # a year has at most 4 digits
    lst = contracts_svc.contracts(v, y, type or None, region or None, max(1, page), PER_PAGE, status or None)
    pages = max(1, (lst.total + PER_PAGE - 1) // PER_PAGE)
    return render(request, "deals/contracts.html", lst=lst, year=y, ctype=type or "", region=(region or "").upper(), page=max(1, page),
                  pages=pages, contract_types=CONTRACT_TYPES, type_label=type_label, wan=C.wan, yi=lambda yuan: f"{yuan / 1e8:,.2f}",
                  may_import=C.can_import_contracts(v), want_status=status or "", statuses=K.STATUSES, status_label=K.status_label,
                  office=K.is_office(v))


@router.get("/contracts/template.xlsx")
def contracts_template(request: Request) -> Any:
    from ...fileio.contracts import write_contracts_xlsx

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.xlsx")
        write_contracts_xlsx(path, [], template=True)
        with open(path, "rb") as fh:
            data = fh.read()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="tongxin-template-contracts.xlsx"'})


def _import_page(request: Request, status: int = 200, **ctx: Any) -> Any:
    base: dict[str, Any] = {"done": None, "problem": None, "errors": [], "skip_invalid": False, "filename": ""}
    return render(request, "deals/import.html", status=status, col_headers=COLUMN_HEADERS, columns=CONTRACT_COLUMNS, help_zh=CONTRACT_HELP_ZH, **(base | ctx))


@router.get("/contracts/import", response_class=HTMLResponse)
def import_form(request: Request) -> Any:
    C.require_import(viewer(request))
    return _import_page(request)


@router.post("/contracts/import", response_class=HTMLResponse)
async def import_upload(request: Request) -> Any:
    posted = await request.form()  # parsed once (deps.form() reads the same); holds the uploaded file until closed
    try:
        data = await form(request)
        C.require_import(viewer(request))
        return await _import(request, posted.get("file"), data.get("skip_invalid") in ("1", "on", "yes"))
    finally:
        await posted.close()


async def _import(request: Request, upload: Any, skip: bool) -> Any:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, 422, problem=Message("请选择要上传的 Excel 文件（.xlsx）", "choose the Excel file (.xlsx) to upload"),
                            skip_invalid=skip)
    name = os.path.basename(upload.filename)
    ext = os.path.splitext(name)[1].lower()
    if ext not in (".xlsx", ".csv"):
        return _import_page(request, 422, problem=Message(f"不支持的文件类型 ‘{ext or name}’，请上传 .xlsx（或 .csv）文件",
                                                          f"unsupported file type '{ext or name}'; upload an .xlsx (or .csv) file"),
                            skip_invalid=skip, filename=name)
    body = await upload.read(MAX_UPLOAD + 1)
    if len(body) > MAX_UPLOAD:
        return _import_page(request, 413, problem=Message("文件超过 10 MB，请拆分后分批上传",
                                                          "the file is larger than 10 MB; split it and upload the parts"),
                            skip_invalid=skip, filename=name)
    from ...services.importing import import_contracts

    ex = exchange(request)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "upload" + ext)
        with open(path, "wb") as fh:
            fh.write(body)
        try:
            rep = await run_in_threadpool(import_contracts, ex.db, path, skip, os.path.join(d, "errors.csv"))
        except ValidationError as e:
            return _import_page(request, 422, problem=e.message, errors=e.errors, skip_invalid=skip, filename=name)
        except BadFile as e:
            return _import_page(request, 400, problem=e.message, skip_invalid=skip, filename=name)
    return _import_page(request, done=rep, errors=rep.errors, skip_invalid=skip, filename=name)


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract(request: Request, contracts_svc: ContractsDep, contract_id: Id) -> Any:
    """A contract with its registration: status, reasons, history and the forms this viewer may use
    (resubmit for a party, review / register / return for the office): contract_office.contract_page."""
    from .contract_office import contract_page

    return contract_page(request, contracts_svc, contract_id)

