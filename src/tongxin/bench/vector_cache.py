"""An encoder that remembers what it embedded, for benchmarks that run the same texts again.

`CachedEncoder(inner, path)` is an `Encoder` (same name, version and dimension as `inner`):
each text's vector is looked up in a SQLite file by sha1(name | version | query-or-passage |
text) and embedded by `inner` only when missing. The product never uses it: the vector store
(listing_vectors) already keeps every listing's vector; a benchmark builds a fresh database
per run, so without a cache each run would embed its corpus again (about 0.1–0.4 s per
abstract on one core).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from ..core.semantic import Encoder


class CachedEncoder:
    def __init__(self, inner: Encoder, path: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.dim = inner.dim
        self.path = path
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, kind: str, text: str) -> str:
        return hashlib.sha1(f"{self.name}|{self.version}|{kind}|{text}".encode()).hexdigest()

    def _get(self, keys: Sequence[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = list(keys[i : i + 500])
                marks = ",".join("?" * len(part))
                q = f"SELECT k, vec FROM v WHERE k IN ({marks})"
                out.update(dict(self._db.execute(q, part).fetchall()))
        return out

    def _put(self, items: Sequence[tuple[str, bytes]]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", items)
            self._db.commit()

    def _encode(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        keys = [self.key(kind, t) for t in texts]
        found = self._get(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if todo:
            if kind == "q":
                new = np.stack([self.inner.encode_query(texts[i]) for i in todo])
            else:
                new = self.inner.encode_passages([texts[i] for i in todo])
            self._put([(keys[i], new[j].astype(np.float16).tobytes()) for j, i in enumerate(todo)])
            for j, i in enumerate(todo):
                out[i] = new[j]
        for i, k in enumerate(keys):
            if k in found:
                out[i] = np.frombuffer(found[k], dtype=np.float16).astype(np.float32)
        n = np.linalg.norm(out, axis=1, keepdims=True)
        n[n == 0] = 1.0
        return out / n

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("p", texts)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode("q", [text])[0]
