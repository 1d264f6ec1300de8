"""An in-process vector index per kind: exact cosine (a dot product of unit vectors) over a
float32 matrix, top k by argpartition. Incremental: add, replace and remove one vector.

Each kind keeps its own matrix, so candidates are filtered by kind before scoring. Rows are
dense: removing swaps the last row into the hole. Thread-safe (one lock; a scan of 100k
vectors of 384 dimensions takes milliseconds).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class _Block:
    """The vectors of one kind."""

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

    def top(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        if self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.m[: self.n] @ q
        if k < self.n:
            part = np.argpartition(-scores, k - 1)[:k]
            return self.ids[part], scores[part]
        return self.ids[: self.n].copy(), scores


class VectorIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._blocks: dict[str, _Block] = {}
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

    def text_hash(self, lid: int) -> str | None:
        return self._hash_of.get(lid)

    def put(self, lid: int, kind: str, vector: Iterable[float] | np.ndarray, text_hash: str = "") -> None:
        """Add or replace one listing's vector (unit length expected; stored as float32)."""
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

    def remove(self, lid: int) -> bool:
        with self._lock:
            kind = self._kind_of.pop(lid, None)
            self._hash_of.pop(lid, None)
            return kind is not None and self._blocks[kind].drop(lid)

    def get(self, lid: int) -> np.ndarray | None:
        with self._lock:
            kind = self._kind_of.get(lid)
            if kind is None:
                return None
            b = self._blocks[kind]
            row: np.ndarray = b.m[b.pos[lid]].copy()
            return row

    def cosines(self, query: np.ndarray, ids: Iterable[int]) -> dict[int, float]:
        """Cosine of `query` with each indexed listing of `ids` (the others are left out)."""
        import numpy as np

        q = np.asarray(query, dtype=np.float32)
        out: dict[int, float] = {}
        with self._lock:
            for lid in ids:
                kind = self._kind_of.get(lid)
                if kind is not None:
                    b = self._blocks[kind]
                    out[lid] = float(b.m[b.pos[lid]] @ q)
        return out

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
        (ties by listing id)."""
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
