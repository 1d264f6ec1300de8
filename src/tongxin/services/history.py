"""Loading what already happened: the demo data (tongxin.demo), or records brought over from
another platform. The caller brings plain records; each function here writes them in one
transaction, all or nothing, through the rules users meet: organisations and listings validated
as the import validates them, stage changes through `deals.move_deal`, contracts through
`validate_contract` and the import's reference checks (`contracts.resolve`).

Being history, some facts are written as they were rather than as of now: listings' creation
dates, the contact requests deals came from, bookings already used. Nothing here generates data
(that is demo/'s job) and nothing here imports demo/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from ..core import billing as BL
from ..core import booking as B
from ..core.access import SYSTEM
from ..core.certification import Mark
from ..core.contracts import validate_contract
from ..core.errors import Message, ValidationError
from ..core.listing import validate_listing
from ..core.organisation import Organisation, validate_organisation
from ..storage import deals_repo as R
from ..storage import repo
from ..storage import resources_repo as rr
from ..storage.models import ListingRow, OrganisationRow
from ..storage.models_deals import TechContractRow
from ..storage.models_resources import InnovationVoucherRow, InstrumentBookingRow
from . import deals as svc
from .exchange import Exchange

Progress = Callable[[int, int], None]


def _refused(errors: list[Any], zh: str, en: str) -> ValidationError:
    return ValidationError(Message(f"{zh}有 {len(errors)} 处错误", f"{len(errors)} error(s) in {en}"), errors)


# -- organisations and listings ---------------------------------------------------------------------------
def load_records(ex: Exchange, organisations: Sequence[Mapping[str, Any]], listings: Sequence[Mapping[str, Any]],
                 progress: Progress | None = None, what: tuple[str, str] = ("演示数据", "the demo data")) -> dict[str, int]:
    """Validate and upsert organisations, then listings (import-format records, keyed by credit code and
    external id); one error anywhere and nothing is written. `what` names the records in the error."""
    total = len(organisations) + len(listings)
    done = 0
    errors = []
    with ex.db.transaction() as s:
        for i, raw in enumerate(organisations, start=1):
            try:
                repo.upsert_organisation(s, validate_organisation(raw, row=i))
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
        if progress:
            progress(done, total)
        for i, raw in enumerate(listings, start=1):
            try:
                repo.upsert_listing(s, validate_listing(raw, ex.registry, row=i), ex.registry)
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
            if progress and done % 250 == 0:
                progress(done, total)
        if errors:
            raise _refused(errors, *what)
    if progress:
        progress(total, total)
    return {"organisations": len(organisations), "listings": len(listings)}


def organisations(ex: Exchange) -> list[Organisation]:
    """Every organisation on the platform (what a loader builds on)."""
    with ex.db.transaction(write=False) as s:
        return repo.list_organisations(s)


# -- deals and contracts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgRef:
    id: int
    name: str
    credit_code: str
    region: str
    org_type: str
    industry: str | None


@dataclass(frozen=True)
class ListingRef:
    id: int
    owner_id: int
    kind: str
    industry: str
    title: str
    external_id: str | None


@dataclass
class PastFinance:
    """A financial service attached to a deal, and the statuses it went through after 'offered'."""

    kind: str
    provider_org_id: int | None
    amount_wan: float | None
    note: str
    statuses: list[str] = field(default_factory=list)


@dataclass
class PastAgreement:
    agreement_type: str
    title: str
    effective_on: dt.date | None
    expires_on: dt.date | None


@dataclass
class PastDeal:
    seller_org_id: int
    buyer_org_id: int
    listing_ids: list[int]
    events: list[tuple[str, dt.datetime, str]]  # (to stage, when, note); the first opens the deal
    finance: list[PastFinance] = field(default_factory=list)  # attached at the third event (or the last, if fewer)
    agreements: list[PastAgreement] = field(default_factory=list)


@dataclass
class DealHistory:
    deals: list[PastDeal]
    contracts: list[dict[str, Any]]  # import-format rows (core.contracts.validate_contract)
    contract_deal: dict[str, int]  # contract_no → index into deals (the deal the contract came from)
    listing_created: dict[int, dt.datetime] = field(default_factory=dict)  # listing id → when it was published
    contact_requests: list[tuple[int, int, int, str, dt.datetime]] = field(default_factory=list)  # other requests: (listing, from org, to org, status, at)


Planner = Callable[[list[OrgRef], list[ListingRef]], DealHistory]


def _contact_request(s: Session, listing_id: int, from_org: int, to_org: int, status: str, at: dt.datetime) -> int | None:
    """Create a contact request row when the accounts part is installed; None otherwise."""
    try:
        from ..storage.models_accounts import ContactRequestRow
    except ImportError:
        return None
    if "contact_requests" not in R.table_names(s):
        return None
    row = ContactRequestRow(listing_id=listing_id, from_org_id=from_org, to_org_id=to_org, message="希望进一步了解技术细节与合作方式。",
                            status=status, created_at=at, updated_at=at)
    s.add(row)
    s.flush()
    return int(row.id)


def load_deal_history(ex: Exchange, planner: Planner, today: dt.date) -> dict[str, int]:
    """Deals with their past stages, financial services and agreements, and technology contracts, planned by
    `planner` from the organisations and listings on the platform. Skipped when contracts exist."""
    with ex.db.transaction() as s:
        if (s.scalar(select(func.count()).select_from(TechContractRow)) or 0) > 0:
            return {"deals": 0, "contracts": 0, "skipped": 1}
        orgs = [OrgRef(o.id, o.name, o.credit_code, o.region, o.org_type, o.industry)
                for o in s.scalars(select(OrganisationRow).order_by(OrganisationRow.id))]
        listings = [ListingRef(i, owner, kind, ind, title, ext) for i, owner, kind, ind, title, ext in s.execute(
            select(ListingRow.id, ListingRow.owner_id, ListingRow.kind, ListingRow.industry, ListingRow.title, ListingRow.external_id)
            .order_by(ListingRow.id))]
        h = planner(orgs, listings)
        _set_listing_created(s, h.listing_created)
        for listing_id, from_org, to_org, status, at in h.contact_requests:
            _contact_request(s, listing_id, from_org, to_org, status, at)
        counts = {"financial_services": 0, "agreements": 0}
        deal_ids = [_load_deal(s, d, counts) for d in h.deals]
        n_contracts = _load_contracts(s, h, deal_ids, today)
        return {"deals": len(deal_ids), "contracts": n_contracts, **counts}


def _set_listing_created(s: Session, created: dict[int, dt.datetime]) -> None:
    if created:
        t = cast(Table, ListingRow.__table__)  # declarative classes type __table__ as any FromClause
        s.connection().execute(t.update().where(t.c.id == bindparam("lid")).values(created_at=bindparam("created")),
                               [{"lid": k, "created": v} for k, v in created.items()])


def _load_deal(s: Session, d: PastDeal, counts: dict[str, int]) -> int:
    """One deal, opened from an accepted contact request when the accounts part is installed."""
    first_at = d.events[0][1]
    cr = _contact_request(s, d.listing_ids[0], d.buyer_org_id, d.seller_org_id, "accepted", first_at - dt.timedelta(hours=3))
    if cr is not None:
        did = svc.open_deal_from_contact(s, cr, d.seller_org_id, d.buyer_org_id, d.listing_ids, None, at=first_at)
    else:
        did = svc.open_deal(s, d.seller_org_id, d.buyer_org_id, d.listing_ids, None, note=d.events[0][2], at=first_at)
    fin_at = min(2, len(d.events) - 1)  # financial services come in while the deal is still open
    for k, (stage, at, note) in enumerate(d.events):
        if k == fin_at:
            for f in d.finance:
                fid = svc.attach_finance(s, did, f.kind, SYSTEM, f.provider_org_id, f.amount_wan, f.note, at=at)
                for j, status in enumerate(f.statuses, start=1):
                    svc.set_finance_status(s, fid, status, SYSTEM, at=at + dt.timedelta(days=7 * j))
                counts["financial_services"] += 1
        if k > 0:
            svc.move_deal(s, did, stage, SYSTEM, None, note, at=at)
    for a in d.agreements:
        svc.register_agreement(s, a.agreement_type, a.title, d.seller_org_id, d.buyer_org_id, a.effective_on, a.expires_on, SYSTEM, did)
        counts["agreements"] += 1
    # the last event's time is the deal's last activity (finance updates may be later)
    R.get_deal(s, did).last_activity_at = max(d.events[-1][1], R.aware(R.get_deal(s, did).last_activity_at) or d.events[-1][1])
    return did


def _load_contracts(s: Session, h: DealHistory, deal_ids: list[int], today: dt.date) -> int:
    from .contracts import resolve

    rows = []
    errors = []
    for i, raw in enumerate(h.contracts, start=1):
        if raw["contract_no"] in h.contract_deal:
            raw = raw | {"deal_id": deal_ids[h.contract_deal[raw["contract_no"]]]}
        try:
            rows.append((i, validate_contract(raw, row=i, today=today)))
        except ValidationError as e:
            errors.extend(e.errors)
    ok, ref_errors = resolve(s, rows)
    errors += ref_errors
    if errors:
        raise _refused(errors, "演示合同", "the demo contracts")
    for _row, c, seller, buyer, lids in ok:
        R.upsert_contract(s, c, seller, buyer, lids)
    return len(ok)


# -- shared resources: instruments and their bookings, marks and licences, vouchers, policies' facts ----------
@dataclass
class ResourceRecords:
    """Records of the shared-resources part, in the shapes demo/resources.py documents: organisations and
    listings (import format), marks, licences, organisations' facts, vouchers, voucher service providers,
    instrument trainings and past bookings (organisations by reference, instruments by external id)."""

    organisations: list[dict[str, Any]]
    listings: list[dict[str, Any]]
    marks: list[dict[str, Any]] = field(default_factory=list)
    licences: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    vouchers: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    trainings: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)


def _billed_history(s: Session, b: dict[str, Any], iid: int, row: Any, uorg: int, uregion: str, slot: B.Slot, cc: str, pc: str) -> None:
    """A past booking that was checked in and out: billed hours rounded up to the instrument's unit at its rate,
    with the voucher deduction it claimed (within the voucher's balance and share), as Billing.check_out records it."""
    attrs = row.attrs or {}
    actual = B.Slot.of(dt.datetime.fromisoformat(b["actual_start"]), dt.datetime.fromisoformat(b["actual_end"]))
    billed = BL.billed_hours(actual, BL.unit_hours(attrs))
    rate = B.fee_of(attrs, row.owner_id, row.region, uorg, uregion, 1.0, 1)
    fee = B.fee_of(attrs, row.owner_id, row.region, uorg, uregion, billed, 1)
    vid, amount = None, 0.0
    if b.get("voucher"):
        v = rr.get_voucher(s, B.voucher_code(b["voucher"]), for_update=True)
        amount = round(min(v.balance, fee * v.max_share), 2) if v.org_id == uorg else 0.0
        vid = v.id if amount > 0 else None
    bid = rr.insert_booking(s, B.Booking(iid, b["user_id"], uorg, slot, "used", b["purpose"], 1, fee, vid, amount if vid else 0.0,
                                         cost_centre=cc, project_code=pc, checked_in_at=actual.start, checked_out_at=actual.end,
                                         billed_hours=billed, billing_note=BL.difference_note(slot, actual, billed)), rate=rate)
    if vid:
        rr.charge_voucher(s, vid, bid, amount)


def load_resource_records(ex: Exchange, data: ResourceRecords, history_user_base: int) -> dict[str, int]:
    """Upsert everything by its stable key (listings, licences, vouchers …); the bookings are loaded once:
    skipped when bookings by users from `history_user_base` up exist. Then the search index follows."""
    errors = []
    with ex.db.transaction() as s:
        for i, raw in enumerate(data.organisations, start=1):
            try:
                repo.upsert_organisation(s, validate_organisation(raw, row=i))
            except ValidationError as e:
                errors.extend(e.errors)
        ids: dict[str, int] = {}
        for i, raw in enumerate(data.listings, start=1):
            try:
                row, _ = repo.upsert_listing(s, validate_listing(raw, ex.registry, row=i), ex.registry)
                ids[raw["external_id"]] = row.id
            except ValidationError as e:
                errors.extend(e.errors)
        if errors:
            raise _refused(errors, "资源演示数据", "the resources demo data")
        org: dict[str, int] = {}

        def org_id(ref: str) -> int:
            if ref not in org:
                org[ref] = rr.resolve_org(s, ref).id
            return org[ref]

        for m in data.marks:
            rr.upsert_mark(s, Mark(**m))
        marks = {m["code"]: rr.find_mark(s, m["code"]) for m in data.marks}
        for lic in data.licences:
            rr.add_licence(s, int(marks[lic["mark"]].id or 0), org_id(lic["org"]), lic["licence_no"], dt.date.fromisoformat(lic["valid_from"]),
                           dt.date.fromisoformat(lic["valid_until"]), lic["products"])
            r = rr.licence_row(s, lic["licence_no"])
            if not rr.licence_events(s, r.id):
                rr.add_licence_event(s, r, "import", "demo")
        for f in data.facts:
            rr.set_facts(s, org_id(f["org"]), dt.date.fromisoformat(f["founded_on"]), f["employees"], f["revenue"], f["certifications"])
        have = set(s.scalars(select(InnovationVoucherRow.code)))
        for v in data.vouchers:
            if v["code"] not in have:
                rr.issue_voucher(s, v["code"], v["province"], org_id(v["org"]), v["amount"], dt.date.fromisoformat(v["valid_from"]),
                                 dt.date.fromisoformat(v["valid_until"]), v["max_share"])
        for p in data.providers:
            rr.recognise_provider(s, p["province"], org_id(p["org"]), dt.date(2025, 1, 1))
        for t in data.trainings:
            rr.set_training(s, ids[t["instrument"]], t["user_id"], dt.date.fromisoformat(t["trained_on"]))
        n_bookings = 0
        if not s.scalar(select(func.count()).select_from(InstrumentBookingRow).where(InstrumentBookingRow.user_id >= history_user_base)):
            for b in data.bookings:
                slot = B.Slot.of(dt.datetime.fromisoformat(b["start"]), dt.datetime.fromisoformat(b["end"]))
                iid = ids[b["instrument"]]
                row = rr.instrument_row(s, iid)
                uorg = org_id(b["org"])
                uregion = repo.get_organisation(s, uorg).region
                fee = B.fee_of(row.attrs or {}, row.owner_id, row.region, uorg, uregion, slot.hours, 1)
                cc, pc = BL.check_codes(b.get("cost_centre"), b.get("project_code"))
                if b.get("actual_start") and b["status"] == "used":  # checked in and out: billed by the actual hours
                    _billed_history(s, b, iid, row, uorg, uregion, slot, cc, pc)
                else:
                    rr.insert_booking(s, B.Booking(iid, b["user_id"], uorg, slot, b["status"], b["purpose"], 1, fee, cost_centre=cc, project_code=pc))
                n_bookings += 1
    ex.sync()
    kinds: dict[str, int] = {}
    for raw in data.listings:
        kinds[raw["kind"]] = kinds.get(raw["kind"], 0) + 1
    return {"organisations_added": len(data.organisations), **kinds, "licences": len(data.licences), "vouchers": len(data.vouchers),
            "bookings": n_bookings}
