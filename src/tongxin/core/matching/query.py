"""Turning a listing or free text into weighted query terms (pure)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from ..kinds.registry import KindSpec
from ..listing import Listing
from ..text.analyzer import Analyzer

TITLE_REPEAT = 3
KEYWORD_REPEAT = 2


@dataclass(frozen=True)
class QueryTerm:
    term: str
    weight: float


def index_terms(listing: Listing, spec: KindSpec, analyzer: Analyzer) -> list[str]:
    """The document terms of a listing: title ×3, keywords ×2, body once (a cheap BM25F)."""
    fields = listing.search_text(spec)
    title = analyzer.terms(fields["title"])
    kw = analyzer.terms(fields["keywords"])
    body = analyzer.terms(fields["body"])
    return title * TITLE_REPEAT + kw * KEYWORD_REPEAT + body


def index_bigrams(listing: Listing, spec: KindSpec, analyzer: Analyzer) -> list[str]:
    fields = listing.search_text(spec)
    return analyzer.bigrams(fields["title"] + "。" + fields["keywords"] + "。" + fields["body"])


def idf(doc_freq: int, n_docs: int) -> float:
    """BM25 (Lucene) inverse document frequency."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def weigh_terms(
    counts: Counter[str], doc_freq: Callable[[str], int], n_docs: int, max_terms: int
) -> list[QueryTerm]:
    """Keep the `max_terms` most informative terms: tf-saturated count × idf, unknown terms dropped."""
    scored: list[tuple[float, str]] = []
    for term, c in counts.items():
        df = doc_freq(term)
        if df == 0:
            continue
        w = (c / (c + 1.0)) * idf(df, max(n_docs, 1))
        scored.append((w, term))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [QueryTerm(t, round(w, 4)) for w, t in scored[:max_terms]]


def listing_query(listing: Listing, spec: KindSpec, analyzer: Analyzer, doc_freq: Callable[[str], int], n_docs: int, max_terms: int = 32) -> list[QueryTerm]:
    return weigh_terms(Counter(index_terms(listing, spec, analyzer)), doc_freq, n_docs, max_terms)


def text_query(text: str, analyzer: Analyzer, doc_freq: Callable[[str], int], n_docs: int, max_terms: int = 32) -> list[QueryTerm]:
    counts = Counter(analyzer.terms(text))
    # free text is typed by a person: every known term counts, once
    return weigh_terms(Counter({t: 1 for t in counts}), doc_freq, n_docs, max_terms)
