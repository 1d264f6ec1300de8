"""Repositories: translate between rows and core records. They flush, never commit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Select, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..core.errors import FieldError, Message, NotFound, ValidationError
from ..core.kinds.registry import Registry
from ..core.listing import Listing, ListingFilter, attrs_from_json, attrs_to_json
from ..core.organisation import Organisation
from ..core.semantic.text import listing_embed_text, listing_sentence_list, sentences_hash, text_hash
from . import vectors_repo
from .models import ListingChangeRow, ListingRow, OrganisationRow

log = logging.getLogger(__name__)


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
    holder = s.scalar(select(OrganisationRow).where(OrganisationRow.credit_code == org.credit_code))
    if existing is None:
        existing = holder
    # a credit code identifies one organisation: never move it onto another record
    if holder is not None and holder is not existing or (
            existing is not None and org.external_id and existing.external_id and existing.external_id != org.external_id):
        other = holder if holder is not None else existing
        assert other is not None  # the condition above holds only when one of them is set
        raise ValidationError.of([FieldError(
            "credit_code",
            Message(f"统一社会信用代码 {org.credit_code} 已属于机构 {other.external_id or other.id}（{other.name}），请核对编号或代码",
                    f"credit code {org.credit_code} already belongs to organisation {other.external_id or other.id} ({other.name}); check the id or the code"),
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
    if created:  # no vector of either kind yet: queue both
        vectors_repo.enqueue_new(s, [r.id])
    else:  # queue what its text change made stale: its vector, its sentence vectors
        vectors_repo.note_saved(s, r.id, text_hash(listing_embed_text(listing)))
        vectors_repo.note_sentences_saved(s, r.id, sentences_hash(listing_sentence_list(listing)))
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


def _filtered(f: ListingFilter) -> Select[ListingRow, OrganisationRow]:
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
        q = q.where(ListingRow.region.like(f.region[:2] + "%")) if f.region.endswith("0000") else q.where(ListingRow.region == f.region)
    if f.industry:
        q = q.where(ListingRow.industry.like(f.industry + "%")) if len(f.industry) == 1 else q.where(ListingRow.industry == f.industry)
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
    """Organisations and published public listings per kind: the figures anyone may see (home
    page, /healthz); members-only and confidential listings are not counted."""
    out = {"organisations": int(s.scalar(select(func.count()).select_from(OrganisationRow)) or 0)}
    q = select(ListingRow.kind, func.count()).where(ListingRow.status == "published", ListingRow.visibility == "public")
    for kind, n in s.execute(q.group_by(ListingRow.kind)):
        out[kind] = int(n)
    return out


def ids_with_external(s: Session, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    return set(s.scalars(select(ListingRow.external_id).where(ListingRow.external_id.in_(ids)))) if ids else set()


# -- bulk and fast paths (benchmarks, bulk imports, index builds, candidate fetch) -------------
#
# These use SQLAlchemy Core (no ORM objects per row) and the same column types as the ORM
# classes, so what they store and return is identical to the per-row functions above.

def _reserve_ids(s: Session, table: Any, n: int) -> list[int]:
    """n fresh primary keys for `table`, taken inside the caller's (write) transaction."""
    if n <= 0:
        return []
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar()
        if seq:
            rows = conn.exec_driver_sql(f"SELECT nextval('{seq}') FROM generate_series(1, {int(n)})").all()
            return [int(r[0]) for r in rows]
    # SQLite (the write transaction holds the database lock) and identity-less fallbacks
    start = int(s.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))


def bulk_insert_organisations(s: Session, orgs: Sequence[Organisation]) -> list[int]:
    """Insert new organisations in one executemany; returns their ids (same order). No upsert."""
    table = cast(Table, OrganisationRow.__table__)  # declarative classes type __table__ as any FromClause
    ids = _reserve_ids(s, table, len(orgs))
    rows = [
        {"id": i, "external_id": o.external_id, "name": o.name, "credit_code": o.credit_code, "org_type": o.org_type,
         "region": o.region, "industry": o.industry, "description": o.description, "contact_name": o.contact_name,
         "contact_phone": o.contact_phone, "website": o.website, "verified": o.verified}
        for i, o in zip(ids, orgs, strict=False)
    ]
    if rows:
        s.execute(insert(table), rows)
    return ids


