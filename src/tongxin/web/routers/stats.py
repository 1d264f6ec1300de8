"""Statistics pages and API: the operators' dashboard, the public summary, CSV downloads of every
chart's table, the year-end report, registration packages, and the deals API (parties and staff).

Access: /dashboard and /dashboard/report are for operators (`_operator`, through core.access); a
contract's registration package is for its two parties and staff (services.contracts.can_see_contract).
/summary is public, and so are the CSV downloads of its own tables and the part of /api/v1/stats it
shows (`public_stats`); the rest (funnel, top organisations, resources …) is for staff only.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ...core import access as acc
from ...core import deals as D
from ...core import stats as st
from ...core.clock import local_today
from ...core.errors import FieldError, Message, NotFound, ValidationError
from ...fileio.safe_cells import csv_row
from ...services import contracts as C
from ...services import deals as DS
from ...services import reports
from ...services import stats as S
from .. import charts
from .. import schemas as SC
from ..deps import ContractsDep, DealsDep, Id, get_statistics, json_object, render, viewer

router = APIRouter()

PUBLIC_TABLES = ("by_year", "by_quarter", "by_buyer_province", "by_park", "by_type", "by_industry", "flows")
# what /api/v1/stats shows to everybody: the figures on the public summary (its tables and key figures)
PUBLIC_KEYS = ("period", "counted", "not_registered", "start", "end", "total", "previous_total", "growth", "cross_region_amount_yuan",
               "corridor_amount_yuan") + PUBLIC_TABLES


def public_stats(full: dict[str, Any]) -> dict[str, Any]:
    """The public part of the figures: the summary page's tables and key figures, nothing else."""
    out = {k: full[k] for k in PUBLIC_KEYS if k in full}
    out["days_to_contract"] = {"median": (full.get("days_to_contract") or {}).get("median")}
    out["scope"] = "public"
    return out


def _operator(request: Request) -> acc.Viewer:
    """The one place the operator pages ask who may see them: platform staff only."""
    v = viewer(request)
    acc.require_signed_in(v)
    acc.require_staff(v)
    return v


def _figures(request: Request, period: str | None) -> tuple[st.Figures, list[int]]:
    return get_statistics(request).figures_and_years(period)


@router.get("/stats/plotly.min.js")
def plotly_js() -> Any:
    import plotly

    path = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
    return FileResponse(path, media_type="application/javascript", headers={"Cache-Control": "public, max-age=86400"})


def _page(request: Request, template: str, period: str | None, public: bool, **extra: Any) -> Any:
    f, years = _figures(request, period)
    tabs = S.tables(f)
    names = [n for n in tabs if not public or n in PUBLIC_TABLES]
    specs = charts.dashboard_charts(f, public=public)
    sections = [(n, tabs[n][0], tabs[n][1], tabs[n][2], json.dumps(specs[n], ensure_ascii=False) if n in specs else None)
                for n in names if tabs[n][2] or n in specs]
    return render(request, template, f=f, years=years, key_figures=S.key_figures(f), sections=sections, st=st, **extra)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, deals: DealsDep, period: str | None = None) -> Any:
    v = _operator(request)
    o = deals.overview(v, local_today())
    stage_rows = [(c.value, c.zh, o.stage_counts.get(c.value, 0)) for c in D.STAGES]
    return _page(request, "stats/dashboard.html", period, False, stage_rows=stage_rows, reminders=o.reminders, recent=o.recent,
                 stage_label=D.stage_label)


@router.get("/summary", response_class=HTMLResponse)
def summary(request: Request, period: str | None = None) -> Any:
    return _page(request, "stats/summary.html", period, True)


@router.get("/stats/{name}.csv")
def table_csv(request: Request, name: str, period: str | None = None) -> Any:
    if name not in PUBLIC_TABLES:
        _operator(request)  # tables the public summary does not show are for staff
    f, _ = _figures(request, period)
    tabs = S.tables(f)
    if name not in tabs:
        raise NotFound(Message(f"统计表 {name} 不存在", f"table {name} does not exist"))
    _, headers, rows = tabs[name]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(csv_row(r) for r in rows)
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="tongxin-{name}-{f.period.label}.csv"'})


