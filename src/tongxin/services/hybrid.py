"""What the match path needs from semantic retrieval, and how word and meaning candidates meet.

`Exchange.search` and `Exchange.match` retrieve candidates twice: by words (the tantivy
engine, BM25) and by meaning (nearest stored vectors). Neither list contains the other: for
many everyday-worded needs the word list never holds the answer, and the meaning list misses
exact part numbers and names. The union is ranked once (core.matching.rank) with both kinds
of evidence for every candidate: a word hit gets its cosine from the stored vectors, a
meaning hit that the engine did not return gets a word score of 0.

`SemanticSource` is the interface the match path uses; `services.semantic.Semantic`
implements it over the vector store. `NoSemantic` is the fallback (semantic matching off, or
no encoder): matching is then lexical, exactly as before vectors existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

SEMANTIC_DEPTH = 50  # meaning candidates fetched per search or match (plus what hard rules drop)


class SemanticSource(Protocol):
    @property
    def enabled(self) -> bool: ...

    def encode_query(self, text: str) -> Any | None:
        """The unit vector of free text as a query (None when semantic matching is off)."""

    def vector_of(self, listing_id: int) -> Any | None:
        """The stored unit vector of a listing (None when it has none yet)."""

    def candidates(self, vector: Any, kinds: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The `k` listings of these kinds whose vectors are nearest, as (id, cosine), best first."""

    def cosines(self, vector: Any, listing_ids: Sequence[int]) -> dict[int, float]:
        """Cosine of `vector` with each listing's stored vector (listings without one are left out)."""

    def background(self, vector: Any, kinds: Sequence[str]) -> float:
        """Cosine of `vector` with the mean stored vector of these kinds: what an unrelated listing scores."""

    def sentence_vectors(self, listing_ids: Sequence[int]) -> dict[int, tuple[list[str], Any]]:
        """listing id → (its sentences, their unit vectors as rows), in one query; listings without
        them are left out (evidence: services.evidence)."""


class NoSemantic:
    """Semantic matching off: no query vectors, no candidates."""

    enabled = False

    def encode_query(self, text: str) -> Any | None:
        return None

    def vector_of(self, listing_id: int) -> Any | None:
        return None

    def candidates(self, vector: Any, kinds: Sequence[str], k: int) -> list[tuple[int, float]]:
        return []

    def cosines(self, vector: Any, listing_ids: Sequence[int]) -> dict[int, float]:
        return {}

    def background(self, vector: Any, kinds: Sequence[str]) -> float:
        return 0.0

    def sentence_vectors(self, listing_ids: Sequence[int]) -> dict[int, tuple[list[str], Any]]:
        return {}
