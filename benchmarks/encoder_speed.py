"""The e5 encoder's speed on this machine, one thread (as the embedding worker runs it):
passages (a sample of the demo's listing texts, batches of 16) and free-text queries.

    .venv/bin/python benchmarks/encoder_speed.py --sample 200

Prints one JSON object: passages per second per core, the estimated time to embed all demo
texts, query embedding p50/p99 (ms), and the 1-minute load average (other work on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from make_demo_vectors import demo_texts

from tongxin.bench.synthetic import Generator
from tongxin.core.semantic import get_encoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    texts = demo_texts()
    sample = random.Random(1).sample(texts, min(args.sample, len(texts)))
    enc = get_encoder("e5")
    t = time.perf_counter()
    enc.encode_passages(sample[:2])  # the model loads
    load_s = time.perf_counter() - t
    load_avg = os.getloadavg()[0]
    t = time.perf_counter()
    for i in range(0, len(sample), args.batch):
        enc.encode_passages(sample[i : i + args.batch])
    passages_s = time.perf_counter() - t
    qs = [q for q, _ in Generator(20260601).text_queries(args.queries)]
    lat = []
    for q in qs:
        t = time.perf_counter()
        enc.encode_query(q)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    rate = len(sample) / passages_s
    print(json.dumps({
        "model": enc.name, "threads": 1, "model_load_s": round(load_s, 2), "sample": len(sample),
        "mean_chars": round(statistics.mean(len(x) for x in sample)), "passages_s": round(passages_s, 1),
        "passages_per_s_per_core": round(rate, 2), "demo_texts": len(texts), "demo_embed_estimate_s": round(len(texts) / rate),
        "query_p50_ms": round(lat[len(lat) // 2], 1), "query_p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
        "load_avg_1m_at_start": round(load_avg, 2), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
