"""Latency of one match on the demo data (what a user waits for on a listing page or a search),
against the named baseline "bare tantivy search" of the same query terms in the same run.

    .venv/bin/python benchmarks/demo_match_latency.py [--queries 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

from tongxin.core.access import SYSTEM
from tongxin.core.matching.fit import MatchContext
from tongxin.demo import generate
from tongxin.demo.load import load_demo
from tongxin.services import Exchange
from tongxin.storage.db import Database


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=300)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ex = Exchange(Database("sqlite:///" + os.path.join(tmp, "d.db")), os.path.join(tmp, "idx"))
        ex.init_db()
        t0 = time.perf_counter()
        load_demo(ex)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = ex.rebuild_index()
        t_index = time.perf_counter() - t0
        data = generate()
        scen = list(data.expert_picks)[: a.queries]
        ids = ex.ids_by_external(scen)
        ctx = MatchContext(today=dt.date(2026, 6, 1))
        texts = [x["title"] for x in data.listings if x["kind"] == "scenario"][: a.queries]
        for s in scen[:20]:  # warm up
            ex.match(ids[s], SYSTEM, ctx=ctx)
        lat_match, lat_search, lat_engine = [], [], []
        for s in scen:
            t0 = time.perf_counter()
            ex.match(ids[s], SYSTEM, ctx=ctx)
            lat_match.append((time.perf_counter() - t0) * 1000)
        for q in texts:
            t0 = time.perf_counter()
            qterms, _ = ex.search(q, kind="technology", viewer=SYSTEM, ctx=ctx)
            lat_search.append((time.perf_counter() - t0) * 1000)
            terms = [(t.term, t.weight) for t in qterms]
            t0 = time.perf_counter()
            ex.engine.search(terms, ["technology"], ["public", "members", "confidential"], ctx.today, limit=10)
            lat_engine.append((time.perf_counter() - t0) * 1000)
        ex.close()
    print(f"demo data: load {t_load:.2f} s, index {n} published listings in {t_index:.2f} s")
    for name, xs in (("listing → counterparts (match)", lat_match), ("free text → technologies (search)", lat_search),
                     ("baseline: bare tantivy search, same words", lat_engine)):
        print(f"{name:45s} n={len(xs)}  p50 {statistics.median(xs):6.2f} ms  p99 {pct(xs, 99):6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
