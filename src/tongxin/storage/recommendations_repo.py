"""Repositories for curated recommendations. They flush, never commit (the service's transaction
is the boundary)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..core.recommendations import Recipient
from .models import OrganisationRow
from .models_accounts import AccessGrantRow, UserRow
from .models_recommendations import RecommendationItemRow, RecommendationRow


def recipient(r: OrganisationRow, granted: frozenset[int] = frozenset()) -> Recipient:
    return Recipient(int(r.id), r.name, r.industry or "", r.region, bool(r.verified), granted)


def orgs_by_id(s: Session, ids: Sequence[int]) -> dict[int, OrganisationRow]:
    if not ids:
        return {}
    return {int(r.id): r for r in s.scalars(select(OrganisationRow).where(OrganisationRow.id.in_(list(ids))))}


def orgs_in(s: Session, industry: str, region: str) -> list[OrganisationRow]:
    """Verified organisations whose industry and region start with these prefixes (either may be "")."""
    q = select(OrganisationRow).where(OrganisationRow.verified.is_(True)).order_by(OrganisationRow.id)
    if industry:
        q = q.where(OrganisationRow.industry.like(industry + "%"))
    if region:
        q = q.where(OrganisationRow.region.like(region + "%"))
    return list(s.scalars(q))


def find_orgs(s: Session, text: str, limit: int = 30) -> list[OrganisationRow]:
    """Organisations by id, credit code or part of the name (the compose page's picker)."""
    t = text.strip()
    if not t:
        return []
    conds: list[Any] = [OrganisationRow.name.contains(t, autoescape=True), OrganisationRow.credit_code == t.upper()]
    if t.isdigit() and int(t) < 2**63:
        conds.append(OrganisationRow.id == int(t))
    return list(s.scalars(select(OrganisationRow).where(or_(*conds)).order_by(OrganisationRow.verified.desc(), OrganisationRow.id).limit(limit)))


def grants(s: Session, org_ids: Sequence[int], listing_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """Organisation → the given confidential listings granted to it."""
    out: dict[int, set[int]] = {}
    if org_ids and listing_ids:
        q = select(AccessGrantRow.org_id, AccessGrantRow.listing_id).where(AccessGrantRow.org_id.in_(list(org_ids)),
                                                                          AccessGrantRow.listing_id.in_(list(listing_ids)))
        for o, x in s.execute(q):
            out.setdefault(int(o), set()).add(int(x))
    return {o: frozenset(xs) for o, xs in out.items()}


def already_sent(s: Session, org_ids: Sequence[int], listing_ids: Sequence[int]) -> set[tuple[int, int]]:
    if not org_ids or not listing_ids:
        return set()
    out: set[tuple[int, int]] = set()
    for i in range(0, len(org_ids), 900):
        q = select(RecommendationItemRow.org_id, RecommendationItemRow.listing_id).where(
            RecommendationItemRow.org_id.in_(list(org_ids[i:i + 900])), RecommendationItemRow.listing_id.in_(list(listing_ids)))
        out |= {(int(o), int(x)) for o, x in s.execute(q)}
    return out


def add(s: Session, author_user_id: int | None, author_name: str, note: str, listing_ids: Sequence[int], audience: dict[str, Any],
        left_out: dict[str, int], at: dt.datetime) -> RecommendationRow:
    row = RecommendationRow(author_user_id=author_user_id, author_name=author_name[:200], note=note, listing_ids=list(listing_ids),
                            audience=audience, left_out=left_out, created_at=at)
    s.add(row)
    s.flush()
    return row


def add_items(s: Session, rec_id: int, pairs: Sequence[tuple[int, int]], at: dt.datetime) -> list[tuple[int, int]]:
    """Insert (organisation, listing) items, skipping pairs recommended before (by anyone, even
    a moment ago in another transaction). Returns the pairs inserted now."""
    if not pairs:
        return []
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (ins(RecommendationItemRow).on_conflict_do_nothing(index_elements=["org_id", "listing_id"])
            .returning(RecommendationItemRow.org_id, RecommendationItemRow.listing_id))
    rows = [{"recommendation_id": rec_id, "org_id": o, "listing_id": x, "created_at": at} for o, x in pairs]
    return [(int(o), int(x)) for o, x in s.execute(stmt, rows).all()]


def get(s: Session, rec_id: int) -> RecommendationRow | None:
    return s.get(RecommendationRow, rec_id)


def recent(s: Session, limit: int = 100, offset: int = 0) -> list[RecommendationRow]:
    return list(s.scalars(select(RecommendationRow).order_by(RecommendationRow.id.desc()).limit(limit).offset(offset)))


def count_all(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(RecommendationRow)) or 0)


def items_of(s: Session, rec_ids: Sequence[int], org_id: int | None = None) -> list[RecommendationItemRow]:
    if not rec_ids:
        return []
    q = select(RecommendationItemRow).where(RecommendationItemRow.recommendation_id.in_(list(rec_ids)))
    if org_id is not None:
        q = q.where(RecommendationItemRow.org_id == org_id)
    return list(s.scalars(q.order_by(RecommendationItemRow.recommendation_id, RecommendationItemRow.id)))


def counts(s: Session, rec_ids: Sequence[int]) -> dict[int, tuple[int, dict[str | None, int]]]:
    """Recommendation → (recipient organisations, items per response (None: no answer yet))."""
    out: dict[int, tuple[int, dict[str | None, int]]] = {}
    if not rec_ids:
        return out
    orgs = {int(rid): int(n) for rid, n in s.execute(
        select(RecommendationItemRow.recommendation_id, func.count(func.distinct(RecommendationItemRow.org_id)))
        .where(RecommendationItemRow.recommendation_id.in_(list(rec_ids))).group_by(RecommendationItemRow.recommendation_id))}
    by: dict[int, dict[str | None, int]] = {}
    for rid, resp, n in s.execute(select(RecommendationItemRow.recommendation_id, RecommendationItemRow.response, func.count())
                                  .where(RecommendationItemRow.recommendation_id.in_(list(rec_ids)))
                                  .group_by(RecommendationItemRow.recommendation_id, RecommendationItemRow.response)):
        by.setdefault(int(rid), {})[resp] = int(n)
    for rid in rec_ids:
        out[rid] = (orgs.get(rid, 0), by.get(rid, {}))
    return out


def inbox(s: Session, org_id: int, limit: int = 50, offset: int = 0) -> list[RecommendationRow]:
    """The recommendations this organisation received, newest first."""
    ids = select(RecommendationItemRow.recommendation_id).where(RecommendationItemRow.org_id == org_id).distinct()
    return list(s.scalars(select(RecommendationRow).where(RecommendationRow.id.in_(ids)).order_by(RecommendationRow.id.desc())
                          .limit(limit).offset(offset)))


def count_inbox(s: Session, org_id: int) -> int:
    ids = select(RecommendationItemRow.recommendation_id).where(RecommendationItemRow.org_id == org_id).distinct()
    return int(s.scalar(select(func.count()).select_from(RecommendationRow).where(RecommendationRow.id.in_(ids))) or 0)


def unanswered(s: Session, org_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(RecommendationItemRow)
                        .where(RecommendationItemRow.org_id == org_id, RecommendationItemRow.response.is_(None))) or 0)


def item(s: Session, rec_id: int, org_id: int, listing_id: int) -> RecommendationItemRow | None:
    return s.scalar(select(RecommendationItemRow).where(RecommendationItemRow.recommendation_id == rec_id, RecommendationItemRow.org_id == org_id,
                                                        RecommendationItemRow.listing_id == listing_id))


def user_names(s: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(u): str(n) for u, n in s.execute(select(UserRow.id, UserRow.name).where(UserRow.id.in_(list(ids))))}
