"""Answers to popular reads kept per process: a bounded LRU of rendered search and match answers.

What may be cached, and under which key, is decided here and in `core.access.cache_class`:

- only viewers whose answers depend on nothing but the listings themselves: anonymous visitors
  (class "public"). Members, staff and API tokens see what their organisation owns or was
  granted, so their answers are never cached;
- the key holds everything the answer depends on: the request (query, filters, limit, corridor
  preference), the day (expiry), the viewer class, and the **watermark** of what the process
  ranks from (`Exchange.watermark`: the last change-log id the search index reflects, the
  analyzer's dictionary generation and the vector index's version). A publish, edit, withdraw,
  hide or expiry moves the change log, so an answer is never older than the index it would be
  computed from; other workers see the change when their index does (the existing freshness);
- `max_age` seconds bound what the change log does not carry (an organisation's new name, a
  certification licence suspended, sentence vectors landing for the evidence).

The value is whatever the caller keeps (web/answer_cache keeps the API's whole answer: status, headers, body).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SIZE = 2048  # answers kept per process (TONGXIN_RESULT_CACHE)
DEFAULT_MAX_AGE = 120.0  # seconds an answer is reused at most (TONGXIN_RESULT_CACHE_SECONDS)


class ResultCache:
    """A thread-safe LRU of rendered answers with a maximum age. `size` 0 turns it off."""

    def __init__(self, size: int = DEFAULT_SIZE, max_age: float = DEFAULT_MAX_AGE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size = max(0, size)
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        if self.size == 0:
            return None
        now = self._clock()
        with self._lock:
            got = self._items.get(key)
            if got is None or now - got[0] > self.max_age:
                if got is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return got[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get_or_compute(self, key: Hashable | None, compute: Callable[[], T]) -> T:
        """The cached answer for `key`, else `compute()` (cached under `key`; never when key is None).
        Two threads missing the same key both compute it: the answers are equal."""
        if key is None:
            return compute()
        got = self.get(key)
        if got is not None:
            return got  # stored by this same call site's compute
        value = compute()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def from_settings() -> ResultCache:
    """The cache sized by TONGXIN_RESULT_CACHE (answers; 0: off) and TONGXIN_RESULT_CACHE_SECONDS."""
    from ..settings import setting

    try:
        size = int(setting("TONGXIN_RESULT_CACHE"))
    except ValueError:
        size = DEFAULT_SIZE
    try:
        age = float(setting("TONGXIN_RESULT_CACHE_SECONDS"))
    except ValueError:
        age = DEFAULT_MAX_AGE
    return ResultCache(size if 0 <= size <= 1_000_000 else DEFAULT_SIZE, age if 0 <= age <= 86_400 else DEFAULT_MAX_AGE)
