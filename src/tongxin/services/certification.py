"""Certification marks: public verification, licensee lists, and retail needs matched to licensed producers only."""

from __future__ import annotations

import datetime as dt

from ..core import access as acc
from ..core.certification import Licence, Mark, Verdict, verify
from ..core.matching.explain import Explanation, FitItem
from ..core.matching.fit import MatchContext
from ..core.matching.rank import Match
from ..storage import resources_repo as rr
from .exchange import Exchange


def verify_licence(ex: Exchange, mark_ref: str, org_ref: str, day: dt.date) -> Verdict:
    with ex.db.transaction(write=False) as s:
        mark = rr.find_mark(s, mark_ref)
        org = rr.resolve_org(s, org_ref)
        lics = rr.licences(s, mark, [org.id])
    return verify(mark, lics, org.id, day)


def marks(ex: Exchange) -> list[tuple[Mark, int]]:
    with ex.db.transaction(write=False) as s:
        return rr.list_marks(s)


def licensees(ex: Exchange, mark_ref: str, day: dt.date | None = None) -> tuple[Mark, list[Licence]]:
    with ex.db.transaction(write=False) as s:
        mark = rr.find_mark(s, mark_ref)
        return mark, rr.licences(s, mark, on=day)


def licensed_matches(ex: Exchange, need_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
                     ctx: MatchContext | None = None) -> list[Match]:
    """A retail need's matches, keeping only producers licensed for the mark on the day, with the licence as a reason."""
    ctx = ctx or MatchContext()
    need, res = ex.match(need_id, viewer, limit=limit * 3, ctx=ctx)
    code = need.attrs.get("mark_code")
    if not code:
        return res[:limit]
    with ex.db.transaction(write=False) as s:
        mark = rr.find_mark(s, str(code))
        owners = [m.listing.owner_id for m in res if m.listing.owner_id is not None]
        valid = {x.org_id: x for x in rr.licences(s, mark, owners, on=ctx.today)}
    out = []
    for m in res:
        lic = valid.get(m.listing.owner_id or -1)
        if lic is None:
            continue
        item = FitItem("licence", f"持“{mark.name}”有效许可 {lic.licence_no}（至 {lic.valid_until}）",
                       f"licensed for '{mark.name}' ({lic.licence_no}, until {lic.valid_until})", True, 0.0)
        e = m.explanation
        out.append(Match(m.listing, Explanation(e.text_points, e.terms, [*e.fit, item])))
    return out[:limit]
