"""Certification marks: public verification, licensee lists, and retail needs matched to licensed producers only."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core.certification import Licence, Mark, Verdict, claim_problems, verify
from ..core.errors import FieldError, Message, NotFound, ValidationError
from ..core.kinds import Registry, default_registry
from ..core.listing import Listing
from ..core.matching.explain import FitItem
from ..core.matching.fit import MatchContext
from ..core.matching.rank import Match
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange


def verify_licence(ex: Exchange, mark_ref: str, org_ref: str, day: dt.date) -> Verdict:
    with ex.db.transaction(write=False) as s:
        mark = rr.find_mark(s, mark_ref)
        org = rr.resolve_org(s, org_ref)
        lics = rr.licences(s, mark, [org.id])
    return verify(mark, lics, org.id, day)


def claim_errors(s: Session, listing: Listing, today: dt.date, row: int | None = None) -> list[FieldError]:
    """A listing that claims a certification mark (certified products, or any listing naming a
    `mark_code`) must belong to an organisation holding a licence for that mark valid for the
    listing's dates (from `valid_from`, or today, to `valid_until`). Every write path (pages, API,
    CLI and file import) calls this before it writes; the errors name the field and the fix."""
    code = str(listing.attrs.get("mark_code") or "").strip().upper()
    if not default_registry().has_check(listing.kind, "licence") or not code:
        return []
    owner = repo.resolve_owner(s, listing.owner) if listing.owner else None
    if owner is None:
        return []  # the owner check reports this row
    try:
        mark: Mark | None = rr.find_mark(s, code)
    except NotFound:
        mark = None
    lics = rr.licences(s, mark, [owner.id]) if mark is not None else []
    start = listing.valid_from or today
    end = max(listing.valid_until or start, start)
    problems = claim_problems(code, mark, lics, owner.id, listing.attrs.get("licence_no"), start, end)
    return [FieldError(f, msg, listing.attrs.get(f) if f in listing.attrs else code, row) for f, msg in problems]


def require_licensed_claim(s: Session, listing: Listing, today: dt.date) -> None:
    errors = claim_errors(s, listing, today)
    if errors:
        raise ValidationError(Message("认证标志声明未通过许可核验", "the mark claim failed the licence check"), errors)


@contextmanager
def _unit(ex: Exchange, session: Session | None) -> Iterator[Session]:
    """The caller's session, or a read transaction of its own."""
    if session is not None:
        yield session
        return
    with ex.db.transaction(write=False) as s:
        yield s


def claim_warning(ex: Exchange, listing: Listing, day: dt.date, session: Session | None = None) -> Message | None:
    """Why a published mark claim no longer holds on `day` (licence revoked, expired or never
    valid), for the listing's page; None when it holds or claims nothing. Read in `session`
    (the caller's unit of work) when given."""
    if not ex.registry.has_check(listing.kind, "licence") or not listing.attrs.get("mark_code") or listing.owner_id is None:
        return None
    code = str(listing.attrs["mark_code"]).strip().upper()
    with _unit(ex, session) as s:
        try:
            mark = rr.find_mark(s, code)
        except NotFound:
            return Message(f"警告：认证标志 {code} 不在认证标志目录中，此声明未经核验", f"warning: mark {code} is not in the registry; this claim is unverified")
        v = verify(mark, rr.licences(s, mark, [listing.owner_id]), listing.owner_id, day)
    if v.licensed:
        return None
    return Message(f"警告：{day} 该机构无“{mark.name}”有效使用许可（{v.reason.zh}），请勿依据此标志采购；本资源不参与匹配",
                   f"warning: on {day} this organisation holds no valid licence for '{mark.name}' ({v.reason.en}); "
                   "do not rely on the mark; this listing is not matched")


def marks(ex: Exchange) -> list[tuple[Mark, int]]:
    with ex.db.transaction(write=False) as s:
        return rr.list_marks(s)


def licensees(ex: Exchange, mark_ref: str, day: dt.date | None = None) -> tuple[Mark, list[Licence]]:
    with ex.db.transaction(write=False) as s:
        mark = rr.find_mark(s, mark_ref)
        return mark, rr.licences(s, mark, on=day)


def licensees_page(ex: Exchange, mark_ref: str, day: dt.date | None = None, page: int = 1, per_page: int = 50) -> tuple[Mark, list[Licence], int]:
    """One page of a mark's licensees valid on `day` and how many there are."""
    mark, every = licensees(ex, mark_ref, day)
    page = max(1, page)
    return mark, every[(page - 1) * per_page:page * per_page], len(every)


def claimed_mark(query: Listing | None, cand: Listing, registry: Registry | None = None) -> str | None:
    """The mark a matched listing stands for: the one it claims, or (when it names none) the one the need asks for."""
    if not (registry or default_registry()).has_check(cand.kind, "licence") and not cand.attrs.get("mark_code"):
        return None
    code = cand.attrs.get("mark_code") or (query.attrs.get("mark_code") if query is not None else None)
    return str(code).strip().upper() if code else None


def check_claimed_marks(ex: Exchange, matches: Sequence[Match], day: dt.date, query: Listing | None = None,
                        session: Session | None = None) -> list[Match]:
    """Keep a certified product only when its owner holds a licence for the mark it stands for, valid on `day`
    (unknown marks, expired, revoked or missing licences drop it); a kept one gets the licence as a reason.
    Read in `session` (the caller's unit of work) when given."""
    wanted: dict[str, set[int]] = {}
    for m in matches:
        code = claimed_mark(query, m.listing, ex.registry)
        if code and m.listing.owner_id is not None:
            wanted.setdefault(code, set()).add(m.listing.owner_id)
    if not wanted:
        return list(matches)
    found: dict[str, tuple[Mark, dict[int, Licence]]] = {}
    with _unit(ex, session) as s:
        for code, owners in wanted.items():
            try:
                mark = rr.find_mark(s, code)
            except NotFound:
                continue  # a mark nobody registered cannot be licensed
            found[code] = (mark, {x.org_id: x for x in rr.licences(s, mark, sorted(owners), on=day)})
    out = []
    for m in matches:
        code = claimed_mark(query, m.listing, ex.registry)
        if not code:
            out.append(m)
            continue
        entry = found.get(code)
        lic = entry[1].get(m.listing.owner_id or -1) if entry is not None else None
        if entry is None or lic is None:
            continue
        mark = entry[0]
        item = FitItem("licence", f"{day} 持“{mark.name}”有效许可 {lic.licence_no}（{lic.valid_from}–{lic.valid_until}）",
                       f"licensed for '{mark.name}' on {day} ({lic.licence_no}, {lic.valid_from} to {lic.valid_until})", True, 0.0)
        out.append(dataclasses.replace(m, explanation=dataclasses.replace(m.explanation, fit=[*m.explanation.fit, item])))
    return out


def licensed_matches(ex: Exchange, need_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
                     ctx: MatchContext | None = None) -> list[Match]:
    """A retail need's matches, keeping only producers licensed for the mark on the day, with the licence as a reason
    (the licence check runs in the one match path, Exchange.match, declared by the certified-product kind)."""
    return ex.match(need_id, viewer, limit=limit, ctx=ctx or MatchContext())[1]
