"""Load the demo into an exchange through the services, like any other caller (`tongxin demo`).

The generators (generator.py, deals.py, resources.py) make plain data; these functions hand it
to `services.history`, which writes it through the same validation and rules users meet, one
transaction per step. Order: `load_demo` (organisations and listings), `load_resources`,
the demo accounts (`services.accounts.create_demo_accounts`), `load_deals_demo`, then
`load_demo_vectors` and the search index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable

from ..core.clock import local_today
from ..services import history as H
from ..services.exchange import Exchange
from ..services.semantic import Semantic

Progress = Callable[[int, int], None]

# the demo's vectors, precomputed (benchmarks/make_demo_vectors.py): float16, keyed by text hash
DEMO_VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "vectors-e5.npz")
RESOURCES_SEED = 20260301


def load_demo(ex: Exchange, seed: int = 20251225, progress: Progress | None = None) -> dict[str, int]:
    """The generated organisations and technologies, scenarios … (all or nothing)."""
    from .generator import generate

    data = generate(seed=seed)
    return H.load_records(ex, data.organisations, data.listings, progress)


def load_resources(ex: Exchange, seed: int = RESOURCES_SEED, today: dt.date | None = None) -> dict[str, int]:
    """The resources demo on top of the main demo (instruments, marks, vouchers, policies …). Idempotent:
    upserted by stable keys; the booking history is loaded once."""
    from .resources import DEMO_USER_BASE, generate_resources

    data = generate_resources(seed, H.organisations(ex), today or local_today())
    records = H.ResourceRecords(**{f.name: data.get(f.name, []) for f in dataclasses.fields(H.ResourceRecords)})
    return H.load_resource_records(ex, records, DEMO_USER_BASE)


def load_deals_demo(ex: Exchange, seed: int = 20251225, today: dt.date | None = None) -> dict[str, int]:
    """Deals at every stage and ≥ 1,000 technology contracts (2023–2025), between the organisations and
    listings already loaded. Skipped when contracts exist."""
    today = today or local_today()
    return H.load_deal_history(ex, lambda orgs, listings: deal_history(orgs, listings, seed, today), today)


def deal_history(orgs: list[H.OrgRef], listings: list[H.ListingRef], seed: int, today: dt.date) -> H.DealHistory:
    """The demo's deal plan (demo/deals.py) in the records the history service loads."""
    from . import deals as demo

    p = demo.plan([demo.Org(o.id, o.name, o.credit_code, o.region, o.org_type, o.industry) for o in orgs],
                  [demo.ListingRef(x.id, x.owner_id, x.kind, x.industry, x.title, x.external_id) for x in listings], seed=seed, today=today)
    deals = [H.PastDeal(d.seller.id, d.buyer.id, d.listing_ids, d.events,
                        [H.PastFinance(f["kind"], f["provider"].id, f["amount_wan"], f["note"], list(f["statuses"])) for f in d.finance],
                        [H.PastAgreement(a["type"], a["title"], a["effective_on"], a["expires_on"]) for a in d.agreements])
             for d in p.deals]
    return H.DealHistory(deals, p.contracts, p.contract_deal, p.listing_created, p.extra_contact_requests)


def load_demo_vectors(ex: Exchange, path: str = DEMO_VECTORS) -> dict[str, int]:
    """Store the shipped demo vectors for the queued listings whose embedded text they match (same
    model and version as the configured encoder); the rest stay queued for the background worker."""
    sem = ex.semantic
    if not isinstance(sem, Semantic):  # a stand-in source (NoSemantic): no stored vectors, nothing queued
        return {"stored": 0, "queued": 0}
    return sem.preload(path)
