"""Listing-to-listing matching with and without leaving out the query terms that no document
of the wanted kind holds (SearchEngine.known), on one synthetic corpus, in the same run:

* ``whole``  - the named baseline: every query term searched (kind terms unknown);
* ``known``  - the default: terms no wanted-kind document holds left out.

Each listing is matched both ways, the order alternating, so page-cache and CPU-speed drift
fall on both alike. It also checks that both give the same matches and scores, and reports
how often ranking only the first d text candidates gives the top 10 of the first 500
(why a match reads 50 candidates).

    .venv/bin/python benchmarks/kind_terms.py [--listings 1000000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time

from tongxin.bench.speed import DEFAULT_SEED, _pct, database, load_corpus, machine
from tongxin.bench.synthetic import TODAY, Generator
from tongxin.core import access as acc
from tongxin.core.matching.fit import MatchContext
from tongxin.core.matching.rank import Candidate, allowed_kinds, rank
from tongxin.core.text import Analyzer
from tongxin.services import Exchange
from tongxin.storage import repo
from tongxin.storage.db import Database


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    args = ap.parse_args()
    ctx = MatchContext(today=TODAY)
    work = tempfile.mkdtemp(prefix="tongxin-kindterms-")
    try:
        with database(None, work) as (url, _):
            ex = Exchange(Database(url), os.path.join(work, "index"), analyzer=Analyzer(), background_sync=False)
            ex.init_db()
            load_corpus(ex, Generator(DEFAULT_SEED), args.listings)
            ex.rebuild_index()
            eng = ex.engine
            table = eng.store.kind_terms
            ids = [i for i in random.Random(7).sample(range(1, args.listings + 1), min(args.listings, args.queries * 2))
                   if ex.get(i)[1] >= acc.Access.FULL][: args.queries]
            times: dict[bool, list[float]] = {True: [], False: []}
            differ = 0
            for j, lid in enumerate(ids):
                got = {}
                for on in ((True, False) if j % 2 else (False, True)):
                    eng.store.kind_terms = table if on else None
                    t = time.perf_counter()
                    got[on] = [(m.listing.id, m.score) for m in ex.match(lid, ctx=ctx)[1]]
                    times[on].append((time.perf_counter() - t) * 1000)
                differ += got[True] != got[False]
            eng.store.kind_terms = table
            print(machine())
            for on, name in ((False, "whole query (baseline)"), (True, "kind terms known")):
                xs = times[on]
                print(f"{name:24s} p50 {_pct(xs, 50):6.2f}  p90 {_pct(xs, 90):6.2f}  p99 {_pct(xs, 99):6.2f}  mean {statistics.mean(xs):6.2f} ms")
            print(f"matches that differ: {differ} of {len(ids)}")
            # depth: top 10 ranked from the first d text candidates against the first 500
            depths = (20, 50, 100)
            same = {d: 0 for d in depths}
            n = min(200, len(ids))
            for lid in ids[:n]:
                listing = ex.get(lid)[0]
                kinds = allowed_kinds(ex.registry, listing, None)
                hits = eng.search(kinds=kinds, visibilities=acc.visible_levels(acc.VISITOR), today=TODAY, limit=500,
                                  exclude_ids=[lid], **ex._engine_args(ex.listing_qterms(listing)))
                with ex.db.transaction(write=False) as s:
                    found = repo.fetch_listings(s, [h.id for h in hits], ex.registry)
                cands = [Candidate(found[h.id], h.score) for h in hits if h.id in found]

                def top(d: int) -> list[int | None]:
                    return [m.listing.id for m in rank(cands[:d], [], ex.registry, ex.analyzer, ctx,  # noqa: B023
                                                       lambda x: acc.can_match(acc.VISITOR, x), query=listing, limit=10)]  # noqa: B023
                truth = top(500)
                for d in depths:
                    same[d] += top(d) == truth
            print("top 10 from the first d candidates equals the top 10 from 500: "
                  + ", ".join(f"d={d}: {same[d] / n:.0%}" for d in depths))
            ex.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
