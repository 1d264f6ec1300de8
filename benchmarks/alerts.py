"""Alerts: publish → e-mail latency, and the daily digest at scale.

1. **Publish → mail in the sink** for an instant preference, with the web server's background
   worker at its default interval (TONGXIN_ALERTS_INTERVAL, 10 s): a member of another
   organisation publishes a technology written like a scenario's text (`Listings.save`); the
   time until the scenario owner's e-mail is accepted by a real SMTP server on loopback
   (aiosmtpd). Publications are spaced at random within one interval, so the phase of the
   worker's clock is sampled too. p50 / p99 / max.
2. **Daily digest**: N saved searches (daily, generated queries of 1–3 topic words plus general
   words, `Generator.text_queries`) against M listings published since the last digest, at the
   digest hour: `evaluate_searches` (the new listings scored once per distinct words, kind and
   visibility class, `Exchange.search_among`; then per subscription its filters and band) then `compose`
   (one mail per person). Also the outbox pass for the M publications (one `Exchange.match`
   each). Run time of each, and the process's peak RSS.

    TONGXIN_ENCODER=none .venv/bin/python benchmarks/alerts.py [--subscriptions 10000] [--listings 1000] [--samples 10]
        [--database-url URL] [--skip-latency]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TONGXIN_ENCODER", "none")

from sqlalchemy import insert, select  # noqa: E402

from tongxin.bench.speed import _Bar, database, load_corpus, machine  # noqa: E402
from tongxin.bench.synthetic import Generator  # noqa: E402
from tongxin.core import alerts as A  # noqa: E402
from tongxin.services import Exchange  # noqa: E402
from tongxin.services.accounts import Accounts  # noqa: E402
from tongxin.services.alert_sender import Sender, Worker  # noqa: E402
from tongxin.services.alerts import PassReport  # noqa: E402
from tongxin.services.listings import Listings  # noqa: E402
from tongxin.services.mail import LogMailer, SmtpMailer  # noqa: E402
from tongxin.storage import alerts_repo as AR  # noqa: E402
from tongxin.storage.db import Database  # noqa: E402
from tongxin.storage.models import ListingRow, OrganisationRow  # noqa: E402
from tongxin.storage.models_accounts import MembershipRow, UserRow  # noqa: E402
from tongxin.storage.models_alerts import OutboxRow, SubscriptionRow  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def add_user(ex: Exchange, email: str, org_id: int | None, role: str = "org_admin") -> int:
    with ex.db.transaction() as s:
        u = UserRow(email=email, name=email.split("@")[0], password_hash="-", role="user", active=True)
        s.add(u)
        s.flush()
        if org_id is not None:
            s.add(MembershipRow(user_id=u.id, org_id=org_id, role=role))
        return int(u.id)


def latency(ex: Exchange, samples: int, interval: float) -> list[float]:
    from aiosmtp_sink import AioSink

    sink = AioSink()
    snd = Sender(ex, SmtpMailer("127.0.0.1", sink.port), secret="bench", public_url="http://bench.test")
    accounts = Accounts(ex)
    ls = Listings(ex)
    rng = random.Random(7)
    with ex.db.transaction(write=False) as s:
        scen = [(int(i), int(o), t, d) for i, o, t, d in s.execute(
            select(ListingRow.id, ListingRow.owner_id, ListingRow.title, ListingRow.description)
            .where(ListingRow.kind == "scenario", ListingRow.status == "published", ListingRow.visibility == "public"))]
        orgs = [int(o) for o in s.scalars(select(OrganisationRow.id))]
    publisher_org = orgs[-1]
    publisher = accounts.viewer(add_user(ex, "publisher@bench.test", publisher_org))
    snd.run_once()  # nothing pending before the clock starts
    worker = Worker(snd, interval)
    worker.start()
    out: list[float] = []
    try:
        for k, (_sid, owner, title, desc) in enumerate(rng.sample([x for x in scen if x[1] != publisher_org], samples)):
            email = f"owner{k}@bench.test"
            uid = add_user(ex, email, owner)
            snd.alerts.set_preferences(accounts.viewer(uid), {"frequency": "instant", "min_band": "weak"})
            time.sleep(rng.uniform(0, interval))
            raw = {"title": "技术：" + title, "description": desc, "keywords": "", "industry": "C37", "region": "110108", "visibility": "public",
                   "trl": "7", "transfer_modes": ["license"], "valid_from": "2025-01-01", "valid_until": "2030-12-31"}
            t0 = time.perf_counter()
            ls.save(publisher, "technology", raw, publish=True)
            end = t0 + 120
            while time.perf_counter() < end and not sink.to(email):
                time.sleep(0.05)
            took = time.perf_counter() - t0
            got = bool(sink.to(email))
            print(f"  sample {k + 1}: " + (f"{took:.2f} s" if got else "no mail within 120 s"), flush=True)
            if got:
                out.append(took)
    finally:
        worker.stop()
        sink.close()
    return out


def digest(ex: Exchange, n_subs: int, gen: Generator) -> None:
    t0 = dt.datetime.now(dt.UTC)
    with ex.db.transaction(write=False) as s:
        ids = [int(i) for i in s.scalars(select(ListingRow.id).where(ListingRow.status == "published"))]
        last = AR.last_event_id(s)
    queries = gen.text_queries(n_subs)
    t = time.perf_counter()
    with ex.db.transaction() as s:
        s.execute(insert(UserRow), [{"email": f"sub{i}@bench.test", "name": f"sub{i}", "password_hash": "-", "role": "user", "active": True}
                                    for i in range(n_subs)])
        uids = [int(u) for u in s.scalars(select(UserRow.id).where(UserRow.email.like("sub%@bench.test")).order_by(UserRow.id))]
        s.execute(insert(SubscriptionRow), [{"user_id": u, "type": "search", "kind": k, "q": q, "filters": {}, "target": "",
                                             "min_band": "possible", "frequency": "daily", "created_at": t0, "checked_upto": last}
                                            for u, (q, k) in zip(uids, queries, strict=True)])
        s.execute(insert(OutboxRow), [{"topic": "listing.published", "payload": {"listing_id": i}, "created_at": t0, "available_at": t0,
                                       "attempts": 0, "failed": False, "last_error": ""} for i in ids])
    print(f"set up {n_subs:,} saved searches and {len(ids):,} publications in {time.perf_counter() - t:.1f} s; peak RSS so far {rss_mib():.0f} MiB")
    at = A.due_at(A.Frequency.DAILY, t0) + dt.timedelta(seconds=1)
    snd = Sender(ex, LogMailer(), secret="bench", public_url="http://bench.test", now=lambda: at)
    r = PassReport()
    t = time.perf_counter()
    while True:
        before = r.events
        snd.alerts.process_events(r, limit=200)
        if r.events == before:
            break
    t_events = time.perf_counter() - t
    print(f"outbox: {r.events:,} publications matched (Exchange.match each) in {t_events:.1f} s ({t_events / max(r.events, 1) * 1000:.0f} ms each)")
    rss0 = rss_mib()
    r.items = 0  # from here on: the digest's items only
    t = time.perf_counter()
    snd.alerts.evaluate_searches(r)
    t_search = time.perf_counter() - t
    t = time.perf_counter()
    snd.compose(r)
    t_compose = time.perf_counter() - t
    print(f"daily digest: {r.subscriptions_evaluated:,} saved searches evaluated in {t_search:.1f} s "
          f"({r.searches:,} scorings of the new listings, one per words, kind and visibility class), "
          f"{r.items:,} items; {r.mails_composed:,} mails composed in {t_compose:.1f} s; total {t_search + t_compose:.1f} s")
    print(f"peak RSS: {rss_mib():.0f} MiB (before the digest: {rss0:.0f} MiB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscriptions", type=int, default=10_000)
    ap.add_argument("--listings", type=int, default=1_000)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--interval", type=float, default=float(os.environ.get("TONGXIN_ALERTS_INTERVAL", "10")))
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--skip-latency", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tongxin-alerts-")
    try:
        with database(a.database_url, work) as (url, backend), _Bar(True) as bar:
            ex = Exchange(Database(url), os.path.join(work, "index"))
            ex.init_db()
            gen = Generator()
            load_corpus(ex, gen, a.listings, bar)
            ex.rebuild_index()
            print(f"{a.listings:,} listings on {backend}, encoder {os.environ['TONGXIN_ENCODER']}; machine {machine()}")
            if not a.skip_latency:
                print(f"publish → mail, instant preference, worker interval {a.interval:g} s:")
                xs = latency(ex, a.samples, a.interval)
                if xs:
                    print(f"publish → mail: n={len(xs)} p50 {statistics.median(xs):.2f} s  p99 {pct(xs, 99):.2f} s  max {max(xs):.2f} s")
            digest(ex, a.subscriptions, gen)
            ex.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
