"""Repositories: translate between rows and core records. They flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.errors import FieldError, Message, NotFound, ValidationError
from ..core.kinds.registry import Registry
from ..core.listing import Listing, attrs_from_json, attrs_to_json
from ..core.organisation import Organisation
from .models import ListingChangeRow, ListingRow, OrganisationRow


def org_from_row(r: OrganisationRow) -> Organisation:
    return Organisation(
        id=r.id, external_id=r.external_id, name=r.name, credit_code=r.credit_code, org_type=r.org_type,
        region=r.region, industry=r.industry, description=r.description, contact_name=r.contact_name,
        contact_phone=r.contact_phone, website=r.website, verified=r.verified,
    )


def listing_from_row(r: ListingRow, registry: Registry, owner: OrganisationRow | None = None) -> Listing:
    spec = registry.get(r.kind)
    return Listing(
        id=r.id, external_id=r.external_id, kind=r.kind, side=r.side, title=r.title, description=r.description,
        keywords=list(r.keywords or []), industry=r.industry, region=r.region,
        owner=(owner.external_id or str(owner.id)) if owner else str(r.owner_id), owner_id=r.owner_id,
        owner_name=owner.name if owner else "", visibility=r.visibility, status=r.status,
        valid_from=r.valid_from, valid_until=r.valid_until, summary=r.summary,
        attrs=attrs_from_json(spec, r.attrs or {}), created_at=r.created_at, updated_at=r.updated_at,
    )


# -- organisations ---------------------------------------------------------------------------

def upsert_organisation(s: Session, org: Organisation, row: int | None = None) -> tuple[OrganisationRow, bool]:
    """Insert, or update the organisation with the same external id (else the same credit code)."""
    existing = None
    if org.external_id:
        existing = s.scalar(select(OrganisationRow).where(OrganisationRow.external_id == org.external_id))
    if existing is None:
        existing = s.scalar(select(OrganisationRow).where(OrganisationRow.credit_code == org.credit_code))
        if existing is not None and org.external_id and existing.external_id and existing.external_id != org.external_id:
            raise ValidationError.of([FieldError(
                "credit_code",
                Message(f"统一社会信用代码 {org.credit_code} 已属于机构 {existing.external_id}（{existing.name}）",
                        f"credit code {org.credit_code} already belongs to organisation {existing.external_id} ({existing.name})"),
                org.credit_code, row)])
    created = existing is None
    r = existing or OrganisationRow()
    for key in ("name", "credit_code", "org_type", "region", "industry", "description", "contact_name", "contact_phone", "website", "verified"):
        setattr(r, key, getattr(org, key))
    if org.external_id:
        r.external_id = org.external_id
    if created:
        s.add(r)
    s.flush()
    return r, created


def resolve_owner(s: Session, ref: str) -> OrganisationRow | None:
    r = s.scalar(select(OrganisationRow).where(OrganisationRow.external_id == ref))
    if r is None and ref.isdigit():
        r = s.get(OrganisationRow, int(ref))
    return r


def get_organisation(s: Session, org_id: int) -> Organisation:
    r = s.get(OrganisationRow, org_id)
    if r is None:
        raise NotFound(Message(f"机构 {org_id} 不存在", f"organisation {org_id} does not exist"))
    return org_from_row(r)


def list_organisations(s: Session) -> list[Organisation]:
    return [org_from_row(r) for r in s.scalars(select(OrganisationRow).order_by(OrganisationRow.id))]


# -- listings ---------------------------------------------------------------------------------

def upsert_listing(s: Session, listing: Listing, registry: Registry, row: int | None = None) -> tuple[ListingRow, bool]:
    """Insert, or update the listing with the same external id (or id). Records a change."""
    owner = resolve_owner(s, listing.owner)
    if owner is None:
        raise ValidationError.of([FieldError(
            "owner", Message(f"发布机构 ‘{listing.owner}’ 不存在，请先导入该机构或更正编号",
                             f"owner organisation '{listing.owner}' does not exist; import it first or correct the id"),
            listing.owner, row)])
    existing = None
    if listing.id is not None:
        existing = s.get(ListingRow, listing.id)
    if existing is None and listing.external_id:
        existing = s.scalar(select(ListingRow).where(ListingRow.external_id == listing.external_id))
    created = existing is None
    r = existing or ListingRow()
    spec = registry.get(listing.kind)
    r.kind, r.side, r.title, r.description = listing.kind, listing.side, listing.title, listing.description
    r.keywords = list(listing.keywords)
    r.industry, r.region, r.owner_id = listing.industry, listing.region, owner.id
    r.visibility, r.status = listing.visibility, listing.status
    r.valid_from, r.valid_until, r.summary = listing.valid_from, listing.valid_until, listing.summary
    r.attrs = attrs_to_json(spec, listing.attrs)
    if listing.external_id:
        r.external_id = listing.external_id
    if created:
        s.add(r)
    s.flush()
    record_change(s, r.id)
    return r, created


def record_change(s: Session, listing_id: int) -> None:
    s.add(ListingChangeRow(listing_id=listing_id))


def set_status(s: Session, listing_id: int, status: str) -> None:
    r = s.get(ListingRow, listing_id)
    if r is None:
        raise NotFound(Message(f"资源 {listing_id} 不存在", f"listing {listing_id} does not exist"))
    r.status = status
    s.flush()
    record_change(s, listing_id)


def get_listing(s: Session, listing_id: int, registry: Registry) -> Listing:
    r = s.get(ListingRow, listing_id)
    if r is None:
        raise NotFound(Message(f"资源 {listing_id} 不存在", f"listing {listing_id} does not exist"))
    return listing_from_row(r, registry, s.get(OrganisationRow, r.owner_id))


def get_listings(s: Session, ids: Sequence[int], registry: Registry) -> dict[int, Listing]:
    if not ids:
        return {}
    q = select(ListingRow, OrganisationRow).join(OrganisationRow, ListingRow.owner_id == OrganisationRow.id).where(ListingRow.id.in_(list(ids)))
    return {lr.id: listing_from_row(lr, registry, orow) for lr, orow in s.execute(q)}


@dataclass
class ListingFilter:
    kind: str | None = None
    side: str | None = None
    region: str | None = None  # a code; a province-level code (110000) matches its districts
    industry: str | None = None  # a division or a section letter
    status: str | None = None
    owner_id: int | None = None
    q: str | None = None  # substring of the title
    limit: int = 50
    offset: int = 0


def _filtered(f: ListingFilter):  # type: ignore[no-untyped-def]
    q = select(ListingRow, OrganisationRow).join(OrganisationRow, ListingRow.owner_id == OrganisationRow.id)
    if f.kind:
        q = q.where(ListingRow.kind == f.kind)
    if f.side:
        q = q.where(ListingRow.side == f.side)
    if f.status:
        q = q.where(ListingRow.status == f.status)
    if f.owner_id:
        q = q.where(ListingRow.owner_id == f.owner_id)
    if f.region:
        if f.region.endswith("0000"):
            q = q.where(ListingRow.region.like(f.region[:2] + "%"))
        else:
            q = q.where(ListingRow.region == f.region)
    if f.industry:
        if len(f.industry) == 1:
            q = q.where(ListingRow.industry.like(f.industry + "%"))
        else:
            q = q.where(ListingRow.industry == f.industry)
    if f.q:
        q = q.where(ListingRow.title.contains(f.q))
    return q


def find_listings(s: Session, f: ListingFilter, registry: Registry) -> list[Listing]:
    q = _filtered(f).order_by(ListingRow.id.desc()).limit(f.limit).offset(f.offset)
    return [listing_from_row(lr, registry, orow) for lr, orow in s.execute(q)]


def count_listings(s: Session, f: ListingFilter) -> int:
    return int(s.scalar(select(func.count()).select_from(_filtered(f).subquery())) or 0)


def iter_listings(s: Session, registry: Registry, batch: int = 2000) -> Iterator[Listing]:
    last = 0
    while True:
        q = (select(ListingRow, OrganisationRow).join(OrganisationRow, ListingRow.owner_id == OrganisationRow.id)
             .where(ListingRow.id > last).order_by(ListingRow.id).limit(batch))
        rows = s.execute(q).all()
        if not rows:
            return
        for lr, orow in rows:
            yield listing_from_row(lr, registry, orow)
        last = rows[-1][0].id


def last_change_id(s: Session) -> int:
    return int(s.scalar(select(func.max(ListingChangeRow.id))) or 0)


def changes_since(s: Session, after: int) -> tuple[int, list[int]]:
    """(newest change id, distinct listing ids changed after `after`)."""
    rows = s.execute(select(ListingChangeRow.id, ListingChangeRow.listing_id).where(ListingChangeRow.id > after).order_by(ListingChangeRow.id)).all()
    if not rows:
        return after, []
    return rows[-1][0], sorted({r[1] for r in rows})


def counts(s: Session) -> dict[str, int]:
    out = {"organisations": int(s.scalar(select(func.count()).select_from(OrganisationRow)) or 0)}
    for kind, n in s.execute(select(ListingRow.kind, func.count()).where(ListingRow.status == "published").group_by(ListingRow.kind)):
        out[kind] = int(n)
    return out


def ids_with_external(s: Session, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    return set(s.scalars(select(ListingRow.external_id).where(ListingRow.external_id.in_(ids)))) if ids else set()
