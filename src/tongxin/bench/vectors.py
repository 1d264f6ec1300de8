"""Synthetic listing vectors for `tongxin bench speed`, and the check of the approximate index
against an exact scan.

Embedding a million listings with e5 would take ~40 core-hours, so the benchmark's vectors are
honestly synthetic, built from real embeddings: the encoder embeds each topic (its words
joined) and each distinct topic word once (~1,100 short texts); a listing's vector is then

    normalise(topic + mean of its keywords' word vectors + 0.15·industry + 0.10·region + noise)

with fixed random unit directions per industry division and region and Gaussian noise of
norm ≈ 0.3, all seeded. Listings of one topic and shared keywords are near each other, as e5
puts them; the vectors share e5's common direction (cosines of unrelated texts 0.7–0.8).
They are written as float16 straight into `listing_vectors` with the listings (not through
the embedding queue), with the text hash of each listing's embedded text, so the stored
vectors are current for the semantic layer. Free-text queries are embedded with the real
encoder at query time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .synthetic import Generator, Listing

if TYPE_CHECKING:
    import numpy as np

NOISE = 0.3  # norm of a listing's own noise
INDUSTRY_W, REGION_W = 0.15, 0.10


def _unit(m: Any) -> Any:
    import numpy as np

    m = np.asarray(m, dtype=np.float32)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


class SyntheticVectors:
    def __init__(self, gen: Generator, encoder: Any, seed: int = 1, batch: int = 32) -> None:
        import numpy as np

        self.gen, self.enc, self.seed = gen, encoder, seed
        words = sorted({w for t in gen.vocab.topics for w in t})
        self.word_pos = {w: i for i, w in enumerate(words)}
        texts = ["、".join(t) for t in gen.vocab.topics] + words
        t0 = time.perf_counter()
        m = np.concatenate([encoder.encode_passages(texts[i : i + batch]) for i in range(0, len(texts), batch)])
        self.embed_seconds = time.perf_counter() - t0
        self.embedded_texts = len(texts)
        nt = len(gen.vocab.topics)
        self.topics, self.words = m[:nt].astype(np.float32), m[nt:].astype(np.float32)
        rng = np.random.default_rng(seed)
        dim = encoder.dim
        self.industry = {d: v for d, v in zip(gen.divisions, _unit(rng.normal(size=(len(gen.divisions), dim))), strict=True)}
        self.region = {r: v for r, v in zip(gen.regions, _unit(rng.normal(size=(len(gen.regions), dim))), strict=True)}
        self.store_seconds = 0.0
        self.stored = 0

    def vectors(self, listings: Sequence[Listing], start: int) -> np.ndarray:
        """Unit float16 vectors of listings start, start+1, … (deterministic per slice)."""
        import numpy as np

        dim = self.enc.dim
        rng = np.random.default_rng((self.seed, start))
        out = rng.normal(scale=NOISE / dim**0.5, size=(len(listings), dim)).astype(np.float32)
        for j, x in enumerate(listings):
            kw = [self.word_pos[w] for w in x.keywords if w in self.word_pos]
            out[j] += self.topics[self.gen.topic_of(start + j)]
            if kw:
                out[j] += self.words[kw].mean(axis=0)
            out[j] += INDUSTRY_W * self.industry.get(x.industry, 0.0) + REGION_W * self.region.get(x.region, 0.0)
        return _unit(out).astype(np.float16)

    def store(self, s: Any, ids: Sequence[int], listings: Sequence[Listing], start: int) -> None:
        """Write the vectors of freshly inserted listings (ids in the order of `listings`)."""
        from sqlalchemy import insert

        from ..core.semantic.text import embed_text, text_hash
        from ..storage import vectors_repo as vr
        from ..storage.models_vectors import ListingVectorRow

        t0 = time.perf_counter()
        vs = self.vectors(listings, start)
        enc = self.enc
        rows = [{"listing_id": lid, "model": enc.name, "model_version": enc.version, "dim": enc.dim,
                 "text_hash": text_hash(embed_text(x.title, x.keywords, x.description)), "vector": vr.to_bytes(v)}
                for lid, x, v in zip(ids, listings, vs, strict=True)]
        s.execute(insert(ListingVectorRow), rows)
        self.store_seconds += time.perf_counter() - t0
        self.stored += len(rows)


def exact_top(sem: Any, queries: Sequence[tuple[Any, str]], k: int) -> list[list[int]]:
    """The exact top k listing ids (published, of the query's kind) for each (vector, kind), by one
    streaming scan of the stored vectors (little memory: the reference at any size)."""
    import numpy as np

    from ..storage import vectors_repo as vr

    enc = sem.encoder
    kinds = sorted({kd for _, kd in queries})
    q = np.stack([np.asarray(v, dtype=np.float32) for v, _ in queries])
    best_ids = [np.zeros(0, dtype=np.int64) for _ in queries]
    best_sc = [np.zeros(0, dtype=np.float32) for _ in queries]
    with sem.db.transaction(write=False) as s:
        for rows in vr.scan_vectors(s, enc.name, enc.version):
            ids = np.array([r[0] for r in rows if r[2] == "published"], dtype=np.int64)
            kd = np.array([r[1] for r in rows if r[2] == "published"])
            m = np.frombuffer(b"".join(r[4] for r in rows if r[2] == "published"), dtype="<f2").reshape(len(ids), enc.dim)
            scores = m.astype(np.float32) @ q.T
            for kind in kinds:
                mask = kd == kind
                for j, (_, qk) in enumerate(queries):
                    if qk != kind:
                        continue
                    i2 = np.concatenate([best_ids[j], ids[mask]])
                    s2 = np.concatenate([best_sc[j], scores[mask, j]])
                    keep = np.argsort(-s2, kind="stable")[:k]
                    best_ids[j], best_sc[j] = i2[keep], s2[keep]
    return [b.tolist() for b in best_ids]


def ann_recall(sem: Any, queries: Sequence[tuple[Any, str]], k: int = 100) -> float:
    """Mean recall@k of the semantic layer's candidates against the exact scan."""
    truth = exact_top(sem, queries, k)
    got = [[i for i, _ in sem.candidates(v, [kind], k)] for v, kind in queries]
    rs = [len(set(g) & set(t)) / max(1, len(t)) for g, t in zip(got, truth, strict=True) if t]
    return sum(rs) / len(rs) if rs else float("nan")
