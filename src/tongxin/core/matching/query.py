"""Turning a listing or free text into weighted query terms (pure).

A listing (`listing_query`) becomes its most informative words, weighted by idf.

Free text (`text_query`) is read word by word (precise segmentation). Each query word is
one *group*: the word itself, the sub-words indexed beside it, its character bigrams and
its single characters (the `bigrams` field holds the documents' character n-grams). The
engine scores a group as its best-matching member plus GROUP_TIE times the others (a
disjunction-max), and sums the groups. So a document that lacks a query word but has part
of it ("余辉" for "长余辉", "航道图" for "海图") still earns part of that word's score, while
a document that has the whole word does not earn it three times over (word, sub-words,
n-grams) and crowd out documents that cover more of the query. Members other than the word
itself carry `via` = the word, and explanations show them that way.

Members other than the word itself that are in more than MEMBER_MAX_DF of the documents
(and more than MEMBER_MIN_CUTOFF documents) are left out: their long postings are most of
the engine's work at a million listings, and they tell documents apart least. So is a
bigram that is the word or one of its sub-words (the same characters twice).

Chosen on the dev splits of the CSL benchmark (docs/quality.md): every member weighs 1
except single characters (CHAR_WEIGHT); the engine's BM25 supplies the idf.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..kinds.registry import KindSpec
from ..listing import Listing
from ..text.analyzer import _ASCII_RE, Analyzer

TEXT_FIELD = "text"  # engine field of words (each text field repeated as its kind's TextWeights say)
NGRAM_FIELD = "bigrams"  # engine field of character n-grams (single characters and bigrams)
GROUP_TIE = 0.1  # a group scores max(member) + GROUP_TIE × the other members' scores
CHAR_WEIGHT = 0.4  # boost of a single character against 1.0 for words, sub-words and bigrams
MEMBER_MAX_DF = 0.05  # a sub-word, bigram or character in more than this share of documents is no evidence …
MEMBER_MIN_CUTOFF = 50  # … once that share is more than this many documents (small indexes keep every member)
MAX_GROUPS = 32  # query words kept (the most informative) for long texts


@dataclass(frozen=True)
class QueryTerm:
    """One weighted term of a query, in one engine field. `via` names the query word a
    sub-word or n-gram stands in for; `idf` scales the term's share of explanations."""

    term: str
    weight: float
    field: str = TEXT_FIELD
    via: str | None = None
    idf: float = 1.0

    @property
    def group(self) -> str:
        return self.via or self.term


def index_terms(listing: Listing, spec: KindSpec, analyzer: Analyzer) -> list[str]:
    """The document terms of a listing, each text field repeated as the kind declares
    (`KindSpec.text_weights`, by default title ×3, keywords ×2, body once: a cheap BM25F)."""
    fields = listing.search_text(spec)
    w = spec.text_weights
    title = analyzer.terms(fields["title"])
    kw = analyzer.terms(fields["keywords"])
    body = analyzer.terms(fields["body"])
    return title * w.title + kw * w.keywords + body * w.body


def index_bigrams(listing: Listing, spec: KindSpec, analyzer: Analyzer) -> list[str]:
    """The document's character n-grams (NGRAM_FIELD): title, keywords and body once each."""
    fields = listing.search_text(spec)
    return analyzer.ngrams(fields["title"] + "。" + fields["keywords"] + "。" + fields["body"])


