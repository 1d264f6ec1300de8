"""Application services: the core, storage and the search engine put together."""

from .exchange import Exchange

__all__ = ["Exchange"]