def owner_ids(s: Session, refs: Iterable[str]) -> dict[str, int]:
    """Organisation external id → id, for the given references."""
    refs = list(dict.fromkeys(refs))
    out: dict[str, int] = {}
    for i in range(0, len(refs), 900):
        chunk = refs[i : i + 900]
        rows = s.execute(select(OrganisationRow.external_id, OrganisationRow.id).where(OrganisationRow.external_id.in_(chunk)))
        out.update({e: int(x) for e, x in rows if e is not None})
    return out


def bulk_insert_listings(s: Session, listings: Sequence[Listing], registry: Registry, owners: dict[str, int] | None = None,
                         record_changes: bool = True, enqueue_vectors: bool = True) -> list[int]:
    """Insert new listings (no upsert) in one executemany and record one change per listing
    (and queue them for embedding unless `enqueue_vectors` is False).

    `owners` maps owner references (external ids) to organisation ids; missing ones are looked up.
    Returns the new ids in input order. Validation is the caller's job (validate_listing).
    """
    if not listings:
        return []
    owners = dict(owners or {})
    missing = {x.owner for x in listings if x.owner_id is None and x.owner not in owners}
    if missing:
        owners.update(owner_ids(s, missing))
    table = cast(Table, ListingRow.__table__)
    ids = _reserve_ids(s, table, len(listings))
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        _bulk_insert_listings_sqlite(s, listings, registry, owners, ids, record_changes)
        if enqueue_vectors:
            vectors_repo.enqueue_new(s, ids)
        return ids
    rows = []
    for i, x in zip(ids, listings, strict=False):
        oid = x.owner_id if x.owner_id is not None else owners.get(x.owner)
        if oid is None:
            raise ValidationError.of([FieldError(
                "owner", Message(f"发布机构 ‘{x.owner}’ 不存在，请先导入该机构或更正编号",
                                 f"owner organisation '{x.owner}' does not exist; import it first or correct the id"), x.owner, None)])
        rows.append({
            "id": i, "external_id": x.external_id, "kind": x.kind, "side": x.side, "title": x.title, "description": x.description,
            "keywords": list(x.keywords), "industry": x.industry, "region": x.region, "owner_id": oid,
            "visibility": x.visibility, "status": x.status, "valid_from": x.valid_from, "valid_until": x.valid_until,
            "summary": x.summary, "attrs": attrs_to_json(registry.get(x.kind), x.attrs),
        })
    s.execute(insert(table), rows)
    if record_changes:
        s.execute(insert(cast(Table, ListingChangeRow.__table__)), [{"listing_id": i} for i in ids])
    if enqueue_vectors:
        vectors_repo.enqueue_new(s, ids)
    return ids


def _owner_of(x: Listing, owners: dict[str, int]) -> int:
    oid = x.owner_id if x.owner_id is not None else owners.get(x.owner)
    if oid is None:
        raise ValidationError.of([FieldError(
            "owner", Message(f"发布机构 ‘{x.owner}’ 不存在，请先导入该机构或更正编号",
                             f"owner organisation '{x.owner}' does not exist; import it first or correct the id"), x.owner, None)])
    return oid


