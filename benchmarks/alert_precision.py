"""Alert precision on the demo data: of the alerts the demo generates, the share a reader would
call relevant — judged by a stated, reproducible rule (no hand labels; the everyday benchmark's
labels are about search queries and do not apply to alerts).

What is generated: the demo loaded into a fresh SQLite database, one person per organisation
(its admin, default alert settings: minimum band `possible`), and every published listing
published once, in id order (one outbox event each), turned into alert items by the one match
path (`Alerts.process_events`: reasons `match` and `publisher`). Each item is a pair: the listing
the person hears of, and the person's own listing it matched (`about_listing_id`).

The rule (a pair is relevant when both hold):
1. **industry**: both listings are in the same GB/T 4754 section (first letter of the code);
2. **words**: they share a keyword (the listings' keyword lists, compared exactly), or at
   least two title words of two or more characters (the platform's analyzer, `Analyzer.words`).
The band of each item is reported beside it: precision overall and per band.

    TONGXIN_ENCODER=none .venv/bin/python benchmarks/alert_precision.py [--sample 50] [--seed 14]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections import Counter

os.environ.setdefault("TONGXIN_ENCODER", "none")

from sqlalchemy import insert, select  # noqa: E402

from tongxin.core.listing import Listing  # noqa: E402
from tongxin.demo.load import load_demo  # noqa: E402
from tongxin.services import Exchange  # noqa: E402
from tongxin.services.alerts import Alerts, PassReport  # noqa: E402
from tongxin.storage import alerts_repo as AR  # noqa: E402
from tongxin.storage import repo  # noqa: E402
from tongxin.storage.db import Database  # noqa: E402
from tongxin.storage.models import ListingRow, OrganisationRow  # noqa: E402
from tongxin.storage.models_accounts import MembershipRow, UserRow  # noqa: E402
from tongxin.storage.models_alerts import AlertItemRow, OutboxRow  # noqa: E402


def title_words(ex: Exchange, x: Listing) -> set[str]:
    return {w for w in ex.analyzer.words(x.title) if len(w) >= 2}


def judge(ex: Exchange, a: Listing, b: Listing) -> tuple[bool, str]:
    """(relevant, why) by the rule in the module's docstring."""
    same_section = bool(a.industry) and a.industry[:1] == b.industry[:1]
    kw = {k.strip().lower() for k in a.keywords if k.strip()} & {k.strip().lower() for k in b.keywords if k.strip()}
    tw = title_words(ex, a) & title_words(ex, b)
    words = bool(kw) or len(tw) >= 2
    why = f"industry {a.industry}/{b.industry}; keywords {sorted(kw)[:3]}; title words {sorted(tw)[:4]}"
    return same_section and words, why


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=14)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tongxin-precision-")
    try:
        ex = Exchange(Database("sqlite:///" + os.path.join(work, "demo.db")), os.path.join(work, "index"))
        ex.init_db()
        t = time.perf_counter()
        load_demo(ex)
        ex.sync()
        with ex.db.transaction() as s:
            orgs = [int(o) for o in s.scalars(select(OrganisationRow.id).order_by(OrganisationRow.id))]
            s.execute(insert(UserRow), [{"email": f"org{o}@demo.test", "name": f"org{o}", "password_hash": "-", "role": "user", "active": True}
                                        for o in orgs])
            users = {str(e): int(i) for i, e in s.execute(select(UserRow.id, UserRow.email).where(UserRow.email.like("org%@demo.test")))}
            s.execute(insert(MembershipRow), [{"user_id": users[f"org{o}@demo.test"], "org_id": o, "role": "org_admin"} for o in orgs])
            ids = [int(i) for i in s.scalars(select(ListingRow.id).where(ListingRow.status == "published").order_by(ListingRow.id))]
            now = AR.now()
            s.execute(insert(OutboxRow), [{"topic": "listing.published", "payload": {"listing_id": i}, "created_at": now, "available_at": now,
                                           "attempts": 0, "failed": False, "last_error": ""} for i in ids])
        print(f"demo: {len(ids)} published listings, {len(orgs)} organisations (one person each), loaded in {time.perf_counter() - t:.0f} s")
        al = Alerts(ex)
        r = PassReport()
        t = time.perf_counter()
        while True:
            before = r.events
            al.process_events(r, limit=100)
            if r.events == before:
                break
        with ex.db.transaction(write=False) as s:
            items = [(int(i.listing_id), int(i.about_listing_id or 0), str(i.reason), str(i.band)) for i in s.scalars(select(AlertItemRow))]
            found = repo.fetch_listings(s, sorted({x for it in items for x in it[:2] if x}), ex.registry)
        print(f"alerts generated: {len(items)} items from {r.events} publications in {time.perf_counter() - t:.0f} s; "
              f"by reason {dict(Counter(i[2] for i in items))}, by band {dict(Counter(i[3] for i in items))}")
        rng = random.Random(a.seed)
        sample = rng.sample(items, min(a.sample, len(items)))
        ok = Counter[str]()
        n = Counter[str]()
        for lid, about, reason, b in sample:
            x, y = found.get(lid), found.get(about)
            if x is None or y is None:
                continue
            good, why = judge(ex, x, y)
            n[b] += 1
            ok[b] += good
            print(f"  {'✓' if good else '✗'} [{b:8}] {reason:9} {x.title[:28]:28} ← {y.title[:28]:28} {why}")
        total, hits = sum(n.values()), sum(ok.values())
        print(f"precision: {hits}/{total} = {hits / max(total, 1):.0%} (seed {a.seed}); per band: "
              + ", ".join(f"{k} {ok[k]}/{n[k]}" for k in ("strong", "possible", "weak") if n[k]))
        ex.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
