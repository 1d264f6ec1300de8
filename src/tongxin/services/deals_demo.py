"""Load the demo deals and contracts (demo/deals.py) into a database that already holds the demo
organisations and listings. Everything goes through the same rules users meet: stage changes
through `move_deal`, contracts through `validate_contract` and the import's reference checks.

Also, being demo data: listings get creation dates spread over 2022–2025 (before any contract
that names them), so "time from listing to contract" and the funnel have something to say, and
when the accounts tables exist, the accepted (and some pending/declined) contact requests that
the deals came from are created too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select

from ..core.access import SYSTEM
from ..core.contracts import validate_contract
from ..core.errors import Message, ValidationError
from ..demo import deals as demo
from ..fileio.contracts import resolve
from ..storage import deals_repo as R
from ..storage.models import ListingRow, OrganisationRow
from ..storage.models_deals import TechContractRow
from . import deals as svc


def _contact_request(s: Any, listing_id: int, from_org: int, to_org: int, status: str, at: dt.datetime) -> int | None:
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


def load_deals_demo(ex: Any, seed: int = 20251225, today: dt.date | None = None) -> dict[str, int]:
    """Deals at every stage and ≥ 1,000 technology contracts (2023–2025). Skipped when contracts exist."""
    today = today or dt.date.today()
    with ex.db.transaction() as s:
        if (s.scalar(select(func.count()).select_from(TechContractRow)) or 0) > 0:
            return {"deals": 0, "contracts": 0, "skipped": 1}
        orgs = [demo.Org(o.id, o.name, o.credit_code, o.region, o.org_type, o.industry)
                for o in s.scalars(select(OrganisationRow).order_by(OrganisationRow.id))]
        listings = [demo.ListingRef(i, owner, kind, ind, title, ext) for i, owner, kind, ind, title, ext in s.execute(
            select(ListingRow.id, ListingRow.owner_id, ListingRow.kind, ListingRow.industry, ListingRow.title, ListingRow.external_id)
            .order_by(ListingRow.id))]
        p = demo.plan(orgs, listings, seed=seed, today=today)

        if p.listing_created:
            t = cast(Table, ListingRow.__table__)  # declarative classes type __table__ as any FromClause
            s.connection().execute(t.update().where(t.c.id == bindparam("lid")).values(created_at=bindparam("created")),
                                   [{"lid": k, "created": v} for k, v in p.listing_created.items()])

        for listing_id, from_org, to_org, status, at in p.extra_contact_requests:
            _contact_request(s, listing_id, from_org, to_org, status, at)

        deal_ids: list[int] = []
        n_fin = n_agr = 0
        for d in p.deals:
            first_at = d.events[0][1]
            cr = _contact_request(s, d.listing_ids[0], d.buyer.id, d.seller.id, "accepted", first_at - dt.timedelta(hours=3))
            if cr is not None:
                did = svc.open_deal_from_contact(s, cr, d.seller.id, d.buyer.id, d.listing_ids, None, at=first_at)
            else:
                did = svc.open_deal(s, d.seller.id, d.buyer.id, d.listing_ids, None, note=d.events[0][2], at=first_at)
            fin_at = min(2, len(d.events) - 1)  # financial services come in while the deal is still open
            for k, (stage, at, note) in enumerate(d.events):
                if k == fin_at:
                    for f in d.finance:
                        fid = svc.attach_finance(s, did, f["kind"], SYSTEM, f["provider"].id, f["amount_wan"], f["note"], at=at)
                        for j, status in enumerate(f["statuses"], start=1):
                            svc.set_finance_status(s, fid, status, SYSTEM, at=at + dt.timedelta(days=7 * j))
                        n_fin += 1
                if k > 0:
                    svc.move_deal(s, did, stage, SYSTEM, None, note, at=at)
            for a in d.agreements:
                svc.register_agreement(s, a["type"], a["title"], d.seller.id, d.buyer.id, a["effective_on"], a["expires_on"], SYSTEM, did)
                n_agr += 1
            # the last event's time is the deal's last activity (finance updates may be later)
            R.get_deal(s, did).last_activity_at = max(d.events[-1][1], R.aware(R.get_deal(s, did).last_activity_at) or d.events[-1][1])
            deal_ids.append(did)

        rows = []
        errors = []
        for i, raw in enumerate(p.contracts, start=1):
            if raw["contract_no"] in p.contract_deal:
                raw = raw | {"deal_id": deal_ids[p.contract_deal[raw["contract_no"]]]}
            try:
                rows.append((i, validate_contract(raw, row=i, today=today)))
            except ValidationError as e:
                errors.extend(e.errors)
        ok, ref_errors = resolve(s, rows)
        errors += ref_errors
        if errors:
            raise ValidationError(Message(f"演示合同有 {len(errors)} 处错误", f"{len(errors)} error(s) in the demo contracts"), errors)
        for _row, c, seller, buyer, lids in ok:
            R.upsert_contract(s, c, seller, buyer, lids)
        return {"deals": len(deal_ids), "contracts": len(ok), "financial_services": n_fin, "agreements": n_agr}
