"""Repository for deals, agreements and technology contracts. Helpers never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, func, inspect, or_, select
from sqlalchemy.orm import Session

from ..core import stats as st
from ..core.contracts import ContractInput, ContractView, Party
from ..core.errors import Message, NotFound
from .models import ListingRow, OrganisationRow
from .models_deals import (
    AgreementRow,
    DealEventRow,
    DealFinanceRow,
    DealRow,
    TechContractEventRow,
    TechContractListingRow,
    TechContractRow,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones. Make both aware."""
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


# -- organisations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgBrief:
    id: int
    name: str
    credit_code: str
    region: str
    org_type: str
    external_id: str | None
    contact_name: str = ""
    contact_phone: str = ""

    def party(self) -> Party:
        return Party(self.name, self.credit_code, self.region, self.org_type, self.contact_name, self.contact_phone)


def _brief(r: OrganisationRow) -> OrgBrief:
    return OrgBrief(r.id, r.name, r.credit_code, r.region, r.org_type, r.external_id, r.contact_name, r.contact_phone)


def orgs_by_credit_code(s: Session, codes: Iterable[str]) -> dict[str, OrgBrief]:
    codes = sorted(set(codes))
    out: dict[str, OrgBrief] = {}
    for i in range(0, len(codes), 500):
        for r in s.scalars(select(OrganisationRow).where(OrganisationRow.credit_code.in_(codes[i:i + 500]))):
            out[r.credit_code] = _brief(r)
    return out


def orgs_by_id(s: Session, ids: Iterable[int]) -> dict[int, OrgBrief]:
    ids = sorted(set(ids))
    out: dict[int, OrgBrief] = {}
    for i in range(0, len(ids), 500):
        for r in s.scalars(select(OrganisationRow).where(OrganisationRow.id.in_(ids[i:i + 500]))):
            out[r.id] = _brief(r)
    return out


def all_orgs(s: Session) -> list[OrgBrief]:
    return [_brief(r) for r in s.scalars(select(OrganisationRow).order_by(OrganisationRow.id))]


def listing_ids_by_ref(s: Session, refs: Iterable[str]) -> dict[str, int]:
    """Listing references (external id, or the numeric id as text) → listing id."""
    refs = list(dict.fromkeys(refs))
    out: dict[str, int] = {}
    if not refs:
        return out
    for ext, lid in s.execute(select(ListingRow.external_id, ListingRow.id).where(ListingRow.external_id.in_(refs))):
        if ext is not None:
            out[ext] = lid
    nums = [int(r) for r in refs if r not in out and r.isdigit()]
    if nums:
        for (lid,) in s.execute(select(ListingRow.id).where(ListingRow.id.in_(nums))):
            out[str(lid)] = lid
    return out