_SQLITE_INSERT = ("INSERT INTO listings (id, external_id, kind, side, title, description, keywords, industry, region, owner_id, "
                  "visibility, status, valid_from, valid_until, summary, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _bulk_insert_listings_sqlite(s: Session, listings: Sequence[Listing], registry: Registry, owners: dict[str, int],
                                 ids: list[int], record_changes: bool) -> list[int]:
    """SQLite: one DBAPI executemany, values encoded as SQLAlchemy stores them (JSON text, ISO dates)."""
    dumps = json.dumps
    rows = [
        (i, x.external_id, x.kind, x.side, x.title, x.description, dumps(list(x.keywords)), x.industry, x.region, _owner_of(x, owners),
         x.visibility, x.status, x.valid_from.isoformat() if x.valid_from else None, x.valid_until.isoformat() if x.valid_until else None,
         x.summary, dumps(attrs_to_json(registry.get(x.kind), x.attrs)))
        for i, x in zip(ids, listings, strict=False)
    ]
    cur = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cache = cur.execute("PRAGMA cache_size").fetchone()[0]
    try:
        # unique and secondary indexes take random inserts: a big page cache for the load only
        cur.execute(f"PRAGMA cache_size = {-BULK_CACHE_KB}")
        # created_at / updated_at: the columns' server default, as for ORM inserts
        cur.executemany(_SQLITE_INSERT, rows)
        if record_changes:
            cur.executemany("INSERT INTO listing_changes (listing_id) VALUES (?)", [(i,) for i in ids])
    finally:
        cur.execute(f"PRAGMA cache_size = {int(cache)}")
        cur.close()
    return ids


BULK_CACHE_KB = 512 * 1024


_LISTING_COLS = tuple(c for c in ListingRow.__table__.c)


def _listing_select() -> Select[Any]:
    return select(*_LISTING_COLS, OrganisationRow.external_id.label("owner_ext"), OrganisationRow.name.label("owner_name")).join(
        OrganisationRow, ListingRow.owner_id == OrganisationRow.id)


def _listing_from_core(r: Any, registry: Registry) -> Listing:
    """Same record as listing_from_row, from a Core row of _listing_select()."""
    spec = registry.get(r.kind)
    return Listing(
        id=r.id, external_id=r.external_id, kind=r.kind, side=r.side, title=r.title, description=r.description,
        keywords=list(r.keywords or []), industry=r.industry, region=r.region,
        owner=r.owner_ext or str(r.owner_id), owner_id=r.owner_id,
        owner_name=r.owner_name or "", visibility=r.visibility, status=r.status,
        valid_from=r.valid_from, valid_until=r.valid_until, summary=r.summary,
        attrs=attrs_from_json(spec, r.attrs or {}), created_at=r.created_at, updated_at=r.updated_at,
    )


_FETCH_COLS = ("id", "external_id", "kind", "side", "title", "description", "keywords", "industry", "region", "owner_id",
               "visibility", "status", "valid_from", "valid_until", "summary", "attrs", "created_at", "updated_at")
_FETCH_SQL = ("SELECT " + ", ".join("l." + c for c in _FETCH_COLS) + ", o.external_id, o.name FROM listings l "
              "JOIN organisations o ON l.owner_id = o.id WHERE l.id IN ({})")


def _json(v: Any) -> Any:
    """A JSON column's value: text parsed (orjson, ~4× faster on the query path; json for what
    orjson refuses, such as NaN), native values as they are (PostgreSQL)."""
    if not isinstance(v, (str, bytes)):
        return v
    try:
        return orjson.loads(v)
    except orjson.JSONDecodeError:
        return json.loads(v)


def _date(v: Any) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _datetime(v: Any) -> dt.datetime | None:
    if v is None or isinstance(v, dt.datetime):
        return v
    return dt.datetime.fromisoformat(str(v))


