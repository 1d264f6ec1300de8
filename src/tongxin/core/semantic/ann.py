"""The approximate block of one kind: an HNSW graph (usearch) over float16 vectors, for kinds
too large to scan exactly within the latency budget (see index.ANN_THRESHOLD).

The vectors live only in the graph (float16: the precision they are stored with), so a large
kind costs ~0.9 KB per listing instead of 1.5 KB of float32 plus a graph. Keys are listing
ids. Same interface as index._Block: put, drop, top, vec, n, total, ids_array.

Parameters (measured in docs/benchmarks.md, "Semantic layer"): connectivity 16, expansion 128
when adding, `ef` (default EF_SEARCH) when searching: recall@100 against the exact scan ≥ 0.9
on clustered e5-like vectors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CONNECTIVITY = 16
EXPANSION_ADD = 128
EF_SEARCH = 192
BUILD_THREADS = 0  # 0: all cores (the build happens once, at start-up or after a model change)


def _new_index(dim: int, ef: int) -> Any:
    from usearch.index import Index

    return Index(ndim=dim, metric="ip", dtype="f16", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
                 expansion_search=ef)


class AnnBlock:
    """The vectors of one large kind, in an HNSW graph (cosine = inner product of unit vectors)."""

    approximate = True

    def __init__(self, dim: int, ef: int = EF_SEARCH, index: Any = None) -> None:
        import numpy as np

        self.dim = dim
        self.ef = ef
        self.index = index if index is not None else _new_index(dim, ef)
        self.index.expansion_search = ef  # not kept in a saved file
        self.total = np.zeros(dim, dtype=np.float64)

    @property
    def n(self) -> int:
        return len(self.index)

    def ids_array(self) -> np.ndarray:
        import numpy as np

        return np.asarray(self.index.keys, dtype=np.int64)

    def add_many(self, ids: np.ndarray, m: np.ndarray, threads: int = BUILD_THREADS) -> None:
        """Bulk add (ids not yet present); `m` float16 or float32 rows of unit length."""
        import numpy as np

        if len(ids) == 0:
            return
        self.index.add(np.asarray(ids, dtype=np.uint64), np.ascontiguousarray(m, dtype=np.float16), threads=threads)
        self.total += np.asarray(m, dtype=np.float64).sum(axis=0)

    def vec(self, lid: int) -> np.ndarray | None:
        import numpy as np

        if lid not in self.index:
            return None
        return np.asarray(self.index.get(lid, dtype=np.float32), dtype=np.float32)

    def vecs(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        import numpy as np

        keys = [i for i in ids if i in self.index]
        if not keys:
            return {}
        got = self.index.get(np.asarray(keys, dtype=np.uint64), dtype=np.float32)
        return {k: np.asarray(v, dtype=np.float32) for k, v in zip(keys, got, strict=True) if v is not None}

    def put(self, lid: int, v: np.ndarray) -> None:
        import numpy as np

        old = self.vec(lid)
        if old is not None:
            self.index.remove(lid)
            self.total -= old
        v16 = np.asarray(v, dtype=np.float16)
        self.index.add(lid, v16)
        self.total += v16.astype(np.float64)

    def drop(self, lid: int) -> bool:
        old = self.vec(lid)
        if old is None:
            return False
        self.index.remove(lid)
        self.total -= old
        return True

    def top(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        if self.n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.ef < k:
            self.index.expansion_search = max(self.ef, k)
        r = self.index.search(np.asarray(q, dtype=np.float32), k, threads=1)
        keys = np.asarray(r.keys, dtype=np.int64)
        scores = (1.0 - np.asarray(r.distances, dtype=np.float32)).astype(np.float32)
        self.index.expansion_search = self.ef
        return keys, scores

    # -- on disk ---------------------------------------------------------------------------
    def save(self, path: str) -> None:
        self.index.save(path)

    @classmethod
    def load(cls, path: str, dim: int, total: np.ndarray, ef: int = EF_SEARCH) -> AnnBlock:
        """A saved graph; raises (ValueError, OSError, RuntimeError) when missing, corrupt or of another shape."""
        from usearch.index import Index

        if not os.path.exists(path):
            raise OSError(f"missing {path}")
        index = Index.restore(path)
        if index is None or index.ndim != dim:
            raise ValueError(f"{path}: not an index of dimension {dim}")
        b = cls(dim, ef, index)
        b.total[:] = total
        return b
