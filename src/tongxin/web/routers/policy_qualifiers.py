"""Operator pages: per policy, who qualifies and who misses which fact (with CSV), and the API beside them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...core import booking as B
from ...core import errors as E
from ...core import policy as engine
from ...services import policy_qualifiers as Q
from .. import schemas as S
from ..deps import ExchangeDep, Id, PageNo, lang_of, render, viewer

router = APIRouter()
PAGE = 100


def _today() -> dt.date:
    return dt.datetime.now(B.CST).date()


def _day(raw: str | None) -> dt.date:
    if not raw:
        return _today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise E.ValidationError.of([E.FieldError("date", E.Message(f"日期应为 2026-03-31 的形式，实际为 ‘{raw}’", f"a date looks like 2026-03-31; got '{raw}'"), raw)]) from None


@router.get("/operator/policies", response_class=HTMLResponse)
def policies_page(request: Request, ex: ExchangeDep, date: str | None = None, page: PageNo = 1) -> Any:
    day = _day(date)
    items, total = Q.policies_overview_page(ex, viewer(request), day, page, 50)
    base = f"/operator/policies?date={day.isoformat()}&" if date else "/operator/policies?"
    return render(request, "operator_policies.html", items=items, groups=Q.GROUPS, day=day, total=total, page=page,
                  pages=max(1, -(-total // 50)), pager_base=base)


@router.get("/operator/policies/{policy_id}", response_class=HTMLResponse)
def qualifiers_page(request: Request, ex: ExchangeDep, policy_id: Id, group: str = "qualifies", page: int = 1, date: str | None = None) -> Any:
    if group not in Q.GROUPS:
        raise Q.bad_group(group)
    day = _day(date)
    q = Q.qualifiers(ex, viewer(request), policy_id, day)
    rows = q.group(group)
    pages = max(1, -(-len(rows) // PAGE))
    page = max(1, min(page, pages))
    source = str(q.policy.attrs.get("eligibility") or "")
    try:
        rules = [c.text(lang_of(request)) for c in engine.parse_rules(source)]
    except engine.RuleError:
        rules = [source]
    return render(request, "operator_policy.html", q=q, group=group, rows=rows[(page - 1) * PAGE: page * PAGE], page=page, pages=pages,
                  groups=Q.GROUPS, fields=engine.FIELDS, day=day, rules=rules)


@router.get("/operator/policies/{policy_id}/qualifiers.csv")
def qualifiers_csv(request: Request, ex: ExchangeDep, policy_id: Id, date: str | None = None) -> Response:
    q = Q.qualifiers(ex, viewer(request), policy_id, _day(date))
    return Response(Q.qualifiers_csv(q), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="policy-{policy_id}-qualifiers.csv"'})


@router.get("/api/v1/operator/policies/{policy_id}/qualifiers", tags=["operator"], response_model=S.QualifiersOut, response_model_exclude_unset=True)
def api_qualifiers(request: Request, ex: ExchangeDep, policy_id: Id, group: str | None = None, date: str | None = None) -> Any:
    """每个已审核机构对该政策的结果：符合 / 缺少信息（缺哪些）/ 不符合（哪些条件） / per organisation: qualifies, facts missing, fails."""
    if group is not None and group not in Q.GROUPS:
        raise Q.bad_group(group)
    q = Q.qualifiers(ex, viewer(request), policy_id, _day(date))
    return {"policy_id": policy_id, "title": q.policy.title, "date": q.day.isoformat(), "counts": q.counts, "missing_counts": q.missing_counts,
            "items": [r.as_dict() for r in q.rows if group is None or r.group == group]}
