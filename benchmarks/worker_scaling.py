"""Background work scales with workers: time for 1 and for 2 `tongxin worker` processes to embed
the same queue of listings (e5, the default encoder), on PostgreSQL (SKIP LOCKED claims).

    .venv/bin/python benchmarks/worker_scaling.py               # 120 listings, 1 then 2 workers
    .venv/bin/python benchmarks/worker_scaling.py --listings 60 --engine sqlite

Baseline: the 1-worker run in the same invocation. Prints listings/s and the speed-up; each
listing's vector is written once (checked: vectors == listings, none failed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from tongxin.bench.synthetic import Generator
from tongxin.services import Exchange
from tongxin.services.semantic import Semantic
from tongxin.storage import repo
from tongxin.storage.db import Database

PG_ADMIN = os.environ.get("TONGXIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def run(url: str, n_workers: int, n: int, tmp: str) -> float:
    ex = Exchange(Database(url), os.path.join(tmp, f"idx{n_workers}"))
    ex.init_db()
    gen = Generator(7 + n_workers)
    with ex.db.transaction() as s:
        orgs = list(gen.organisations(gen.n_organisations(n)))
        ids = repo.bulk_insert_organisations(s, orgs)
        repo.bulk_insert_listings(s, list(gen.listings(n, len(orgs))), ex.registry, {o.external_id: i for o, i in zip(orgs, ids, strict=False)})
    sem = Semantic(ex.db, encoder="e5")
    sem.enqueue_stale(check_text=False)
    total = sem.status()["waiting"]
    env = dict(os.environ, TONGXIN_DATABASE_URL=url, TONGXIN_DATA_DIR=os.path.join(tmp, f"d{n_workers}"), TONGXIN_ENCODER="e5")
    logs = [open(os.path.join(tmp, f"w{n_workers}-{i}.log"), "wb") for i in range(n_workers)]  # noqa: SIM115
    procs = [subprocess.Popen([sys.executable, "-m", "tongxin.cli.main", "worker"], env=env, stdout=f, stderr=subprocess.STDOUT) for f in logs]
    t0 = None
    try:
        while True:
            st = sem.status()
            if t0 is None and st["waiting"] < total:
                t0 = time.perf_counter()  # first vector landed: the models are loaded
                first = total - st["waiting"]
            if st["waiting"] == 0:
                break
            time.sleep(0.2)
        took = time.perf_counter() - (t0 or time.perf_counter())
        st = sem.status()
        assert st["vectors"] == total and st["failed"] == 0, st
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)
        for f in logs:
            f.close()
        ex.close()
    rate = (total - first) / took if took > 0 else float("nan")
    print(f"  {n_workers} worker(s): {total} listings, {rate:.2f} listings/s after the models loaded", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=120)
    ap.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tongxin-workers-")
    print(f"worker scaling: e5, {args.listings} listings, {args.engine}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rates = []
    for k in (1, 2):
        if args.engine == "sqlite":
            rates.append(run("sqlite:///" + os.path.join(tmp, f"w{k}.db"), k, args.listings, tmp))
            continue
        import psycopg

        name = "tx_workers_" + uuid.uuid4().hex[:8]
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        try:
            rates.append(run(PG_ADMIN.rsplit("/", 1)[0] + "/" + name, k, args.listings, tmp))
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"speed-up with 2 workers: ×{rates[1] / rates[0]:.2f} (1 worker is the baseline)")


if __name__ == "__main__":
    main()
