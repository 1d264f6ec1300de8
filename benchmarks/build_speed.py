"""Index build throughput: `Exchange.rebuild_index` with text analysis in two worker
processes (the default for big builds) against the named baseline "in-process analysis"
(build_workers = 0), on the same database, in the same run. Prints wall time, CPU time
(this process + analysis workers) and listings per second.

    .venv/bin/python benchmarks/build_speed.py [--listings 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time

from tongxin.bench.speed import _Bar, database, load_corpus, machine
from tongxin.bench.synthetic import Generator
from tongxin.core.text import Analyzer
from tongxin.services import Exchange
from tongxin.storage.db import Database


def cpu() -> tuple[float, float]:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime, b.ru_utime + b.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--database-url", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tongxin-build-")
    try:
        with database(a.database_url, work) as (url, backend), _Bar(False) as bar:
            ex = Exchange(Database(url), os.path.join(work, "index"), analyzer=Analyzer())
            ex.init_db()
            _, _, t_db = load_corpus(ex, Generator(), a.listings, bar)
            print(f"{a.listings:,} listings on {backend}: database load {t_db:.1f} s ({a.listings / t_db:,.0f}/s); machine {machine()}")
            print(f"{'build':28s} {'wall s':>8s} {'CPU main s':>11s} {'CPU workers s':>14s} {'listings/s':>11s}")
            for name, workers in (("in-process analysis (base)", 0), ("2 analysis workers", 2)):
                ex.index.build_workers = workers
                c0 = cpu()
                t = time.perf_counter()
                n = ex.rebuild_index()
                wall = time.perf_counter() - t
                c1 = cpu()
                print(f"{name:28s} {wall:8.1f} {c1[0] - c0[0]:11.1f} {c1[1] - c0[1]:14.1f} {n / wall:11,.0f}")
            ex.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
