"""Certification marks: public verification, licensee lists, and retail needs matched to licensed producers only."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from ..core import access as acc
from ..core.certification import Licence, Mark, Verdict, verify
from ..core.errors import NotFound
from ..core.listing import Listing
from ..core.matching.explain import FitItem
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


def claimed_mark(query: Listing | None, cand: Listing) -> str | None:
    """The mark a matched listing stands for: the one it claims, or (when it names none) the one the need asks for."""
    if cand.kind != "certified_product" and not cand.attrs.get("mark_code"):
        return None
    code = cand.attrs.get("mark_code") or (query.attrs.get("mark_code") if query is not None else None)
    return str(code).strip().upper() if code else None


def check_claimed_marks(ex: Exchange, matches: Sequence[Match], day: dt.date, query: Listing | None = None) -> list[Match]:
    """Keep a certified product only when its owner holds a licence for the mark it stands for, valid on `day`
    (unknown marks, expired, revoked or missing licences drop it); a kept one gets the licence as a reason."""
    wanted: dict[str, set[int]] = {}
    for m in matches:
        code = claimed_mark(query, m.listing)
        if code and m.listing.owner_id is not None:
            wanted.setdefault(code, set()).add(m.listing.owner_id)
    if not wanted:
        return list(matches)
    found: dict[str, tuple[Mark, dict[int, Licence]]] = {}
    with ex.db.transaction(write=False) as s:
        for code, owners in wanted.items():
            try:
                mark = rr.find_mark(s, code)
            except NotFound:
                continue  # a mark nobody registered cannot be licensed
            found[code] = (mark, {x.org_id: x for x in rr.licences(s, mark, sorted(owners), on=day)})
    out = []
    for m in matches:
        code = claimed_mark(query, m.listing)
        if not code:
            out.append(m)
            continue
        mark, valid = found.get(code, (None, {}))
        lic = valid.get(m.listing.owner_id or -1)
        if mark is None or lic is None:
            continue
        item = FitItem("licence", f"{day} 持“{mark.name}”有效许可 {lic.licence_no}（{lic.valid_from}–{lic.valid_until}）",
                       f"licensed for '{mark.name}' on {day} ({lic.licence_no}, {lic.valid_from} to {lic.valid_until})", True, 0.0)
        out.append(dataclasses.replace(m, explanation=dataclasses.replace(m.explanation, fit=[*m.explanation.fit, item])))
    return out


def licensed_matches(ex: Exchange, need_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
                     ctx: MatchContext | None = None) -> list[Match]:
    """A retail need's matches, keeping only producers licensed for the mark on the day, with the licence as a reason
    (the licence check runs in the one match path, Exchange.match, declared by the certified-product kind)."""
    return ex.match(need_id, viewer, limit=limit, ctx=ctx or MatchContext())[1]
