"""Load the resources demo (demo/resources.py) on top of the main demo, through the normal validation path.

Call after the main demo: `load_resources(ex)`. Idempotent: listings, licences and vouchers are upserted by
their stable keys; the booking history is loaded once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from ..core import booking as B
from ..core.certification import Mark
from ..core.errors import Message, ValidationError
from ..core.listing import validate_listing
from ..core.organisation import validate_organisation
from ..storage import repo
from ..storage import resources_repo as rr
from ..storage.models_resources import InnovationVoucherRow, InstrumentBookingRow
from .exchange import Exchange

DEMO_SEED = 20260301


def load_resources(ex: Exchange, seed: int = DEMO_SEED, today: dt.date | None = None) -> dict[str, int]:
    from ..demo.resources import DEMO_USER_BASE, generate_resources

    today = today or dt.date.today()
    with ex.db.transaction(write=False) as s:
        existing = repo.list_organisations(s)
    data = generate_resources(seed, existing, today)
    errors = []
    with ex.db.transaction() as s:
        for i, raw in enumerate(data["organisations"], start=1):
            try:
                repo.upsert_organisation(s, validate_organisation(raw, row=i))
            except ValidationError as e:
                errors.extend(e.errors)
        ids: dict[str, int] = {}
        for i, raw in enumerate(data["listings"], start=1):
            try:
                row, _ = repo.upsert_listing(s, validate_listing(raw, ex.registry, row=i), ex.registry)
                ids[raw["external_id"]] = row.id
            except ValidationError as e:
                errors.extend(e.errors)
        if errors:
            raise ValidationError(Message(f"资源演示数据有 {len(errors)} 处错误", f"{len(errors)} error(s) in the resources demo data"), errors)
        org = {}

        def org_id(ref: str) -> int:
            if ref not in org:
                org[ref] = rr.resolve_org(s, ref).id
            return org[ref]

        for m in data["marks"]:
            rr.upsert_mark(s, Mark(**m))
        marks = {m["code"]: rr.find_mark(s, m["code"]) for m in data["marks"]}
        for lic in data["licences"]:
            rr.add_licence(s, int(marks[lic["mark"]].id or 0), org_id(lic["org"]), lic["licence_no"], dt.date.fromisoformat(lic["valid_from"]),
                           dt.date.fromisoformat(lic["valid_until"]), lic["products"])
        for f in data["facts"]:
            rr.set_facts(s, org_id(f["org"]), dt.date.fromisoformat(f["founded_on"]), f["employees"], f["revenue"], f["certifications"])
        have = set(s.scalars(select(InnovationVoucherRow.code)))
        for v in data["vouchers"]:
            if v["code"] not in have:
                rr.issue_voucher(s, v["code"], v["province"], org_id(v["org"]), v["amount"], dt.date.fromisoformat(v["valid_from"]),
                                 dt.date.fromisoformat(v["valid_until"]), v["max_share"])
        for p in data["providers"]:
            rr.recognise_provider(s, p["province"], org_id(p["org"]), dt.date(2025, 1, 1))
        for t in data["trainings"]:
            rr.set_training(s, ids[t["instrument"]], t["user_id"], dt.date.fromisoformat(t["trained_on"]))
        n_bookings = 0
        if not s.scalar(select(func.count()).select_from(InstrumentBookingRow).where(InstrumentBookingRow.user_id >= DEMO_USER_BASE)):
            for b in data["bookings"]:
                slot = B.Slot.of(dt.datetime.fromisoformat(b["start"]), dt.datetime.fromisoformat(b["end"]))
                iid = ids[b["instrument"]]
                row = rr.instrument_row(s, iid)
                uorg = org_id(b["org"])
                fee = B.fee_of(row.attrs or {}, row.owner_id, row.region, uorg, repo.get_organisation(s, uorg).region, slot.hours, 1)
                rr.insert_booking(s, B.Booking(iid, b["user_id"], uorg, slot, b["status"], b["purpose"], 1, fee))
                n_bookings += 1
    ex.sync()
    kinds: dict[str, int] = {}
    for raw in data["listings"]:
        kinds[raw["kind"]] = kinds.get(raw["kind"], 0) + 1
    return {"organisations_added": len(data["organisations"]), **kinds, "licences": len(data["licences"]), "vouchers": len(data["vouchers"]),
            "bookings": n_bookings}


def summary(data: dict[str, Any]) -> str:  # pragma: no cover - CLI nicety
    return ", ".join(f"{k}={v}" for k, v in data.items())
