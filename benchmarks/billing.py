"""Billing costs on a year of bookings: what the due-work loop adds to every pass, and how long a
large monthly statement and its downloads take.

Setup: a fresh database (SQLite file, or `--db postgresql://…`), the test organisations, `--instruments`
instruments, and `--bookings` past bookings spread over the last 12 months (all used, checked in and out,
with cost centres; one organisation books most of them), plus one approved booking under way now on each instrument.

Measured (median of `--repeat` runs, wall clock):
- `run_due` with nothing due (what every pass of the background loop pays, every TONGXIN_ALERTS_INTERVAL);
- `run_due` releasing those no-shows (once);
- `Billing.statement` for the busiest organisation's busiest month, then its XLSX and PDF.

    .venv/bin/python benchmarks/billing.py [--bookings 20000] [--instruments 40] [--repeat 5] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TONGXIN_ENCODER", "none")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from factories import ORGS, load  # noqa: E402
from resource_factories import instrument  # noqa: E402

from tongxin.core import billing as BL  # noqa: E402
from tongxin.core import booking as B  # noqa: E402
from tongxin.core.access import SYSTEM  # noqa: E402
from tongxin.services import Exchange  # noqa: E402
from tongxin.services import billing_files as F  # noqa: E402
from tongxin.services.billing import Billing  # noqa: E402
from tongxin.storage import resources_repo as rr  # noqa: E402
from tongxin.storage.db import Database  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bookings", type=int, default=20000)
    ap.add_argument("--instruments", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", default="")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="tx-billing-")
    ex = Exchange(Database(a.db or f"sqlite:///{d}/b.db"), os.path.join(d, "idx"))
    ex.init_db()
    try:
        rows = [instrument(f"I-B{i:03d}", title=f"仪器 {i}") for i in range(a.instruments)]
        ids = list(load(ex, ORGS, rows).values())
        rng = random.Random(15)
        now = dt.datetime.now(B.CST).replace(minute=0, second=0, microsecond=0)
        with ex.db.transaction() as s:
            orgs = [rr.resolve_org(s, o["external_id"]).id for o in ORGS]
            busy = orgs[-1]
            slots: set[tuple[int, dt.datetime]] = set()
            n = 0
            while n < a.bookings:
                iid = rng.choice(ids)
                start = (now - dt.timedelta(days=rng.randint(2, 360))).replace(hour=rng.randint(8, 17))
                if (iid, start) in slots:
                    continue
                slots.add((iid, start))
                slot = B.Slot(start, start + dt.timedelta(hours=1))
                actual = B.Slot(start + dt.timedelta(minutes=rng.choice((0, 5))), start + dt.timedelta(minutes=rng.choice((50, 60, 75))))
                billed = BL.billed_hours(actual, 0.5)
                rr.insert_booking(s, B.Booking(iid, 1000 + rng.randint(1, 300), busy if rng.random() < 0.6 else rng.choice(orgs), slot, "used",
                                               fee=450 * billed, cost_centre=rng.choice(("CC-A", "CC-B", "CC-C", "")), checked_in_at=actual.start,
                                               checked_out_at=actual.end, billed_hours=billed), rate=450)
                n += 1
            for i, iid in enumerate(ids):  # one booking under way on each instrument, nobody checked in
                rr.insert_booking(s, B.Booking(iid, 5000 + i, busy, B.Slot(now - dt.timedelta(minutes=30), now + dt.timedelta(hours=1)), "approved"))
        bl = Billing(ex)
        idle, _ = timed(lambda: bl.run_due(now - dt.timedelta(hours=1)), a.repeat)  # nothing due yet
        t0 = time.perf_counter()
        rep = bl.run_due(now)
        release = time.perf_counter() - t0
        month = f"{now - dt.timedelta(days=40):%Y-%m}"
        st_time, st = timed(lambda: bl.statement(SYSTEM, month, str(busy)), a.repeat)
        xlsx_time, xlsx = timed(lambda: F.statement_xlsx(st), a.repeat)  # type: ignore[arg-type]
        pdf_time, pdf = timed(lambda: F.statement_pdf(st), max(1, a.repeat // 2))  # type: ignore[arg-type]
        print(f"database: {ex.db.engine.dialect.name}; {a.bookings} used bookings on {a.instruments} instruments")
        print(f"run_due, nothing due (each loop pass): {idle * 1000:.1f} ms")
        print(f"run_due releasing {len(rep.no_shows)} no-shows: {release * 1000:.1f} ms")
        print(f"statement {month} ({len(st.lines)} lines): {st_time * 1000:.1f} ms; XLSX {xlsx_time * 1000:.1f} ms ({len(xlsx)} B);"  # type: ignore[attr-defined, arg-type]
              f" PDF {pdf_time * 1000:.1f} ms ({len(pdf)} B)")  # type: ignore[arg-type]
    finally:
        ex.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
