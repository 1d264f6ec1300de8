"""What evidence sentences cost on the demo data: sentences per listing, and e5's time per sentence.

Loads the demo listings into a throw-away SQLite database (semantic layer off while loading),
splits every listing as the embedding worker does (core.semantic.text.listing_sentence_list),
then embeds the first `--sample` sentences with e5 on one thread (a small sample: the full demo
is the web app's background work, not this script's).

    .venv/bin/python benchmarks/sentence_cost.py --sample 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=40, help="sentences embedded with e5 (0: none)")
    args = ap.parse_args()
    os.environ["TONGXIN_ENCODER"] = "none"
    from tongxin.core.semantic import get_encoder
    from tongxin.core.semantic.text import listing_sentence_list
    from tongxin.demo.load import load_demo
    from tongxin.services import Exchange
    from tongxin.storage import repo
    from tongxin.storage.db import Database

    with tempfile.TemporaryDirectory(prefix="tongxin-sentences-") as tmp:
        ex = Exchange(Database(f"sqlite:///{tmp}/t.db"), f"{tmp}/idx")
        ex.init_db()
        try:
            load_demo(ex)
            with ex.db.transaction(write=False) as s:
                xs = repo.find_listings(s, repo.ListingFilter(limit=1_000_000, status=None), ex.registry)
        finally:
            ex.close()
    per = [listing_sentence_list(x) for x in xs]
    counts = [len(p) for p in per]
    lens = [len(t) for p in per for t in p]
    print(f"listings {len(xs)}, sentences {sum(counts)}, per listing mean {statistics.mean(counts):.1f} max {max(counts)}, "
          f"characters per sentence mean {statistics.mean(lens):.1f} max {max(lens)}")
    if args.sample <= 0:
        return
    enc = get_encoder("e5")
    assert enc is not None
    sample = [t for p in per for t in p][: args.sample]
    enc.encode_passages(sample[:2])  # the model loads
    t0 = time.perf_counter()
    enc.encode_passages(sample)
    dt = time.perf_counter() - t0
    ms = dt / len(sample) * 1000
    print(f"e5, one thread: {len(sample)} sentences in {dt:.2f} s, {ms:.0f} ms a sentence; "
          f"all {sum(counts)} sentences ≈ {sum(counts) * ms / 60000:.1f} min of the worker's background time")


if __name__ == "__main__":
    main()
