"""Meaning candidates that cannot reach the results are not read (rank.worth_reading), and the
results stay exactly what they were when every candidate is read: demo data, hybrid matching
with the deterministic hash encoder."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tongxin.core.access import VISITOR
from tongxin.core.kinds import default_registry
from tongxin.core.kinds.registry import KindSpec
from tongxin.core.listing import Listing
from tongxin.core.matching import fit as F
from tongxin.core.matching import rank as R
from tongxin.core.matching.fit import MatchContext
from tongxin.services import Exchange
from tongxin.services.semantic import Semantic
from tongxin.storage.db import Database

CTX = MatchContext(today=dt.date(2026, 6, 1))


def _listing(kind: str, **kw: Any) -> Listing:
    base: dict[str, Any] = {"kind": kind, "side": "offer", "title": "t", "description": "d", "industry": "C37", "region": "110108",
                            "owner": "ORG-A"}
    base.update(kw)
    return Listing(**base)


def test_technology_scenario_fit_stays_within_its_declared_bounds() -> None:
    lo, hi = F.TECH_SCENARIO_BOUNDS
    seen = set()
    for trl, need, price, budget, ind, reg, corridor in itertools.product(
            (None, 3, 7), (None, 4, 8), (None, 50.0, 500.0), (None, 100.0), ("C37", "C38", "A01"), ("110108", "120114"), (False, True)):
        tech = _listing("technology", industry="C37", region="110108",
                        attrs={k: v for k, v in {"trl": trl, "price_min": price}.items() if v is not None})
        scen = _listing("scenario", side="need", industry=ind, region=reg,
                        attrs={k: v for k, v in {"required_trl": need, "budget_max": budget}.items() if v is not None})
        pts = sum(i.points for i in F.technology_vs_scenario(tech, scen, MatchContext(today=CTX.today, prefer_corridor=corridor)))
        assert lo <= pts <= hi
        seen.add(pts)
    assert min(seen) == lo and max(seen) == hi  # the bounds are tight: both are reached


def test_the_registry_hands_the_bounds_to_both_directions() -> None:
    reg = default_registry()
    assert reg.pairing("technology", "scenario").bounds == F.TECH_SCENARIO_BOUNDS
    assert reg.pairing("scenario", "technology").bounds == F.TECH_SCENARIO_BOUNDS
    spec = reg.get("technology")
    with pytest.raises(ValueError, match="fit bounds"):
        KindSpec(**{**spec.__dict__, "fit_bounds": {"post": (0.0, 1.0)}})


def test_worth_reading_drops_only_what_cannot_reach_the_top() -> None:
    reg = default_registry()
    query = _listing("scenario", side="need", id=1, owner_id=1)
    words = [R.Candidate(_listing("technology", id=10 + i, owner_id=2), text_score=50.0, cosine=0.9) for i in range(3)]
    meaning = [(100, 0.95), (101, 0.2)]  # cosines: one above the background, one far below it
    got = R.worth_reading(words, meaning, [], reg, CTX, lambda x: True, query=query, limit=3, ceiling=10.0, background=0.8)
    assert got == [100]
    # fewer word candidates than asked for: every meaning candidate may be needed
    assert R.worth_reading(words, meaning, [], reg, CTX, lambda x: True, query=query, limit=4, ceiling=10.0, background=0.8) == [100, 101]
    # word candidates that the hard rules drop do not count
    hidden = R.worth_reading(words, meaning, [], reg, CTX, lambda x: False, query=query, limit=3, ceiling=10.0, background=0.8)
    assert hidden == [100, 101]


@pytest.fixture(scope="module")
def hybrid_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    from tongxin.demo.load import load_demo

    tmp = tmp_path_factory.mktemp("prune")
    db = Database("sqlite:///" + str(tmp / "demo.db"))
    sem = Semantic(db, encoder="hash", index_dir=str(tmp / "idx"))
    ex = Exchange(db, str(tmp / "idx"), semantic=sem, background_sync=False)
    ex.init_db()
    load_demo(ex)
    ex.rebuild_index()
    sem.drain()
    yield ex
    sem.stop()
    ex.close()


def _results(ex: Exchange, ids: list[int], texts: list[str]) -> list[list[tuple[int, float]]]:
    out = [[(int(m.listing.id or 0), round(m.score, 9)) for m in ex.match(i, VISITOR, limit=lim, ctx=CTX)[1]]
           for i in ids for lim in (3, 10)]
    out += [[(int(m.listing.id or 0), round(m.score, 9)) for m in ex.search(t, kind=k, limit=10, ctx=CTX)[1]]
            for t in texts for k in ("technology", None)]
    return out


def test_pruned_results_equal_reading_every_candidate(hybrid_demo: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = hybrid_demo
    assert ex.semantic.enabled
    with ex.db.transaction(write=False) as s:
        from sqlalchemy import select

        from tongxin.storage.models import ListingRow

        rows = s.execute(select(ListingRow.id, ListingRow.title).where(ListingRow.kind.in_(("technology", "scenario")),
                                                                       ListingRow.visibility == "public",
                                                                       ListingRow.status == "published").order_by(ListingRow.id)).all()
    ids = [int(r[0]) for r in rows[::12]][:120]
    texts = [str(r[1])[:8] for r in rows[5::40]][:40]
    seen = {"offered": 0, "kept": 0}
    real = R.worth_reading

    def counting(*a: Any, **kw: Any) -> list[int]:
        got = real(*a, **kw)
        seen["offered"] += len(a[1])
        seen["kept"] += len(got)
        return got

    monkeypatch.setattr("tongxin.services.exchange.worth_reading", counting)
    pruned = _results(ex, ids, texts)
    monkeypatch.setattr(Exchange, "_worth", lambda self, *a, **kw: None)
    full = _results(ex, ids, texts)
    assert pruned == full
    assert sum(map(len, full)) > 0
    print("meaning-only candidates offered / read:", seen)
    assert seen["kept"] < seen["offered"] * 0.9, seen  # the pruning does skip reads
