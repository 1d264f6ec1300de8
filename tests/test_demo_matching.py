"""The demo data's expert picks: at least 80% of demo scenarios find the technology a domain
expert would pick in their top 5, through the whole product path (validation → storage → index → match)."""

from __future__ import annotations

import datetime as dt

from tongxin.core.access import Viewer
from tongxin.core.matching.fit import MatchContext
from tongxin.demo import generate
from tongxin.services import Exchange


def test_expert_picks_in_top5(demo_exchange: Exchange) -> None:
    ex = demo_exchange
    picks = generate().expert_picks
    ids = ex.ids_by_external(list(picks) + list(picks.values()))
    ctx = MatchContext(today=dt.date(2026, 6, 1))
    top1 = top5 = 0
    for scen, tech in picks.items():
        owner = ex.get(ids[scen], Viewer(role="admin"))[0].owner_id
        viewer = Viewer(org_id=owner, org_verified=True, role="member")  # the scenario's own organisation asks
        _, res = ex.match(ids[scen], viewer, limit=5, ctx=ctx)
        got = [m.listing.id for m in res]
        top5 += ids[tech] in got
        top1 += bool(got) and got[0] == ids[tech]
    rate5 = top5 / len(picks)
    print(f"expert picks: {len(picks)}, top-1 {top1 / len(picks):.3f}, top-5 {rate5:.3f}")
    assert len(picks) >= 500
    assert rate5 >= 0.80, f"only {rate5:.1%} of demo scenarios find the expert's pick in their top 5"
