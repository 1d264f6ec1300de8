"""How often a result in each relevance band is the labelled answer (the bands' published figures).

Runs the product's hybrid search (`tongxin bench quality`'s path) on BEIR-style dev sets and,
for the top 10 results of every query, records the relevance and whether it is the answer.
Prints, per set, the share of answers among results at or above each threshold and inside
each band. Tune on dev only.

    .venv/bin/python benchmarks/relevance_bands.py src/tongxin/bench/data/everyday/dev \
        ../shared/bench/csl/kwgap2abs/dev ../shared/bench/csl/problem2abs/dev --vector-cache var/vector-cache.sqlite
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from tongxin.bench.quality import bench_encoder, load_dataset, run_tongxin
from tongxin.core.matching.relevance import BANDS, SHOW_FLOOR


def collect(path: str, encoder: Any) -> list[tuple[float, bool]]:
    ds = load_dataset(path)
    points: list[tuple[float, bool]] = []

    def seen(qid: str, matches: list[Any], back: dict[int, str]) -> None:
        for m in matches[:10]:
            points.append((m.explanation.relevance, back.get(m.listing.id, "") in ds.qrels.get(qid, set())))

    with tempfile.TemporaryDirectory(prefix="tongxin-bands-") as tmp:
        run_tongxin(ds, tmp, encoder=encoder, on_query=seen)
    return points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--encoder", default="e5")
    ap.add_argument("--vector-cache", default=None)
    a = ap.parse_args()
    enc = bench_encoder(a.encoder, a.vector_cache)
    edges = [b.floor for b in BANDS]
    for path in a.datasets:
        pts = collect(path, enc)
        print(f"{path}: {len(pts)} results (top 10 of each query)")
        for t in sorted({*edges, SHOW_FLOOR, 0.3, 0.4, 0.5, 0.6}, reverse=True):
            above = [c for r, c in pts if r >= t]
            print(f"  relevance ≥ {t:.2f}: {len(above):5d} results, answer share {sum(above) / len(above) if above else 0:.2f}")
        for b, low_next in zip(BANDS, [None, *edges[:-1]], strict=True):
            inside = [c for r, c in pts if r >= b.floor and (low_next is None or r < low_next)]
            print(f"  band {b.key:8s} {b.zh}: {len(inside):5d} results, answer share {sum(inside) / len(inside) if inside else 0:.2f}")


if __name__ == "__main__":
    main()