def idf(doc_freq: int, n_docs: int) -> float:
    """BM25 (Lucene) inverse document frequency."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def weigh_terms(
    counts: Counter[str], doc_freq: Callable[[str], int], n_docs: int, max_terms: int
) -> list[QueryTerm]:
    """Keep the `max_terms` most informative terms: tf-saturated count × idf, unknown terms dropped."""
    scored: list[tuple[float, str, float]] = []
    n = max(n_docs, 1)
    log = math.log
    for term, c in counts.items():
        df = doc_freq(term)
        if df == 0:
            continue
        # (c / (c + 1)) × idf(df, n), idf inlined: one call fewer for each of a listing's ~80 terms
        i = log(1.0 + (n - df + 0.5) / (df + 0.5))
        scored.append(((c / (c + 1.0)) * i, term, i))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [QueryTerm(t, round(w, 4), idf=round(i, 4)) for w, t, i in scored[:max_terms]]


def listing_query(listing: Listing, spec: KindSpec, analyzer: Analyzer, doc_freq: Callable[[str], int], n_docs: int,
                  max_terms: int = 32) -> list[QueryTerm]:
    return weigh_terms(Counter(index_terms(listing, spec, analyzer)), doc_freq, n_docs, max_terms)


def word_ngrams(word: str) -> tuple[list[str], list[str]]:
    """(bigrams, single characters) of one query word; an ASCII word is one n-gram."""
    if _ASCII_RE.fullmatch(word):
        return [word], []
    if len(word) == 1:
        return [], [word]
    return [word[i : i + 2] for i in range(len(word) - 1)], list(word)


def text_query(text: str, analyzer: Analyzer, doc_freq: Callable[[str], int], n_docs: int, max_terms: int = MAX_GROUPS,
               ngram_freq: Callable[[str], int] | None = None) -> list[QueryTerm]:
    """Free text typed by a person → grouped query terms (see the module docstring).

    `doc_freq` counts documents per word (TEXT_FIELD), `ngram_freq` per n-gram (NGRAM_FIELD);
    without `ngram_freq` the query has words and sub-words only. Terms no document has are
    dropped, a word with no known member at all too. Every known word counts once, whatever
    its count in the text; long texts keep their `max_terms` most informative words.
    """
    n = max(n_docs, 1)
    member_cutoff = max(MEMBER_MAX_DF * n, MEMBER_MIN_CUTOFF)
    groups: list[tuple[float, int, list[QueryTerm]]] = []
    for pos, word in enumerate(dict.fromkeys(analyzer.words(text))):
        members: list[QueryTerm] = []
        seen: set[tuple[str, str]] = set()

        def add(term: str, field: str, weight: float, df: int) -> None:
            if df <= 0 or (field, term) in seen:  # noqa: B023
                return
            if df > member_cutoff and not (term == word and field == TEXT_FIELD):  # noqa: B023
                return  # common parts cost the engine most (long postings) and separate documents least
            seen.add((field, term))  # noqa: B023
            members.append(QueryTerm(term, weight, field, None if (term == word and field == TEXT_FIELD) else word, round(idf(df, n), 4)))  # noqa: B023

        add(word, TEXT_FIELD, 1.0, doc_freq(word))
        parts = analyzer.parts(word)
        for p in parts:
            add(p, TEXT_FIELD, 1.0, doc_freq(p))
        if ngram_freq is not None:
            bigrams, chars = word_ngrams(word)
            for b in bigrams:
                if b == word or b in parts:
                    continue  # the word or a sub-word already stands for these characters
                add(b, NGRAM_FIELD, 1.0, ngram_freq(b))
            for c in chars:
                if c in analyzer.stop:
                    continue
                add(c, NGRAM_FIELD, CHAR_WEIGHT, ngram_freq(c))
        if members:
            groups.append((max(m.weight * m.idf for m in members), pos, members))
    if len(groups) > max_terms:
        groups = sorted(sorted(groups, key=lambda g: (-g[0], g[1]))[:max_terms], key=lambda g: g[1])
    return [m for _, _, members in groups for m in members]


def query_words(qterms: Sequence[QueryTerm]) -> list[QueryTerm]:
    """One term per query group, for display: the query word, weighted by its group's
    strongest member (weight × idf)."""
    out: dict[str, float] = {}
    for q in qterms:
        out[q.group] = max(out.get(q.group, 0.0), q.weight * q.idf)
    return [QueryTerm(word, round(w, 4)) for word, w in out.items()]


def engine_query(qterms: Sequence[QueryTerm]) -> tuple[list[tuple[str, float]], list[list[tuple[str, str, float]]]]:
    """What the engine searches: plain (term, boost) pairs of the word field when no term
    stands in for another (listing queries), else one (field, term, boost) group per query word."""
    if all(q.via is None and q.field == TEXT_FIELD for q in qterms):
        return [(q.term, q.weight) for q in qterms], []
    groups: dict[str, list[tuple[str, str, float]]] = {}
    for q in qterms:
        groups.setdefault(q.group, []).append((q.field, q.term, q.weight))
    return [], list(groups.values())
