"""The search engine adapter (tantivy). Knows documents and terms, not listings or SQL."""

from .engine import IndexDoc, SearchEngine, SearchHit

__all__ = ["IndexDoc", "SearchEngine", "SearchHit"]
