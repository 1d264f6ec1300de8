"""An in-process vector index per kind. Small kinds: exact cosine (a dot product of unit
vectors) over a float32 matrix, top k by argpartition. Kinds of `ann_threshold` (20k) vectors or
more: an HNSW graph (core.semantic.ann, usearch), approximate, recall@100 ≥ 0.9. Incremental:
add, replace and remove one vector; bulk loads with `put_many` (a large kind's graph is then
built on all cores at once). `save` / `load` keep the index on disk, so a restart does not
rebuild a million vectors.

Each kind keeps its own block, so candidates are filtered by kind before scoring. Exact rows
are dense: removing swaps the last row into the hole. A kind that grows past the threshold
turns approximate and stays so (no flapping around the threshold). Thread-safe (one lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import ann

if TYPE_CHECKING:
    import numpy as np

# From this many vectors a kind is searched approximately. The exact scan is memory-bound (it
# streams 1.5 kB of float32 per vector): measured ~0.45 ms per 1,000 vectors on the shared
# two-core machine (38k: 18 ms p50), against 1–2 ms for the HNSW graph at 20k–100k; 20k keeps
# the exact part of a match at a few ms, and small exchanges exact (docs/benchmarks.md).
ANN_THRESHOLD = 20_000


class _Block:
    """The vectors of one kind, scanned exactly."""

    approximate = False

    def __init__(self, dim: int) -> None:
        import numpy as np

        self.dim = dim
        self.m = np.zeros((64, dim), dtype=np.float32)
        self.ids = np.zeros(64, dtype=np.int64)
        self.n = 0
        self.pos: dict[int, int] = {}
        self.total = np.zeros(dim, dtype=np.float64)  # sum of the rows: the kind's mean vector

    def put(self, lid: int, v: np.ndarray) -> None:
        import numpy as np

        i = self.pos.get(lid)
        if i is None:
            if self.n == self.m.shape[0]:
                cap = self.m.shape[0] * 2
                self.m = np.resize(self.m, (cap, self.dim))
                self.ids = np.resize(self.ids, cap)
            i = self.n
            self.n += 1
            self.pos[lid] = i
            self.ids[i] = lid
        else:
            self.total -= self.m[i]
        self.m[i] = v
        self.total += v

    def drop(self, lid: int) -> bool:
        i = self.pos.pop(lid, None)
        if i is None:
            return False
        self.total -= self.m[i]
        last = self.n - 1
        if i != last:
            moved = int(self.ids[last])
            self.m[i] = self.m[last]
            self.ids[i] = moved
            self.pos[moved] = i
        self.n = last
        return True

    def add_many(self, ids: np.ndarray, m: np.ndarray, threads: int = 0) -> None:
        import numpy as np

        for lid, v in zip(ids.tolist(), np.asarray(m, dtype=np.float32), strict=True):
            self.put(int(lid), v)

    def vec(self, lid: int) -> np.ndarray | None:
        i = self.pos.get(lid)
        return None if i is None else self.m[i].copy()

    def vecs(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        return {lid: self.m[self.pos[lid]] for lid in ids if lid in self.pos}

    def ids_array(self) -> np.ndarray:
        return self.ids[: self.n].copy()

    def top(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        if self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.m[: self.n] @ q
        if k < self.n:
            part = np.argpartition(-scores, k - 1)[:k]
            return self.ids[part], scores[part]
        return self.ids[: self.n].copy(), scores


Block = _Block | ann.AnnBlock


class VectorIndex:
    def __init__(self, dim: int, ann_threshold: int | None = None, ef: int = ann.EF_SEARCH) -> None:
        """`ann_threshold`: vectors of one kind from which it is searched approximately (None:
        ANN_THRESHOLD; 0: never). `ef`: the HNSW search breadth (higher: better recall, slower)."""
        self.dim = dim
        self.ann_threshold = ANN_THRESHOLD if ann_threshold is None else ann_threshold
        self.ef = ef
        self._blocks: dict[str, Block] = {}
        self._kind_of: dict[int, str] = {}
        self._hash_of: dict[int, str] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._kind_of)

    def __contains__(self, lid: object) -> bool:
        return lid in self._kind_of

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {k: b.n for k, b in sorted(self._blocks.items()) if b.n}

    def approximate_kinds(self) -> list[str]:
        with self._lock:
            return sorted(k for k, b in self._blocks.items() if b.approximate)

    def text_hash(self, lid: int) -> str | None:
        return self._hash_of.get(lid)

    def _large(self, n: int) -> bool:
        return self.ann_threshold > 0 and n >= self.ann_threshold

    def _upgrade(self, kind: str) -> None:
        """An exact block that reached the threshold becomes an HNSW graph (built on all cores)."""
        b = self._blocks[kind]
        if b.approximate or not self._large(b.n):
            return
        a = ann.AnnBlock(self.dim, self.ef)
        assert isinstance(b, _Block)
        a.add_many(b.ids[: b.n], b.m[: b.n])
        self._blocks[kind] = a

    def put(self, lid: int, kind: str, vector: Iterable[float] | np.ndarray, text_hash: str = "") -> None:
        """Add or replace one listing's vector (unit length expected)."""
        import numpy as np

        v = np.asarray(vector, dtype=np.float32)
        if v.shape != (self.dim,):
            raise ValueError(f"vector of shape {v.shape}, index dimension {self.dim}")
        with self._lock:
            old = self._kind_of.get(lid)
            if old is not None and old != kind:
                self._blocks[old].drop(lid)
            self._blocks.setdefault(kind, _Block(self.dim)).put(lid, v)
            self._kind_of[lid] = kind
            self._hash_of[lid] = text_hash
            self._upgrade(kind)

    def put_many(self, kind: str, ids: Sequence[int] | np.ndarray, m: np.ndarray, hashes: Sequence[str]) -> None:
        """Bulk load listings of one kind that are not yet indexed (rows of `m`, unit length, float16
        or float32). A kind of `ann_threshold` vectors or more is built as a graph at once."""
        import numpy as np

        ids = np.asarray(ids, dtype=np.int64)
        if m.shape != (len(ids), self.dim) or len(hashes) != len(ids):
            raise ValueError(f"put_many: {len(ids)} ids, {len(hashes)} hashes, vectors of shape {m.shape}")
        with self._lock:
            fresh = [i for i, lid in enumerate(ids.tolist()) if lid not in self._kind_of]
            if len(fresh) != len(ids):
                raise ValueError("put_many: some listings are already indexed (use put)")
            b = self._blocks.get(kind)
            if b is None:
                b = ann.AnnBlock(self.dim, self.ef) if self._large(len(ids)) else _Block(self.dim)
                self._blocks[kind] = b
            b.add_many(ids, m)
            for lid, h in zip(ids.tolist(), hashes, strict=True):
                self._kind_of[lid] = kind
                self._hash_of[lid] = h
            self._upgrade(kind)

    def remove(self, lid: int) -> bool:
        with self._lock:
            kind = self._kind_of.pop(lid, None)
            self._hash_of.pop(lid, None)
            return kind is not None and self._blocks[kind].drop(lid)

    def get(self, lid: int) -> np.ndarray | None:
        with self._lock:
            kind = self._kind_of.get(lid)
            return None if kind is None else self._blocks[kind].vec(lid)

    def cosines(self, query: np.ndarray, ids: Iterable[int]) -> dict[int, float]:
        """Cosine of `query` with each indexed listing of `ids` (the others are left out)."""
        import numpy as np

        q = np.asarray(query, dtype=np.float32)
        by_kind: dict[str, list[int]] = {}
        with self._lock:
            for lid in ids:
                kind = self._kind_of.get(lid)
                if kind is not None:
                    by_kind.setdefault(kind, []).append(lid)
            vs = {lid: v for kind, lids in by_kind.items() for lid, v in self._blocks[kind].vecs(lids).items()}
        return {lid: float(v @ q) for lid, v in vs.items()}

    def mean_cosine(self, query: np.ndarray, kinds: Sequence[str] = ()) -> float:
        """The mean cosine of `query` with the vectors of these kinds (all when empty): `query` · their
        mean vector, not normalised (what an unrelated listing of these kinds scores); 0 when none."""
        import numpy as np

        with self._lock:
            blocks = [b for kind, b in self._blocks.items() if (not kinds or kind in kinds) and b.n]
            if not blocks:
                return 0.0
            total = np.sum([b.total for b in blocks], axis=0)
            n = sum(b.n for b in blocks)
        return float(np.asarray(query, dtype=np.float64) @ total / n)

    def search(self, query: np.ndarray, kinds: Sequence[str] = (), k: int = 100, exclude: Iterable[int] = ()
               ) -> list[tuple[int, float]]:
        """The k listings (of `kinds`; all when empty) with the highest cosine to `query`, best first
        (ties by listing id). Exact for small kinds, approximate (HNSW) for large ones."""
        import numpy as np

        q = np.asarray(query, dtype=np.float32)
        if k <= 0 or q.shape != (self.dim,):
            return []
        skip = set(exclude)
        with self._lock:
            blocks = [b for kind, b in self._blocks.items() if not kinds or kind in kinds]
            parts = [b.top(q, k + len(skip)) for b in blocks]
        if not parts:
            return []
        ids = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        order = np.lexsort((ids, -scores))
        out = [(int(ids[i]), float(scores[i])) for i in order if int(ids[i]) not in skip]
        return out[:k]

    # -- on disk -------------------------------------------------------------------------------
    def save(self, directory: str, meta: dict[str, Any] | None = None) -> str:
        """Write the index under `directory` (a new generation folder, then the pointer file
        `vectors.json` replaced atomically: a reader never sees half a save). Returns the folder."""
        from . import persist

        with self._lock:
            return persist.save(self, directory, meta or {})

    @classmethod
    def load(cls, directory: str, dim: int, ann_threshold: int | None = None, ef: int = ann.EF_SEARCH
             ) -> tuple[VectorIndex, dict[str, Any]] | None:
        """The index saved under `directory` and its meta, or None when there is none, or it is
        unreadable or of another dimension (the caller rebuilds)."""
        from . import persist

        return persist.load(cls(dim, ann_threshold, ef), directory)
