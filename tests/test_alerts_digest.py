"""Saved searches at scale (both databases): scoring only the new listings, once per (words, kind,
visibility class), gives every subscription exactly what the straightforward way gives it — its
own `Exchange.search` over the whole index, as deep as needed, kept to its new listings, its
filters, its minimum band and what its owner may read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import world
from sqlalchemy import insert, select

from tongxin.bench.speed import load_corpus
from tongxin.bench.synthetic import Generator
from tongxin.core import access as acc
from tongxin.core import alerts as A
from tongxin.services import Exchange
from tongxin.services import filters as F
from tongxin.services.alerts import Alerts, PassReport
from tongxin.storage import alerts_repo as AR
from tongxin.storage import repo
from tongxin.storage.models import ListingRow
from tongxin.storage.models_alerts import AlertItemRow, OutboxRow, SubscriptionRow

# words that find the world's listings of every visibility (public, members, confidential)
FIXED: list[tuple[str, str | None, dict[str, Any], str]] = [
    ("城轨列车控制系统安全计算机", "technology", {}, "weak"),
    ("城轨列车控制系统安全计算机", None, {}, "possible"),
    ("列车控制系统 CBTC", None, {}, "weak"),
    ("人工智能辅助诊断", "technology", {"trl": 5}, "weak"),
    ("", "scenario", {}, "weak"),  # no words: every new scenario
]


def publish_events(ex: Exchange, ids: list[int]) -> None:
    t = dt.datetime.now(dt.UTC)
    with ex.db.transaction() as s:
        s.execute(insert(OutboxRow), [{"topic": "listing.published", "payload": {"listing_id": i}, "created_at": t, "available_at": t,
                                       "attempts": 0, "failed": False, "last_error": ""} for i in ids])


def straightforward(ex: Exchange, v: acc.Viewer, q: str, kind: str | None, flt: dict[str, Any], min_band: str,
                    new_ids: set[int]) -> set[tuple[int, float | None]]:
    """One full search for this subscription alone, deep enough to hold every listing, kept to its new listings."""
    f = F.parse_filters({**flt, **({"kind": kind} if kind else {})}, ex.registry)
    if not q:
        with ex.db.transaction(write=False) as s:
            xs = repo.fetch_listings(s, sorted(new_ids), ex.registry).values()
        return {(int(x.id or 0), None) for x in xs if A.may_alert(v, x) and F.passes(x, f, ex.registry)}
    _, ms = ex.search(q, kind=kind, viewer=v, limit=100_000)
    return {(int(m.listing.id or 0), round(m.explanation.relevance, 4)) for m in ms
            if int(m.listing.id or 0) in new_ids and A.reaches(m.explanation.relevance, min_band)
            and A.may_alert(v, m.listing) and F.passes(m.listing, f, ex.registry)}


def test_grouped_scoring_of_new_listings_equals_one_full_search_per_subscription(exchange: Exchange) -> None:
    w = world.build(exchange)
    ex = exchange
    gen = Generator(seed=7)
    load_corpus(ex, gen, 300)
    ex.sync()
    al = Alerts(ex)
    # people of every visibility class: no organisation, an unrelated member, the granted organisation, the owner, staff
    people = {r: w.viewer(r) for r in ("user", "member", "granted", "owner_admin", "operator")}
    for k in range(3):
        uid = w.accounts.sign_up(f"extra{k}@tongxin.test", world.PASSWORD, f"extra{k}")
        people[f"extra{k}"] = w.accounts.viewer(uid)
    queries = [(q, kind, {}, "weak") for q, kind in gen.text_queries(12)] + FIXED
    with ex.db.transaction(write=False) as s:
        published = sorted(int(i) for i in s.scalars(select(ListingRow.id).where(ListingRow.status == "published")))
    first, second = published[: len(published) // 2], published[len(published) // 2:]
    subs: dict[int, tuple[str, str | None, dict[str, Any], str, acc.Viewer, set[int]]] = {}
    # every person saves every query (the same words in one class share a scoring), half of them
    # before the first half of the publications, half after it (their new listings differ)
    names = sorted(people)
    for j, name in enumerate(names):
        if j == len(names) // 2:
            publish_events(ex, first)
        for q, kind, flt, band in queries:
            made = al.subscribe(people[name], {"type": "search", "q": q, "kind": kind or "", "filters": flt, "frequency": "instant",
                                               "min_band": band})
            subs[made["id"]] = (q, kind, flt, band, people[name], set(published if j < len(names) // 2 else second))
    publish_events(ex, second)

    report = PassReport()
    al.evaluate_searches(report)
    assert report.subscriptions_evaluated == len(subs)
    classes = {acc.visible_levels(v) for v in people.values()}
    assert report.searches == len({(q, kind) for q, kind, _, _ in queries if q}) * len(classes) < len(subs)

    with ex.db.transaction(write=False) as s:
        got: dict[int, set[tuple[int, float | None]]] = {sid: set() for sid in subs}
        for it in s.scalars(select(AlertItemRow).where(AlertItemRow.reason == "search")):
            got[int(it.subscription_id or 0)].add((it.listing_id, it.relevance))
        assert all(r.checked_upto == AR.last_event_id(s) for r in s.scalars(select(SubscriptionRow)))
    # one item per (person, listing): a listing two of a person's searches find is kept once, under one of them
    total = 0
    for name, v in people.items():
        want: dict[int, set[float | None]] = {}
        mine: dict[int, set[float | None]] = {}
        for sid, (q, kind, flt, band, sv, new_ids) in subs.items():
            if sv is not v:
                continue
            for lid, rel in straightforward(ex, v, q, kind, flt, band, new_ids):
                want.setdefault(lid, set()).add(rel)
            for lid, rel in got[sid]:
                assert lid not in mine, (name, lid)
                mine[lid] = {rel}
        assert set(mine) == set(want), name
        assert all(mine[lid] <= want[lid] for lid in mine), name  # its relevance is the one some search of theirs gives it
        total += len(mine)
    assert total > 50  # the comparison covers real results, not empty sets
    confidential = w.listings["confidential"]
    assert any(lid == confidential for sid in subs if subs[sid][4] is people["granted"] for lid, _ in got[sid])
    assert not any(lid == confidential for sid in subs if subs[sid][4] in (people["user"], people["member"]) for lid, _ in got[sid])

    # nothing new: nothing evaluated, nothing scored
    again = PassReport()
    al.evaluate_searches(again)
    assert again.searches == 0 and again.items == 0