def listing_titles(s: Session, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    if not ids:
        return {}
    return {i: (t, e) for i, t, e in s.execute(select(ListingRow.id, ListingRow.title, ListingRow.external_id).where(ListingRow.id.in_(list(ids))))}


# -- deals --------------------------------------------------------------------------------------------
def get_deal(s: Session, deal_id: int) -> DealRow:
    d = s.get(DealRow, deal_id)
    if d is None:
        raise NotFound(Message(f"洽谈 {deal_id} 不存在", f"deal {deal_id} does not exist"))
    return d


def deal_by_contact(s: Session, contact_request_id: int) -> DealRow | None:
    return s.scalar(select(DealRow).where(DealRow.contact_request_id == contact_request_id))


def add_deal(s: Session, *, title: str, seller_org_id: int, buyer_org_id: int, listing_ids: Sequence[int], origin: str,
             contact_request_id: int | None, actor_user_id: int | None, at: dt.datetime, note: str) -> DealRow:
    d = DealRow(title=title, seller_org_id=seller_org_id, buyer_org_id=buyer_org_id, listing_ids=list(listing_ids), origin=origin,
                contact_request_id=contact_request_id, stage="contact", created_by=actor_user_id, created_at=at, last_activity_at=at)
    s.add(d)
    s.flush()
    s.add(DealEventRow(deal_id=d.id, from_stage=None, to_stage="contact", actor_user_id=actor_user_id, note=note, at=at))
    return d


def add_event(s: Session, d: DealRow, to_stage: str, actor_user_id: int | None, actor_org_id: int | None, note: str,
              at: dt.datetime) -> DealEventRow:
    ev = DealEventRow(deal_id=d.id, from_stage=d.stage, to_stage=to_stage, actor_user_id=actor_user_id, actor_org_id=actor_org_id,
                      note=note, at=at)
    s.add(ev)
    if to_stage != d.stage and to_stage in ("signed", "terminated"):
        d.closed_at = at
    d.stage = to_stage
    d.last_activity_at = at
    s.flush()
    return ev


def list_deals(s: Session, org_id: int | None = None, stage: str | None = None, limit: int = 200, offset: int = 0) -> list[DealRow]:
    q = select(DealRow)
    if org_id is not None:
        q = q.where(or_(DealRow.seller_org_id == org_id, DealRow.buyer_org_id == org_id))
    if stage:
        q = q.where(DealRow.stage == stage)
    return list(s.scalars(q.order_by(DealRow.last_activity_at.desc(), DealRow.id.desc()).limit(limit).offset(offset)))


def deal_stage_counts(s: Session, org_id: int | None = None) -> dict[str, int]:
    """How many deals each stage holds (all deals, or one organisation's as either party)."""
    q = select(DealRow.stage, func.count())
    if org_id is not None:
        q = q.where(or_(DealRow.seller_org_id == org_id, DealRow.buyer_org_id == org_id))
    return {k: int(n) for k, n in s.execute(q.group_by(DealRow.stage))}


def open_deals(s: Session) -> list[DealRow]:
    return list(s.scalars(select(DealRow).where(DealRow.stage.in_(("contact", "confirm", "proposal", "negotiation")))))


def deal_events(s: Session, deal_id: int) -> list[DealEventRow]:
    return list(s.scalars(select(DealEventRow).where(DealEventRow.deal_id == deal_id).order_by(DealEventRow.at, DealEventRow.id)))


def stage_counts(s: Session) -> dict[str, int]:
    return {k: int(n) for k, n in s.execute(select(DealRow.stage, func.count()).group_by(DealRow.stage))}


def deal_finance(s: Session, deal_id: int) -> list[DealFinanceRow]:
    return list(s.scalars(select(DealFinanceRow).where(DealFinanceRow.deal_id == deal_id).order_by(DealFinanceRow.id)))


def get_finance(s: Session, finance_id: int) -> DealFinanceRow:
    f = s.get(DealFinanceRow, finance_id)
    if f is None:
        raise NotFound(Message(f"金融服务 {finance_id} 不存在", f"financial service {finance_id} does not exist"))
    return f


def agreements(s: Session, deal_id: int | None = None) -> list[AgreementRow]:
    q = select(AgreementRow)
    if deal_id is not None:
        q = q.where(AgreementRow.deal_id == deal_id)
    return list(s.scalars(q.order_by(AgreementRow.expires_on, AgreementRow.id)))


# -- technology contracts ----------------------------------------------------------------------------
def contract_by_no(s: Session, contract_no: str) -> TechContractRow | None:
    return s.scalar(select(TechContractRow).where(TechContractRow.contract_no == contract_no))


def contract_by_registration_no(s: Session, registration_no: str) -> TechContractRow | None:
    return s.scalar(select(TechContractRow).where(TechContractRow.registration_no == registration_no))


def get_contract(s: Session, contract_id: int) -> TechContractRow:
    c = s.get(TechContractRow, contract_id)
    if c is None:
        raise NotFound(Message(f"技术合同 {contract_id} 不存在", f"technology contract {contract_id} does not exist"))
    return c


def upsert_contract(s: Session, c: ContractInput, seller: OrgBrief, buyer: OrgBrief, listing_ids: Sequence[int],
                    action: str | None = "import", actor: str = "import") -> tuple[TechContractRow, bool]:
    """Write a contract record as given. A record with an official registration number is registered; one
    without waits for the office (a registered one whose number was removed goes back to it). With `action`,
    the step is kept in the contract's history (imports and demo records); submissions write their own."""
    row = contract_by_no(s, c.contract_no)
    created = row is None
    if row is None:
        row = TechContractRow(contract_no=c.contract_no, extra={}, status="submitted", status_reason="", submitted_at=utcnow())
        s.add(row)
    if c.registration_no:
        row.status = "registered"
    elif row.status == "registered":
        row.status = "submitted"
    row.title, row.contract_type = c.title, c.contract_type
    row.seller_org_id, row.buyer_org_id = seller.id, buyer.id
    row.seller_region, row.buyer_region = seller.region, buyer.region
    row.amount_yuan, row.tech_amount_yuan = c.amount_yuan, c.tech_amount_yuan
    row.signed_on, row.park, row.industry, row.deal_id = c.signed_on, c.park, c.industry, c.deal_id
    row.registration_no, row.registered_on = c.registration_no, c.registered_on
    s.flush()
    if not created:
        for link in s.scalars(select(TechContractListingRow).where(TechContractListingRow.contract_id == row.id)):
            s.delete(link)
        s.flush()
    for lid in dict.fromkeys(listing_ids):
        s.add(TechContractListingRow(contract_id=row.id, listing_id=lid))
    s.flush()
    if action:
        add_contract_event(s, row, action, actor=actor)
    return row, created


def add_contract_event(s: Session, row: TechContractRow, action: str, user_id: int | None = None, org_id: int | None = None,
                       actor: str = "", reason: str = "", changes: dict[str, object] | None = None,
                       at: dt.datetime | None = None) -> TechContractEventRow:
    e = TechContractEventRow(contract_id=row.id, action=action, actor_user_id=user_id, actor_org_id=org_id, actor=actor[:200],
                             reason=reason, status=row.status, changes=changes or {}, at=at or utcnow())
    s.add(e)
    s.flush()
    return e


def contract_events(s: Session, contract_id: int) -> list[TechContractEventRow]:
    return list(s.scalars(select(TechContractEventRow).where(TechContractEventRow.contract_id == contract_id).order_by(TechContractEventRow.id)))


def lock_contract(s: Session, contract_id: int) -> TechContractRow:
    """The contract, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite writers hold the database lock)."""
    c = s.scalar(select(TechContractRow).where(TechContractRow.id == contract_id).with_for_update())
    if c is None:
        raise NotFound(Message(f"技术合同 {contract_id} 不存在", f"technology contract {contract_id} does not exist"))
    return c


def registration_no_taken(s: Session, registration_no: str) -> str | None:
    """The contract number already holding this registration number, if any."""
    return s.scalar(select(TechContractRow.contract_no).where(TechContractRow.registration_no == registration_no))


def last_registration_seq(s: Session, prefix: str, width: int = 6) -> int:
    """The highest sequence number the office gave under `prefix` (year + district), 0 if none."""
    t = TechContractRow
    nos = s.scalars(select(t.registration_no).where(t.registration_no.like(prefix + "%"), func.length(t.registration_no) == len(prefix) + width))
    return max((int(n[len(prefix):]) for n in nos if n and n[len(prefix):].isdigit()), default=0)


def status_counts(s: Session, org_id: int | None = None) -> dict[str, int]:
    q = _contract_where(select(TechContractRow.status, func.count()).select_from(TechContractRow), ContractFilter(org_id=org_id))
    return {st_: int(n) for st_, n in s.execute(q.group_by(TechContractRow.status))}


def unregistered_in(s: Session, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(count, amount in 元) of contracts signed in [start, end] that the office has not registered."""
    t = TechContractRow
    n, amount = s.execute(select(func.count(), func.coalesce(func.sum(t.amount_yuan), 0)).where(
        t.signed_on >= start, t.signed_on <= end, t.status != "registered")).one()
    return int(n or 0), int(amount or 0)


def contract_listing_ids(s: Session, contract_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for cid, lid in s.execute(select(TechContractListingRow.contract_id, TechContractListingRow.listing_id)
                              .where(TechContractListingRow.contract_id.in_(list(contract_ids)))
                              .order_by(TechContractListingRow.contract_id, TechContractListingRow.listing_id)):
        out.setdefault(cid, []).append(lid)
    return out


def list_contracts(s: Session, year: int | None = None, limit: int | None = None) -> list[TechContractRow]:
    q = select(TechContractRow)
    if year is not None:
        q = q.where(TechContractRow.signed_on >= dt.date(year, 1, 1), TechContractRow.signed_on <= dt.date(year, 12, 31))
    q = q.order_by(TechContractRow.signed_on.desc(), TechContractRow.id.desc())
    if limit:
        q = q.limit(limit)
    return list(s.scalars(q))


def contract_view(s: Session, c: TechContractRow) -> ContractView:
    lids = contract_listing_ids(s, [c.id]).get(c.id, [])
    titles = listing_titles(s, lids)
    refs = tuple(f"{titles[i][1] or i}｜{titles[i][0]}" for i in lids if i in titles)
    return ContractView(c.contract_no, c.title, c.contract_type, c.amount_yuan, c.tech_amount_yuan, c.signed_on, c.park, c.industry,
                        c.registration_no, c.registered_on, refs, c.deal_id, c.status)


def contract_records(s: Session) -> list[st.ContractRecord]:
    """Every registered contract (status 'registered': the office gave it a number) as a plain record for the
    statistics (one query for contracts, one for listing dates). Submitted, returned or unreviewed ones are not
    counted: the figures are those of registered contracts, and say so."""
    earliest: dict[int, dt.date] = {}
    q = (select(TechContractListingRow.contract_id, func.min(ListingRow.created_at))
         .join(ListingRow, ListingRow.id == TechContractListingRow.listing_id)
         .group_by(TechContractListingRow.contract_id))
    for cid, created in s.execute(q):
        if created is not None:
            earliest[cid] = created.date() if isinstance(created, dt.datetime) else created
    seller = OrganisationRow.__table__.alias("seller")
    buyer = OrganisationRow.__table__.alias("buyer")
    t = TechContractRow.__table__
    q2 = (select(t.c.id, t.c.contract_type, t.c.signed_on, t.c.amount_yuan, t.c.tech_amount_yuan, t.c.seller_region, t.c.buyer_region,
                 t.c.park, t.c.industry, seller.c.name, buyer.c.name)
          .join(seller, seller.c.id == t.c.seller_org_id).join(buyer, buyer.c.id == t.c.buyer_org_id)
          .where(t.c.status == "registered").order_by(t.c.id))
    return [st.ContractRecord(id=r[0], contract_type=r[1], signed_on=r[2], amount_yuan=int(r[3]), tech_amount_yuan=int(r[4]),
                              seller_region=r[5], buyer_region=r[6], park=r[7] or "", industry=r[8], seller_name=r[9], buyer_name=r[10],
                              listing_created=earliest.get(r[0])) for r in s.execute(q2)]


def table_names(s: Session) -> set[str]:
    return set(inspect(s.connection()).get_table_names())


# -- for the deal and contract pages -------------------------------------------------------------------
def user_names(s: Session, ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    """User id → (display name, platform role) from the accounts table; empty when it is not installed."""
    from .models_accounts import UserRow

    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted or "users" not in table_names(s):
        return {}
    return {i: (n, r) for i, n, r in s.execute(select(UserRow.id, UserRow.name, UserRow.role).where(UserRow.id.in_(wanted)))}


def contracts_for_deal(s: Session, deal_id: int) -> list[TechContractRow]:
    return list(s.scalars(select(TechContractRow).where(TechContractRow.deal_id == deal_id).order_by(TechContractRow.id)))


def agreements_for_deals(s: Session, deal_ids: Sequence[int]) -> list[AgreementRow]:
    if not deal_ids:
        return []
    return list(s.scalars(select(AgreementRow).where(AgreementRow.deal_id.in_(list(deal_ids)))
                          .order_by(AgreementRow.expires_on, AgreementRow.id)))


SelectT = TypeVar("SelectT", bound=Select)  # any select, whatever its row shape


@dataclass(frozen=True)
class ContractFilter:
    org_id: int | None = None  # a party (seller or buyer); None = every contract
    year: int | None = None
    contract_type: str | None = None
    region_prefix: str | None = None  # "12" (Tianjin) or "120116": either party's region starts with it
    statuses: tuple[str, ...] = ()  # the registration statuses wanted; empty = every status


def _contract_where(q: SelectT, f: ContractFilter) -> SelectT:
    t = TechContractRow
    if f.org_id is not None:
        q = q.where(or_(t.seller_org_id == f.org_id, t.buyer_org_id == f.org_id))
    if f.year is not None:
        q = q.where(t.signed_on >= dt.date(f.year, 1, 1), t.signed_on <= dt.date(f.year, 12, 31))
    if f.contract_type:
        q = q.where(t.contract_type == f.contract_type)
    if f.region_prefix:
        q = q.where(or_(t.seller_region.like(f.region_prefix + "%"), t.buyer_region.like(f.region_prefix + "%")))
    if f.statuses:
        q = q.where(t.status.in_(list(f.statuses)))
    return q


def contracts_page(s: Session, f: ContractFilter, limit: int = 50, offset: int = 0,
                   by_submission: bool = False) -> tuple[list[TechContractRow], int, int]:
    """One page of contracts (newest signing first; `by_submission`: longest waiting first, the office's queue),
    the number matching and their total amount (元)."""
    t = TechContractRow
    order = (t.submitted_at.asc(), t.id.asc()) if by_submission else (t.signed_on.desc(), t.id.desc())
    rows = list(s.scalars(_contract_where(select(TechContractRow), f).order_by(*order).limit(limit).offset(offset)))
    n, total = s.execute(_contract_where(select(func.count(), func.coalesce(func.sum(TechContractRow.amount_yuan), 0)), f)
                         .select_from(TechContractRow)).one()
    return rows, int(n or 0), int(total or 0)


def contract_years(s: Session, org_id: int | None = None) -> list[int]:
    q = _contract_where(select(func.min(TechContractRow.signed_on), func.max(TechContractRow.signed_on)), ContractFilter(org_id=org_id))
    lo, hi = s.execute(q).one()
    if lo is None or hi is None:
        return []
    return list(range(lo.year, hi.year + 1))
