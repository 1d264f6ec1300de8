"""The dashboard's instrument and policy figures, recomputed another way."""

from __future__ import annotations

from sqlalchemy import select

from tongxin.core import regions
from tongxin.core import stats as st
from tongxin.core.access import SYSTEM
from tongxin.core.clock import local_today
from tongxin.demo.load import load_demo, load_resources
from tongxin.services import Exchange
from tongxin.services import policy as policy_service
from tongxin.services import stats as S
from tongxin.storage.db import Database
from tongxin.storage.models import ListingRow, OrganisationRow
from tongxin.storage.models_resources import InstrumentBookingRow


def test_instrument_hours_and_policies_agree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "r.db")), str(tmp_path / "idx"))
    ex.init_db()
    load_demo(ex)
    load_resources(ex)
    year = local_today().year
    period = st.parse_period(str(year))
    with ex.db.transaction(write=False) as s:
        got = S.resource_figures(s, period)
        # independent: every used booking of the year, hours summed in Python by the owner's province
        want: dict[str, float] = {}
        rows = s.execute(select(InstrumentBookingRow.starts_at, InstrumentBookingRow.ends_at, InstrumentBookingRow.status, ListingRow.owner_id)
                         .join(ListingRow, ListingRow.id == InstrumentBookingRow.instrument_id)).all()
        region_of = {i: r for i, r in s.execute(select(OrganisationRow.id, OrganisationRow.region))}
        for start, end, status, owner in rows:
            if status == "used" and start.year == year:
                prov = st.province_label(regions.province_of(region_of[owner]))
                want[prov] = want.get(prov, 0.0) + (end - start).total_seconds() / 3600
        verified = list(s.scalars(select(OrganisationRow.id).where(OrganisationRow.verified.is_(True))))
    assert got.hours_by_region, "demo bookings should give used hours"
    assert {k: round(v, 1) for k, v in want.items()} == got.hours_by_region
    assert got.policies_qualifying and all(0 <= n <= len(verified) for _, n in got.policies_qualifying)
    title, n = got.policies_qualifying[0]
    today = min(local_today(), period.end)
    counted = sum(1 for oid in verified if any(e.policy.title == title for e in policy_service.eligible(ex, str(oid), today, SYSTEM)[1]))
    assert counted == n
    ex.close()
