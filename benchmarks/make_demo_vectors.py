"""Embed the demo's listings once and ship the vectors with the package, so `make demo` stays fast.

Builds the demo (main demo + resources, the same generators `tongxin demo` loads) in a
scratch SQLite database, takes the embedded text of every listing (core.semantic.embed_text),
embeds the distinct texts with the e5 encoder and writes
src/tongxin/demo/data/vectors-e5.npz: text hashes (sha1), float16 vectors, model name and
version. The demo loader inserts the vectors whose text hash matches and queues the rest.

    nice .venv/bin/python benchmarks/make_demo_vectors.py [--batch 16]

Prints the time to embed the demo data (one core: the encoder runs with one thread).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from tongxin.core.semantic import get_encoder, text_hash
from tongxin.core.semantic.text import listing_embed_text
from tongxin.demo.load import DEMO_VECTORS, load_demo, load_resources
from tongxin.services import Exchange
from tongxin.storage import repo
from tongxin.storage.db import Database


def demo_texts() -> list[str]:
    """The embedded text of every listing `tongxin demo` publishes, distinct, in id order."""
    with tempfile.TemporaryDirectory() as d:
        ex = Exchange(Database("sqlite:///" + os.path.join(d, "demo.db")), os.path.join(d, "index"), background_sync=False)
        ex.init_db()
        try:
            load_demo(ex)
            load_resources(ex)
            with ex.db.transaction(write=False) as s:
                texts = [listing_embed_text(x) for batch in repo.scan_listings(s, ex.registry, status=None) for x in batch]
        finally:
            ex.close()
    return list(dict.fromkeys(texts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--output", default=DEMO_VECTORS)
    args = ap.parse_args()
    texts = demo_texts()
    enc = get_encoder("e5")
    assert enc is not None
    t0 = time.perf_counter()
    out = np.zeros((len(texts), enc.dim), dtype=np.float16)
    for i in range(0, len(texts), args.batch):
        out[i : i + args.batch] = enc.encode_passages(texts[i : i + args.batch]).astype(np.float16)
        done = min(i + args.batch, len(texts))
        el = time.perf_counter() - t0
        print(f"\r{done}/{len(texts)}  {el:6.0f} s  ~{el / done * (len(texts) - done):5.0f} s left", end="", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    np.savez_compressed(args.output, hashes=np.array([text_hash(t) for t in texts]), vectors=out,
                        model=np.array(enc.name), version=np.array(enc.version))
    chars = sum(len(t) for t in texts)
    print(f"\n{len(texts)} texts ({chars / len(texts):.0f} characters on average) embedded in {seconds:.0f} s "
          f"({seconds / len(texts) * 1000:.0f} ms each, one thread); {os.path.getsize(args.output) / 1e6:.1f} MB → {args.output}")


if __name__ == "__main__":
    main()
