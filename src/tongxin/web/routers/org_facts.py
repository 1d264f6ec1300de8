"""Organisation facts on the web: the owners' page (/my/org/facts), the operators' verification
queue (/operator/facts), and the API beside PATCH /api/v1/organisations/{id} (which takes the same keys)."""

from __future__ import annotations

import os
import tempfile
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from ...core import access as acc
from ...core import errors as E
from ...core.org_facts import CERTIFICATIONS, FACT_FIELDS, MAX_EVIDENCE_BYTES
from ...services import org_facts as F
from .. import schemas as S
from ..deps import ExchangeDep, Id, PageNo, exchange, form, redirect, render, viewer, xlsx_upload

router = APIRouter()


def _page(request: Request, ex: Any, org_id: int, status: int = 200, **ctx: Any) -> HTMLResponse:
    fp = F.facts(ex, viewer(request), org_id)
    return render(request, "org_facts.html", status=status, org_id=org_id, org_name=fp.name, facts=fp.facts, evidence=fp.evidence,
                  fields=FACT_FIELDS, certifications=CERTIFICATIONS, can_edit=acc.can_manage_org(viewer(request), org_id),
                  errors=ctx.get("errors", []), evidence_errors=ctx.get("evidence_errors", []), values=ctx.get("values"),
                  saved=request.query_params.get("saved"), uploaded=request.query_params.get("uploaded"), newly=ctx.get("newly", []),
                  max_mb=MAX_EVIDENCE_BYTES // (1024 * 1024))


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
    pub = data.get("published", [])
    raw["published"] = pub if isinstance(pub, list) else ([pub] if pub else [])
    try:
        F.update(ex, v, org_id, raw)
    except E.ValidationError as e:
        return _page(request, ex, org_id, 422, errors=e.errors, values=raw)
    return redirect("/my/org/facts?saved=1")


async def _upload(request: Request, upload: Any) -> tuple[str, bytes]:
    """The posted file's name and bytes, read no further than the size limit (+1 to tell it was over)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "", b""
    return upload.filename, await upload.read(MAX_EVIDENCE_BYTES + 1)


@router.post("/my/org/facts/evidence", response_class=HTMLResponse)
async def upload_evidence(request: Request, ex: ExchangeDep) -> Any:
    posted = await request.form()
    try:
        data = await form(request)
        v = viewer(request)
        org_id = acc.require_org(v)
        name, body = await _upload(request, posted.get("file"))
        try:
            await run_in_threadpool(F.add_evidence, ex, v, org_id, name, body, str(data.get("fact") or ""))
        except E.ValidationError as e:
            return _page(request, ex, org_id, 422, evidence_errors=e.errors)
    finally:
        await posted.close()
    return redirect("/my/org/facts?uploaded=1#evidence")


@router.post("/my/org/facts/evidence/{evidence_id}/delete")
async def delete_evidence(request: Request, ex: ExchangeDep, evidence_id: Id) -> Any:
    await form(request)
    v = viewer(request)
    F.delete_evidence(ex, v, acc.require_org(v), evidence_id)
    return redirect("/my/org/facts#evidence")


def _evidence_response(request: Request, ex: Any, org_id: int, evidence_id: int) -> Response:
    name, ctype, body = F.evidence_file(ex, viewer(request), org_id, evidence_id)
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name) or "evidence"
    # always a download, never rendered in the site's origin; private to the firm and operators
    return Response(body, media_type=ctype, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store", "Content-Security-Policy": "sandbox; default-src 'none'"})


@router.get("/orgs/{org_id}/facts/evidence/{evidence_id}")
def evidence_download(request: Request, ex: ExchangeDep, org_id: Id, evidence_id: Id) -> Response:
    return _evidence_response(request, ex, org_id, evidence_id)


PER_PAGE = 50


def _queue(request: Request, ex: Any, page: int = 1, status: int = 200, **ctx: Any) -> HTMLResponse:
    rows, total = F.to_verify(ex, viewer(request), page, PER_PAGE)
    return render(request, "operator_facts.html", status=status, rows=rows, total=total, page=page, pages=max(1, -(-total // PER_PAGE)),
                  fields=FACT_FIELDS, verified=request.query_params.get("verified"), imported=ctx.get("imported"),
                  import_errors=ctx.get("errors", []), problem=ctx.get("problem"))


@router.get("/operator/facts", response_class=HTMLResponse)
def facts_queue(request: Request, ex: ExchangeDep, page: PageNo = 1) -> Any:
    return _queue(request, ex, page)


@router.get("/operator/facts/template.xlsx")
def facts_template(request: Request) -> Response:
    acc.require_staff(viewer(request))
    from ...fileio.org_facts import write_facts_template

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.xlsx")
        write_facts_template(path)
        with open(path, "rb") as fh:
            body = fh.read()
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="org-facts-template.xlsx"'})


MAX_IMPORT = 10 * 1024 * 1024


async def _import_upload(request: Request, upload: Any) -> F.FactsImport:
    v = viewer(request)
    acc.require_staff(v)
    body = await xlsx_upload(upload, MAX_IMPORT)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "upload.xlsx")
        with open(path, "wb") as fh:
            fh.write(body)
        return await run_in_threadpool(F.import_facts, exchange(request), v, path)


@router.post("/operator/facts/import", response_class=HTMLResponse)
async def import_form(request: Request, ex: ExchangeDep) -> Any:
    posted = await request.form()
    try:
        await form(request)
        try:
            rep = await _import_upload(request, posted.get("file"))
        except (E.ValidationError, E.BadFile) as e:
            return _queue(request, ex, 1, e.status, errors=e.errors, problem=e.message)
    finally:
        await posted.close()
    return _queue(request, ex, 1, imported=rep)


@router.post("/api/v1/operator/organisations/facts/import", tags=["operator"], response_model=S.FactsImportOut)
async def api_import(request: Request) -> Any:
    """multipart/form-data with `file`: the facts XLSX (template: /operator/facts/template.xlsx); all or nothing; operators only."""
    posted = await request.form()
    try:
        return (await _import_upload(request, posted.get("file"))).as_dict()
    finally:
        await posted.close()


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
    """本机构与平台人员可见（含证明材料列表）/ for the organisation's own people and staff only (with the evidence files)."""
    fp = F.facts(ex, viewer(request), org_id)
    return {"org_id": org_id, "name": fp.name, **fp.facts.as_dict(), "evidence": [e.as_dict(org_id) for e in fp.evidence]}


@router.post("/api/v1/organisations/{org_id}/facts/evidence", tags=["organisations"], status_code=201, response_model=S.FactEvidenceOut)
async def api_add_evidence(request: Request, org_id: Id) -> Any:
    """multipart/form-data: `file` (PDF、PNG 或 JPEG，不超过 5 MB；类型按文件内容判断 / PDF, PNG or JPEG up to 5 MB, type read
    from the bytes) and optional `fact` (employees / revenue / founded / rd_spending / certifications). Own administrators only."""
    posted = await request.form()
    try:
        name, body = await _upload(request, posted.get("file"))
        e = await run_in_threadpool(F.add_evidence, exchange(request), viewer(request), org_id, name, body, str(posted.get("fact") or ""))
    finally:
        await posted.close()
    return e.as_dict(org_id)


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get("/api/v1/organisations/{org_id}/facts/evidence/{evidence_id}", tags=["organisations"], response_class=Response,
            responses={200: {"content": {"application/pdf": _BINARY, "image/png": _BINARY, "image/jpeg": _BINARY}, "description": "the file"}})
def api_evidence(request: Request, ex: ExchangeDep, org_id: Id, evidence_id: Id) -> Response:
    """证明材料文件（仅本机构与平台人员）/ the evidence file (own people and staff only)."""
    return _evidence_response(request, ex, org_id, evidence_id)


@router.delete("/api/v1/organisations/{org_id}/facts/evidence/{evidence_id}", tags=["organisations"], status_code=204)
def api_delete_evidence(request: Request, ex: ExchangeDep, org_id: Id, evidence_id: Id) -> Response:
    F.delete_evidence(ex, viewer(request), org_id, evidence_id)
    return Response(status_code=204)


@router.patch("/api/v1/organisations/{org_id}/facts", tags=["organisations"], response_model=S.FactsOut, response_model_exclude_unset=True)
def api_update_facts(request: Request, ex: ExchangeDep, org_id: Id, body: dict[str, Any] = Body(...)) -> Any:
    """employees, revenue (万元), founded (YYYY-MM-DD), rd_spending (万元), certifications ([…]); null clears one.
    An unknown key is a 422. Answers the facts and the policies the organisation newly meets."""
    facts, newly = F.update(ex, viewer(request), org_id, body)
    return {"org_id": org_id, **facts.as_dict(), "newly_eligible_policies": newly}


@router.post("/api/v1/operator/organisations/{org_id}/facts/verify", tags=["operator"], response_model=S.FactsOut, response_model_exclude_unset=True)
def api_verify_facts(request: Request, ex: ExchangeDep, org_id: Id) -> Any:
    return {"org_id": org_id, **F.verify(ex, viewer(request), org_id).as_dict()}
