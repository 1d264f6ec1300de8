"""Step 3b of `tongxin bench speed`: the hybrid path (word and meaning candidates fused) on the
synthetic vectors of bench.vectors, against the words-only figures of the same run.

Figures (the "semantic" object of the output): the vector index's build time (from the stored
vectors: scan, HNSW build for large kinds, save next to the search index) and its reload time
(as after a restart); the query embedding alone (the real encoder, uncached) p50/p99; free
text and listing match p50/p99 on the hybrid path (query embedding included, its cache
emptied first); recall@100 of the index's candidates against an exact streaming scan; and at
small sizes (≤ EXACT_COMPARE_MAX listings) how often the hybrid top 10 equals the top 10 with
an exact index.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

from .vectors import SyntheticVectors, ann_recall

EXACT_COMPARE_MAX = 200_000  # the exact comparison index holds float32 vectors: ~1.5 GB per million
RECALL_QUERIES = 100

__all__ = ["SyntheticVectors", "resolve", "semantic_phase"]


def resolve(encoder: Any) -> Any:
    from ..core.semantic import get_encoder

    return get_encoder(encoder) if isinstance(encoder, str) else encoder


def _pct(xs: Sequence[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))], 3)


def _timed(fn: Any, items: Sequence[Any]) -> list[float]:
    out = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _top10(ex: Any, text_qs: Sequence[tuple[str, str | None]], match_ids: Sequence[int], ctx: Any) -> list[list[int]]:
    from ..core.access import VISITOR

    a = [[int(m.listing.id) for m in ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)[1]] for q, k in text_qs]
    return a + [[int(m.listing.id) for m in ex.match(i, VISITOR, limit=10, ctx=ctx)[1]] for i in match_ids]


def _build(ex: Any, sv: SyntheticVectors, index_dir: str | None, ann_threshold: int | None) -> tuple[Any, float]:
    from ..services.semantic import Semantic

    s = Semantic(ex.db, encoder=sv.enc, index_dir=index_dir, ann_threshold=ann_threshold, refresh_interval=3600)
    t = time.perf_counter()
    s.candidates(sv.topics[0], [], 1)  # builds the index (and saves it when a kind is approximate)
    return s, time.perf_counter() - t


def semantic_phase(ex: Any, sv: SyntheticVectors, index_dir: str | None, ann_threshold: int | None,
                   text_qs: Sequence[tuple[str, str | None]], match_ids: Sequence[int], ctx: Any) -> dict[str, Any]:
    from ..core.access import VISITOR
    from .speed import peak_rss_mb

    words_only = ex.semantic
    sem, build_s = _build(ex, sv, index_dir, ann_threshold)
    idx = sem._index
    out: dict[str, Any] = {
        "vectors": "synthetic: e5 (or the given encoder) embeds each topic and topic word once; a listing's vector = "
                   "normalise(topic + its keywords' mean + industry + region + noise), float16, written with the listings",
        "encoder": sv.enc.name, "embedded_texts": sv.embedded_texts, "embed_seconds": round(sv.embed_seconds, 2),
        "vectors_stored": sv.stored, "vectors_store_seconds": round(sv.store_seconds, 2),
        "vector_index_build_seconds": round(build_s, 2), "vector_counts": idx.counts(),
        "approximate_kinds": idx.approximate_kinds(), "peak_rss_after_vector_index_mb": round(peak_rss_mb(), 1),
    }
    if sem.index_dir and idx.approximate_kinds():  # a restart: the saved index is loaded (not rebuilt) and serves
        del idx
        sem._index = None
        gc.collect()
        sem, reload_s = _build(ex, sv, index_dir, ann_threshold)
        out["vector_index_reload_seconds"] = round(reload_s, 2)
        out["vector_index_reloaded"] = sem.index_loaded
    out["query_embed_ms"] = _timed(sv.enc.encode_query, [q for q, _ in text_qs])
    out["query_embed_p50_ms"], out["query_embed_p99_ms"] = _pct(out["query_embed_ms"], 50), _pct(out["query_embed_ms"], 99)
    del out["query_embed_ms"]
    ex.semantic = sem
    try:
        for q, k in text_qs[:20]:  # warm-up (then the query cache is emptied: every query is embedded)
            ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)
        sem._queries.clear()
        text_ms = _timed(lambda x: ex.search(x[0], kind=x[1], viewer=VISITOR, limit=10, ctx=ctx), text_qs)
        match_ms = _timed(lambda i: ex.match(i, VISITOR, limit=10, ctx=ctx), match_ids)
        out.update(text_p50_ms=_pct(text_ms, 50), text_p99_ms=_pct(text_ms, 99), listing_match_p50_ms=_pct(match_ms, 50),
                   listing_match_p99_ms=_pct(match_ms, 99), distinct_text_queries=len(set(text_qs)))
        out.update(_quality(ex, sem, sv, text_qs, match_ids, ctx, ann_threshold))
    finally:
        ex.semantic = words_only
    return out


def _quality(ex: Any, sem: Any, sv: SyntheticVectors, text_qs: Sequence[tuple[str, str | None]], match_ids: Sequence[int],
             ctx: Any, ann_threshold: int | None) -> dict[str, Any]:
    """Recall@100 of the candidates against the exact scan; at small sizes, the same top 10 as an exact index."""
    from ..services.semantic import Semantic

    qs: list[tuple[Any, str]] = []
    for q, k in text_qs[: RECALL_QUERIES // 2]:
        qs.append((sem.encode_query(q), k or "technology"))
    for i in match_ids[: RECALL_QUERIES // 2]:
        v = sem.vector_of(i)
        if v is not None:
            qs.append((v, "scenario" if sem._index._kind_of.get(i) == "technology" else "technology"))
    out: dict[str, Any] = {"recall_at_100": round(ann_recall(sem, qs, 100), 4), "recall_queries": len(qs)}
    n = len(sem._index)
    if n <= EXACT_COMPARE_MAX:
        tq, mi = list(text_qs[:50]), list(match_ids[:50])
        got = _top10(ex, tq, mi, ctx)
        exact = Semantic(ex.db, encoder=sv.enc, ann_threshold=0, refresh_interval=3600)
        ex.semantic = exact
        want = _top10(ex, tq, mi, ctx)
        ex.semantic = sem
        out["top10_identical_to_exact"] = round(sum(a == b for a, b in zip(got, want, strict=True)) / max(1, len(want)), 3)
        out["top10_overlap_with_exact"] = round(sum(len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(got, want, strict=True))
                                                / max(1, len(want)), 3)
    return out
