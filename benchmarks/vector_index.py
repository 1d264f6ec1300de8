"""Vector index candidates for the semantic layer, measured on one machine: exact numpy scan,
usearch (HNSW) and hnswlib (HNSW), on N synthetic 384-d unit vectors that are clustered like
text embeddings (not uniform random): build time, memory, query p50/p99 at k=100, recall@100
against the exact top 100.

    nice .venv/bin/python benchmarks/vector_index.py --n 1000000 --queries 200 --threads 2

Each library runs in its own process (clean peak-memory figures); `pip install usearch hnswlib`
first (benchmark-only: they are not dependencies of tongxin). Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import time

import numpy as np

DIM = 384
EF_SEARCH = 256  # search breadth for k=100 (HNSW needs ef > k for a useful recall)


def corpus(n: int, seed: int = 1, clusters: int = 2000) -> np.ndarray:
    """Unit vectors around `clusters` topic centres (mixed with a global mean direction, as e5's
    vectors share one: their cosines lie in 0.7-0.9 rather than around 0)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=DIM).astype(np.float32)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        m = min(step, n - i)
        c = rng.integers(0, clusters, m)
        x = 2.0 * common + centres[c] + 0.6 * rng.normal(size=(m, DIM)).astype(np.float32)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def queries(data: np.ndarray, q: int, seed: int = 2) -> np.ndarray:
    """Queries near stored vectors (a need phrased near some listings), not copies of them."""
    rng = np.random.default_rng(seed)
    base = data[rng.integers(0, len(data), q)] + 0.05 * rng.normal(size=(q, DIM)).astype(np.float32)
    return (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)


def exact_topk(data: np.ndarray, qs: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    ids = np.empty((len(qs), k), dtype=np.int64)
    times = []
    for j, q in enumerate(qs):
        t = time.perf_counter()
        s = data @ q
        part = np.argpartition(-s, k - 1)[:k]
        ids[j] = part[np.argsort(-s[part])]
        times.append(time.perf_counter() - t)
    return ids, times


def rss_mb() -> float:
    """Current resident memory (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def run_one(lib: str, n: int, nq: int, k: int, threads: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    data = corpus(n)
    qs = queries(data, nq)
    import gc

    gc.collect()
    truth = np.load(f"/tmp/vector_index_truth_{n}_{nq}.npy")
    before = rss_mb()
    t0 = time.perf_counter()
    if lib == "exact-f32":
        search = lambda q: exact_topk(data, q[None, :], k)[0][0]  # noqa: E731
    elif lib == "usearch":
        from usearch.index import Index

        idx = Index(ndim=DIM, metric="cos", dtype="f16", connectivity=16, expansion_add=128, expansion_search=EF_SEARCH)
        idx.add(np.arange(n), data, threads=threads)
        search = lambda q: idx.search(q, k, threads=1).keys  # noqa: E731
    elif lib == "hnswlib":
        import hnswlib

        idx = hnswlib.Index(space="ip", dim=DIM)
        idx.init_index(max_elements=n, ef_construction=128, M=16)
        idx.set_num_threads(threads)
        idx.add_items(data, np.arange(n))
        idx.set_ef(EF_SEARCH)
        idx.set_num_threads(1)
        search = lambda q: idx.knn_query(q, k=k)[0][0]  # noqa: E731
    else:
        raise SystemExit(f"unknown library {lib}")
    build = time.perf_counter() - t0
    times, recall = [], []
    for j, q in enumerate(qs):
        t = time.perf_counter()
        got = search(q)
        times.append(time.perf_counter() - t)
        recall.append(len(set(np.asarray(got).tolist()) & set(truth[j].tolist())) / k)
    out.put({"lib": lib, "n": n, "build_s": round(build, 1), "index_mb": round(rss_mb() - before), "peak_rss_mb": round(peak_mb()),
             "p50_ms": round(_pct(times, 0.5), 2), "p99_ms": round(_pct(times, 0.99), 2), "recall@100": round(statistics.mean(recall), 4)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--libs", default="exact-f32,usearch,hnswlib")
    args = ap.parse_args()
    path = f"/tmp/vector_index_truth_{args.n}_{args.queries}.npy"
    if not os.path.exists(path):
        data = corpus(args.n)
        truth, _ = exact_topk(data, queries(data, args.queries), args.k)
        np.save(path, truth)
        del data
    ctx = mp.get_context("spawn")
    for lib in args.libs.split(","):
        q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        p = ctx.Process(target=run_one, args=(lib, args.n, args.queries, args.k, args.threads, q))
        p.start()
        res = q.get()
        p.join()
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
