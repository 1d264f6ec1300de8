"""Evidence on the results shown: the closest sentences of the query and of each match that meaning
carried (core.matching.evidence), from the stored sentence vectors.

Bounded: only the first `top` results (EVIDENCE_TOP) are looked at, only those that meaning
carried get evidence, and their sentence vectors (with the query listing's) come in one query.
Degrades, never fails: no sentence vectors yet (the worker computes them after the listing
vectors), vectors of sentences that no longer match the listing's text (it changed and is
queued again), or semantic matching off — no evidence, the match is shown as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..core.listing import Listing
from ..core.matching.evidence import EVIDENCE_TOP, closest_pair, meaning_carried
from ..core.matching.explain import Evidence
from ..core.matching.rank import Match
from ..core.semantic.text import listing_sentence_list
from .hybrid import SemanticSource


def with_evidence(semantic: SemanticSource, matches: Sequence[Match], query: Listing | str, top: int = EVIDENCE_TOP) -> list[Match]:
    """The same matches in the same order; those among the first `top` that meaning carried
    hold their evidence (Explanation.evidence) when both sides have current sentence vectors.
    `query`: the listing matched from, or the free text searched (itself the query's one sentence)."""
    out = list(matches)
    chosen = [i for i, m in enumerate(out[:top]) if m.listing.id is not None and meaning_carried(m.explanation)]
    if not chosen or not semantic.enabled:
        return out
    ids = [int(out[i].listing.id or 0) for i in chosen]
    if isinstance(query, str):
        text = " ".join(query.split())
        qvec = semantic.encode_query(text) if text else None
        if qvec is None:
            return out
        got = semantic.sentence_vectors(ids)
        q_sents, q_vecs = [text], qvec
    else:
        if query.id is None:
            return out
        got = semantic.sentence_vectors([*ids, int(query.id)])
        q = _current(got.get(int(query.id)), query)
        if q is None:
            return out
        q_sents, q_vecs = q
    for i in chosen:
        m = out[i]
        cand = _current(got.get(int(m.listing.id or 0)), m.listing)
        ev: Evidence | None = closest_pair(q_sents, q_vecs, *cand) if cand is not None else None
        if ev is not None:
            out[i] = dataclasses.replace(m, explanation=dataclasses.replace(m.explanation, evidence=ev))
    return out


def _current(stored: tuple[list[str], object] | None, listing: Listing) -> tuple[list[str], object] | None:
    """Stored sentences that are still the listing's (as shown): a changed text waits for its new vectors."""
    if stored is None or stored[0] != listing_sentence_list(listing):
        return None
    return stored