class ListingMemo:
    """Listings already built from an identical row (every column, the owner's name included),
    for the query path: a search reads a few hundred candidate rows, and building a Listing from
    a row (JSON, dates, typed attrs) cost more than reading it. The row is still read each time,
    so a changed row is a different key: nothing is ever served that the database no longer
    holds. Bounded (least recently used out). Listings handed out are shared: callers on the
    query path never change them (they copy: `dataclasses.replace`, `core.access.redacted`)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Listing] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(r: Sequence[Any]) -> Hashable:
        row = tuple(r)
        try:
            hash(row)  # SQLite: text, numbers and NULLs (string hashes are kept for the lookup)
            return row
        except TypeError:  # PostgreSQL: JSON columns arrive as dicts/lists, keyed by their canonical text
            return tuple(orjson.dumps(v, option=orjson.OPT_SORT_KEYS) if isinstance(v, (dict, list)) else v for v in row)

    def get(self, key: Hashable) -> Listing | None:
        with self._lock:
            x = self._items.get(key)
            if x is not None:
                self._items.move_to_end(key)
            return x

    def put(self, key: Hashable, x: Listing) -> None:
        with self._lock:
            self._items[key] = x
            if len(self._items) > self.size:
                self._items.popitem(last=False)


def fetch_listings(s: Session, ids: Sequence[int], registry: Registry, memo: ListingMemo | None = None) -> dict[int, Listing]:
    """Like get_listings (the same records), for the query path: one plain SQL statement per
    900 ids on the session's own connection, values converted here instead of per-column
    SQLAlchemy result processing (JSON text, ISO dates on SQLite; native values on PostgreSQL).
    With `memo` (one per registry), a row read before is not converted again."""
    out: dict[int, Listing] = {}
    ids = [int(i) for i in ids]
    if not ids:
        return out
    conn = s.connection()
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            if ph == "?":
                cur.execute(_FETCH_SQL.format(",".join([ph] * len(chunk))), chunk)
            else:  # one statement text whatever the count: PostgreSQL plans it once (prepared)
                cur.execute(_FETCH_SQL.replace("IN ({})", "= ANY(%s)"), [chunk])
            for r in cur.fetchall():
                if memo is None:
                    out[int(r[0])] = _listing_from_raw(r, registry, r[18], r[19])
                    continue
                key = memo.key(r)
                x = memo.get(key)
                if x is None:
                    x = _listing_from_raw(r, registry, r[18], r[19])
                    memo.put(key, x)
                out[int(r[0])] = x
    finally:
        cur.close()
    return out


def _listing_from_raw(r: Sequence[Any], registry: Registry, owner_ext: str | None, owner_name: str | None) -> Listing:
    """A Listing from a raw row of _FETCH_COLS (same values as listing_from_row)."""
    spec = registry.get(r[2])
    return Listing(
        id=r[0], external_id=r[1], kind=r[2], side=r[3], title=r[4], description=r[5],
        keywords=list(_json(r[6]) or []), industry=r[7], region=r[8],
        owner=owner_ext or str(r[9]), owner_id=r[9], owner_name=owner_name or "", visibility=r[10], status=r[11],
        valid_from=_date(r[12]), valid_until=_date(r[13]), summary=r[14],
        attrs=attrs_from_json(spec, _json(r[15]) or {}), created_at=_datetime(r[16]), updated_at=_datetime(r[17]),
    )


def scan_listings_for_index(s: Session, registry: Registry, status: str = "published", batch: int = 5000) -> Iterator[list[Listing]]:
    """Listings of `status` in id order, in lists of `batch`, for index builds: plain SQL on the
    session's connection, no owner join (owner = the owner id as text, owner_name empty)."""
    conn = s.connection()
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = ("SELECT " + ", ".join(_FETCH_COLS) + f" FROM listings WHERE status = {ph} AND id > {ph} ORDER BY id LIMIT {int(batch)}")
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    last = 0
    try:
        while True:
            cur.execute(sql, (status, last))
            rows = cur.fetchall()
            if not rows:
                return
            yield [_listing_from_raw(r, registry, None, None) for r in rows]
            last = int(rows[-1][0])
    finally:
        cur.close()