@router.get("/api/v1/stats", response_model=SC.StatsOut, response_model_exclude_unset=True)
def api_stats(request: Request, period: str | None = None) -> Any:
    f, _ = _figures(request, period)
    full = f.as_dict()
    return full if viewer(request).is_staff else public_stats(full)


@router.get("/dashboard/report")
def report_download(request: Request, period: str | None = None, format: str = "pdf") -> Any:
    _operator(request)
    if format not in ("pdf", "xlsx"):
        raise ValidationError.of([FieldError("format", Message("格式应为 pdf 或 xlsx", "format must be pdf or xlsx"), format)])
    f, _ = _figures(request, period)
    data = reports.report_pdf(f) if format == "pdf" else reports.report_xlsx(f)
    media = "application/pdf" if format == "pdf" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="tongxin-report-{f.period.label}.{format}"'})


@router.get("/contracts/{contract_id}/package.{fmt}")
def contract_package(request: Request, contracts: ContractsDep, contract_id: Id, fmt: str) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    if fmt not in ("pdf", "xlsx"):
        raise NotFound(Message("只提供 PDF 或 XLSX 登记材料", "the package is available as .pdf or .xlsx only"))
    no, sections = contracts.package(v, contract_id)  # the two parties and staff
    data = C.package_pdf(sections, no) if fmt == "pdf" else C.package_xlsx(sections, no)
    media = "application/pdf" if fmt == "pdf" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in no) or "contract"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename=\"{safe}.{fmt}\"; filename*=UTF-8''{quote(no)}.{fmt}"})


# -- deals API: both parties and staff --------------------------------------------------------------
def _deal_json(d: Any) -> dict[str, Any]:
    return {"id": d.id, "title": d.title, "stage": d.stage, "stage_label": D.stage_label(d.stage), "seller_org_id": d.seller_org_id,
            "buyer_org_id": d.buyer_org_id, "listing_ids": list(d.listing_ids or []), "origin": d.origin,
            "contact_request_id": d.contact_request_id,
            "last_activity_at": DS.iso(d.last_activity_at)}


@router.get("/api/v1/deals", response_model=SC.DealsOut, response_model_exclude_unset=True)
def api_deals(request: Request, deals: DealsDep, stage: str | None = None) -> Any:
    return {"deals": [_deal_json(d) for d in deals.deals(viewer(request), stage)]}


@router.get("/api/v1/deals/{deal_id}", response_model=SC.DealDetailOut, response_model_exclude_unset=True)
def api_deal(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    x = deals.detail(viewer(request), deal_id)
    return _deal_json(x.deal) | {
        "next_stages": list(x.next_stages),
        "events": [{"from": e.from_stage, "to": e.to_stage, "actor_user_id": e.actor_user_id, "actor_org_id": e.actor_org_id,
                    "note": e.note, "at": DS.iso(e.at)} for e in x.events],
        "finance": [{"id": f.id, "kind": f.kind, "status": f.status, "amount_yuan": f.amount_yuan, "provider_org_id": f.provider_org_id}
                    for f in x.finance],
        "agreements": [{"id": a.id, "type": a.agreement_type, "title": a.title, "effective_on": a.effective_on.isoformat(),
                        "expires_on": a.expires_on.isoformat() if a.expires_on else None} for a in x.agreements],
    }


@router.post("/api/v1/deals/{deal_id}/stage", response_model=SC.DealOut, response_model_exclude_unset=True)
async def api_move(request: Request, deals: DealsDep, deal_id: Id) -> Any:
    body = await json_object(request)
    v = viewer(request)
    return _deal_json(deals.move(v, deal_id, str(body.get("stage") or ""), str(body.get("note") or "")))
