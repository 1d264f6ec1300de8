"""Evidence for a match that meaning carried: the closest sentence of the query and of the match (pure).

A need written in everyday words ("夏天车间太热，工人受不了") may share no word with the lab's
text ("蒸发冷却热环境调控技术"); the match is then explained by meaning alone, and a person
should see why. For the results shown where the meaning part of the relevance is notable
(`meaning_carried`), the evidence is the pair of sentences, one of the query (a free-text query
is one sentence) and one of the match (core.text.sentences.listing_sentences), whose vectors have
the highest cosine (`closest_pair`). It explains; it adds no points, so the score breakdown is
unchanged.

numpy is imported inside `closest_pair` (the core stays cheap to import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .explain import Evidence, Explanation
from .rank import TEXT_MAX

EVIDENCE_TOP = 10  # results shown with evidence at most (the sentence vectors of these are fetched in one query)
MEANING_FLOOR = 0.12  # the meaning part of the relevance (0..1) from which meaning counts as carrying a match
MEANING_SHARE = 0.4  # … and its least share of the relevance (words + meaning)


def meaning_carried(e: Explanation) -> bool:
    """Whether meaning carried the match: its part of the relevance is at least MEANING_FLOOR and
    at least MEANING_SHARE of the relevance (the words' part is the rest)."""
    meaning = e.semantic_points / TEXT_MAX
    total = (e.text_points + e.semantic_points) / TEXT_MAX
    return e.cosine is not None and meaning >= MEANING_FLOOR and meaning >= MEANING_SHARE * total


def closest_pair(query_sentences: Sequence[str], query_vectors: Any, match_sentences: Sequence[str],
                 match_vectors: Any) -> Evidence | None:
    """The pair (query sentence, match sentence) of highest cosine, or None when either side has no
    sentence or the vectors do not fit their sentences. Rows need not be of unit length (stored
    float16 vectors are not exactly); ties go to the earlier sentences."""
    import numpy as np

    a = np.asarray(query_vectors, dtype=np.float32)
    b = np.asarray(match_vectors, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    if (not query_sentences or not match_sentences or a.shape[0] != len(query_sentences) or b.ndim != 2
            or b.shape[0] != len(match_sentences) or a.shape[1] != b.shape[1]):
        return None
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    cos = a @ b.T
    i, j = divmod(int(np.argmax(cos)), cos.shape[1])
    return Evidence(query_sentences[i], match_sentences[j], float(cos[i, j]))