def fetch_listing(s: Session, listing_id: int, registry: Registry) -> Listing:
    """Like get_listing (same record, same NotFound), without ORM objects."""
    found = fetch_listings(s, [listing_id], registry)
    if listing_id not in found:
        raise NotFound(Message(f"资源 {listing_id} 不存在", f"listing {listing_id} does not exist"))
    return found[listing_id]


def scan_listings(s: Session, registry: Registry, status: str | None = "published", batch: int = 5000,
                  after: int = 0) -> Iterator[list[Listing]]:
    """All listings (of `status`) in id order, in lists of `batch`; keyset-paginated Core queries."""
    last = after
    while True:
        q = _listing_select().where(ListingRow.id > last)
        if status is not None:
            q = q.where(ListingRow.status == status)
        rows = s.execute(q.order_by(ListingRow.id).limit(batch)).all()
        if not rows:
            return
        yield [_listing_from_core(r, registry) for r in rows]
        last = rows[-1].id


def distinct_keywords(s: Session, status: str | None = "published", batch: int = 20000) -> set[str]:
    """Every keyword of the listings (of `status`), deduplicated: what the analyzer learns before a build.
    The database unpacks the JSON lists (SQLite json_each, PostgreSQL json_array_elements_text)."""
    conn = s.connection()
    where = " WHERE l.status = :status" if status is not None else ""
    sql = {"sqlite": "SELECT DISTINCT j.value FROM listings l, json_each(l.keywords) j" + where,
           "postgresql": "SELECT DISTINCT json_array_elements_text(l.keywords) FROM listings l" + where}.get(conn.dialect.name)
    if sql is not None:
        try:
            with s.begin_nested():
                return {str(v) for (v,) in conn.execute(text(sql), {"status": status}) if v is not None}
        except DBAPIError:  # no JSON functions in this database build: unpack here
            log.debug("no JSON functions in %s; keywords unpacked in Python", conn.dialect.name, exc_info=True)
    out: set[str] = set()
    last = 0
    while True:
        q = select(ListingRow.id, ListingRow.keywords).where(ListingRow.id > last)
        if status is not None:
            q = q.where(ListingRow.status == status)
        rows = s.execute(q.order_by(ListingRow.id).limit(batch)).all()
        if not rows:
            return out
        for _, kws in rows:
            if kws:
                out.update(kws)
        last = rows[-1][0]


def count_status(s: Session, status: str) -> int:
    """Listings with this status (no join: the size of an index build)."""
    return int(s.scalar(select(func.count()).select_from(ListingRow).where(ListingRow.status == status)) or 0)


def newest_change(conn: Any) -> int:
    """The newest change id, on a Core connection or session (the cheap per-query freshness check)."""
    return int(conn.execute(select(func.max(ListingChangeRow.id))).scalar() or 0)


def changes_between(s: Session, after: int, upto: int) -> list[int]:
    """Distinct listing ids changed in (after, upto]."""
    rows = s.execute(select(ListingChangeRow.listing_id).where(ListingChangeRow.id > after, ListingChangeRow.id <= upto).distinct())
    return sorted(int(r[0]) for r in rows)


def count_changes_between(s: Session, after: int, upto: int) -> int:
    return int(s.scalar(select(func.count()).select_from(ListingChangeRow).where(ListingChangeRow.id > after, ListingChangeRow.id <= upto)) or 0)


def count_changes_above(conn: Any, low: int) -> tuple[int, int]:
    """(number of changes with id > low, newest change id): the writer's cheap freshness check."""
    n, newest = conn.execute(select(func.count(), func.max(ListingChangeRow.id)).where(ListingChangeRow.id > low)).one()
    return int(n or 0), int(newest or 0)


def change_rows_above(s: Session, low: int) -> list[tuple[int, int]]:
    """(change id, listing id) of every change with id > low, in id order."""
    rows = s.execute(select(ListingChangeRow.id, ListingChangeRow.listing_id).where(ListingChangeRow.id > low).order_by(ListingChangeRow.id))
    return [(int(a), int(b)) for a, b in rows]
