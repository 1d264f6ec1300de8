"""Caching of pure lookups (pure core: no web or database imports)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar, cast

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class Memoized(Protocol[P, R_co]):
    """A cached function: the wrapped function's signature, plus `cache_clear()`."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_clear(self) -> None: ...


def memo(fn: Callable[P, R_co]) -> Memoized[P, R_co]:
    """Cache a pure function of hashable arguments (matching asks the same few codes thousands
    of times); an unhashable argument is computed without the cache. `cache_clear()` empties it."""
    lru = functools.lru_cache(maxsize=8192, typed=True)(fn)
    # lru_cache is typed to take only hashable arguments; an unhashable one raises TypeError below.
    cached = cast(Callable[P, R_co], lru)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R_co:
        try:
            return cached(*args, **kwargs)
        except TypeError:  # an unhashable argument
            return fn(*args, **kwargs)

    wrapper.cache_clear = lru.cache_clear  # type: ignore[attr-defined]  # a plain function is given the attribute
    return cast(Memoized[P, R_co], wrapper)
