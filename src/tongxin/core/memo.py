"""Caching of pure lookups (pure core: no web or database imports)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def memo(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Cache a pure function of hashable arguments (matching asks the same few codes thousands
    of times); an unhashable argument is computed without the cache. `cache_clear()` empties it."""
    cached = functools.lru_cache(maxsize=8192, typed=True)(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return cached(*args, **kwargs)
        except TypeError:  # an unhashable argument
            return fn(*args, **kwargs)

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper
