"""Query latency of three paths on one synthetic corpus, in the same run:

* ``engine``  - the named reference: tantivy alone, the same scoring query (the exchange's
  weighted query terms), top 10, no filters, no ids, no database, no ranking;
* ``plain``   - the named baseline: the exchange with the speed-ups off (``Exchange.exact``):
  kind / visibility / validity filters inside the tantivy query, every candidate's text
  analysed again to explain it;
* ``fast``    - the default path: filters checked on a packed fast field around a bare OR
  search, explanations from analysed terms stored in the index, only the returned
  listings explained.

It also checks that ``plain`` and ``fast`` return the same matches, scores and explanations.

    .venv/bin/python benchmarks/speed_paths.py [--listings 100000] [--queries 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time

from tongxin.bench.speed import _Bar, database, load_corpus, machine
from tongxin.bench.synthetic import TODAY, Generator
from tongxin.core.access import VISITOR
from tongxin.core.matching.fit import MatchContext
from tongxin.core.text import Analyzer
from tongxin.services import Exchange
from tongxin.storage import repo
from tongxin.storage.db import Database


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))]


def sig(res: list) -> list:  # type: ignore[type-arg]
    return [(m.listing.id, m.score, [(t.term, t.fields, t.points) for t in m.explanation.terms], [(f.key, f.points) for f in m.explanation.fit])
            for m in res]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--database-url", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tongxin-paths-")
    ctx = MatchContext(today=TODAY)
    try:
        with database(a.database_url, work) as (url, backend), _Bar(False) as bar:
            ex = Exchange(Database(url), os.path.join(work, "index"), analyzer=Analyzer())
            ex.init_db()
            gen = Generator()
            load_corpus(ex, gen, a.listings, bar)
            t = time.perf_counter()
            ex.rebuild_index()
            print(f"corpus: {a.listings:,} listings on {backend}, index built in {time.perf_counter() - t:.1f} s; machine {machine()}")
            texts = gen.text_queries(a.queries)
            with ex.db.transaction(write=False) as s:
                found = repo.fetch_listings(s, random.Random(1).sample(range(1, a.listings), a.queries * 3), ex.registry)
            ids = [i for i, x in found.items() if x.visibility == "public" and x.status == "published"][: a.queries]
            eng = ex.engine
            refs_t = [ex.scoring_query(ex.text_qterms(q)) for q, _ in texts]
            refs_l = [ex.scoring_query(ex.listing_qterms(found[i])) for i in ids]
            lat: dict[tuple[str, str], list[float]] = {}
            results: dict[str, list] = {}  # type: ignore[type-arg]
            for name in ("engine", "plain", "fast", "engine", "plain", "fast"):  # twice: the second round is measured
                ex.exact = name == "plain"
                for what, items in (("free text", list(zip(texts, refs_t, strict=False))), ("listing", list(zip(ids, refs_l, strict=False)))):
                    xs: list[float] = []
                    outs = []
                    for item, ref in items:
                        t = time.perf_counter()
                        if name == "engine":
                            eng.search_bare(ref, 10)
                        elif what == "free text":
                            outs.append(sig(ex.search(item[0], kind=item[1], viewer=VISITOR, ctx=ctx)[1]))
                        else:
                            outs.append(sig(ex.match(item, VISITOR, ctx=ctx)[1]))
                        xs.append((time.perf_counter() - t) * 1000)
                    lat[(name, what)] = xs
                    results[name + what] = outs
            print(f"\n{'path':8s} {'query':10s} {'p50 ms':>8s} {'p99 ms':>8s} {'mean ms':>8s} {'p50 / engine':>13s}")
            for what in ("free text", "listing"):
                e50 = pct(lat[("engine", what)], 50)
                for name in ("engine", "plain", "fast"):
                    xs = lat[(name, what)]
                    print(f"{name:8s} {what:10s} {pct(xs, 50):8.3f} {pct(xs, 99):8.3f} {statistics.mean(xs):8.3f} {pct(xs, 50) / e50:12.1f}x")
            same = sum(a == b for w in ("free text", "listing") for a, b in zip(results["plain" + w], results["fast" + w], strict=False))
            total = sum(len(results["plain" + w]) for w in ("free text", "listing"))
            print(f"\nfast == plain (matches, scores, explanations): {same}/{total}; "
                  f"engine fallbacks {eng.stats}, explained from the index {ex.stats}")
            ex.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
