"""Ranking: hard rules first, then text relevance plus structured fit, with explanations.

Given candidates retrieved by the text engine and by meaning (with raw engine scores and
cosines), `rank` drops every candidate that breaks a hard rule (wrong kind pair, not live on
the day, not visible to the viewer, the query itself), then scores the rest:

    score = relevance points (0..TEXT_MAX: words + meaning, absolute, see relevance.py)
            + structured fit points

and explains every point: the words' points are shared among the matched query words in
proportion to their weights (see `term_hits`), the meaning's points are one row, so the
explanation adds up to the score shown. The score never depends on the explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..kinds.registry import HardFn, Pairing, Registry
from ..listing import Listing
from ..text.analyzer import _ASCII_RE, Analyzer, normalise
from .explain import Explanation, FitItem, TermHit
from .fit import MatchContext
from .query import NGRAM_FIELD, QueryTerm
from .relevance import DEFAULT_FUSION, Fusion, lexical_ceiling

TEXT_MAX = 80.0


@dataclass(frozen=True)
class Candidate:
    listing: Listing
    text_score: float  # the engine's BM25 score (0: not among the word hits)
    cosine: float | None = None  # of the query's and the candidate's vectors (None: no vector)


@dataclass(frozen=True)
class Match:
    listing: Listing
    explanation: Explanation

    @property
    def score(self) -> float:
        return self.explanation.score


def allowed_kinds(registry: Registry, query: Listing | None, wanted: str | None) -> tuple[str, ...]:
    if query is not None:
        kinds = registry.counterparts(query.kind)
        return tuple(k for k in kinds if wanted is None or k == wanted)
    return (wanted,) if wanted else tuple(registry.names())


def pairings(registry: Registry, query: Listing | None, kinds: Sequence[str]) -> dict[str, Pairing]:
    """The fit and hard rule for each candidate kind, for a listing query (free text: none).
    Declared once per pair of kinds, on either kind (see Registry.pairing)."""
    if query is None:
        return {}
    return {k: registry.pairing(query.kind, k) for k in kinds}


def passes_hard_rules(
    cand: Listing, query: Listing | None, kinds: Sequence[str], ctx: MatchContext, can_see: Callable[[Listing], bool],
    hard: HardFn | None = None,
) -> bool:
    if cand.kind not in kinds or not cand.is_live(ctx.today) or not can_see(cand):
        return False
    if query is not None and (cand.id == query.id and cand.id is not None):
        return False
    if query is not None and query.owner_id is not None and cand.owner_id == query.owner_id:
        return False  # an organisation's own listings are not its matches
    return not (query is not None and hard is not None and not hard(query, cand, ctx))


class _Fields:
    """One candidate's searchable text, analysed lazily: word terms per field for word terms,
    the normalised text per field for character n-grams."""

    NAMES = ("title", "keywords", "body")

    def __init__(self, cand: Listing, registry: Registry, analyzer: Analyzer) -> None:
        self.raw = cand.search_text(registry.get(cand.kind))
        self.analyzer = analyzer
        self._terms: dict[str, tuple[str, ...]] | None = None
        self._text: dict[str, str] | None = None
        self._all = ""
        self._ascii: dict[str, set[str]] = {}

    def word_fields(self) -> dict[str, tuple[str, ...]]:
        """Each word term of the candidate → the fields that hold it, in NAMES order."""
        if self._terms is None:
            found: dict[str, tuple[str, ...]] = {}
            for n in self.NAMES:
                for t in set(self.analyzer.terms(self.raw[n])):
                    found[t] = found.get(t, ()) + (n,)
            self._terms = found
        return self._terms

    def where(self, qt: QueryTerm) -> tuple[str, ...]:
        """The fields (title, keywords, body) that hold the term."""
        if qt.field != NGRAM_FIELD:
            return self.word_fields().get(qt.term, ())
        if self._text is None:
            self._text = {n: normalise(self.raw[n]) for n in self.NAMES}
            self._all = "\n".join(self._text.values())
        if qt.term not in self._all:  # quick reject: most n-grams are in no field
            return ()
        if qt.term.isascii():  # an ASCII run must match a whole run, not part of a longer one
            if not self._ascii:
                self._ascii = {n: set(_ASCII_RE.findall(t)) for n, t in self._text.items()}
            return tuple(n for n in self.NAMES if qt.term in self._ascii[n])
        return tuple(n for n in self.NAMES if qt.term in self._text[n])


def matched_terms(cand: Listing, registry: Registry, analyzer: Analyzer,
                  qterms: Sequence[QueryTerm]) -> list[tuple[QueryTerm, tuple[str, ...]]]:
    """Every query term found in the candidate, with the fields (title, keywords, body) it is in.

    Word terms are looked up among the analysed terms of each field (`analyzer.terms`);
    character n-grams (NGRAM_FIELD) in the normalised text of each field."""
    f = _Fields(cand, registry, analyzer)
    out = []
    for qt in qterms:
        where = f.where(qt)
        if where:
            out.append((qt, where))
    return out


def _strength(q: QueryTerm) -> float:
    return q.weight * q.idf


def explain_plan(qterms: Sequence[QueryTerm]) -> list[list[QueryTerm]]:
    """The query's groups (a query word with its sub-words and n-grams, or a single term),
    each with its members strongest first (weight × idf)."""
    groups: dict[str, list[QueryTerm]] = {}
    for q in qterms:
        groups.setdefault(q.group, []).append(q)
    return [sorted(g, key=_strength, reverse=True) for g in groups.values()]


def term_hits(text_points: float, cand: Listing, registry: Registry, analyzer: Analyzer,
              plan: Sequence[Sequence[QueryTerm]]) -> list[TermHit]:
    """Share text points among the matched groups in proportion to each group's strongest
    matched member, which is shown (with `via` naming the query word it stands in for)."""
    f = _Fields(cand, registry, analyzer)
    words = f.word_fields()
    best: list[tuple[float, QueryTerm, tuple[str, ...]]] = []
    for members in plan:
        for q in members:
            where = f.where(q) if q.field == NGRAM_FIELD else words.get(q.term, ())
            if where:
                best.append((_strength(q), q, where))
                break
    total = sum(b[0] for b in best)
    return [TermHit(q.term, where, text_points * st / total if total else 0.0, q.via, q.field == NGRAM_FIELD)
            for st, q, where in best]


def worth_reading(
    words: Sequence[Candidate],
    meaning: Sequence[tuple[int, float]],
    qterms: Sequence[QueryTerm],
    registry: Registry,
    ctx: MatchContext,
    can_see: Callable[[Listing], bool],
    query: Listing | None = None,
    wanted_kind: str | None = None,
    limit: int = 10,
    fusion: Fusion = DEFAULT_FUSION,
    ceiling: float | None = None,
    background: float = 0.0,
) -> list[int]:
    """Of the meaning candidates that the words did not find (`meaning`: (id, cosine), not yet
    read), those that could still reach `rank`'s top `limit`: the others need not be read.

    A meaning-only candidate scores at most TEXT_MAX × its meaning part (its word score is 0)
    plus the most its fit can give; the word candidates (read, with their cosines) that pass
    the hard rules score at least TEXT_MAX × their relevance plus the least a fit gives. A
    meaning candidate whose best possible score is below the `limit`-th of those least scores
    cannot be among the results, whatever it turns out to be. When a kind in play declares no
    fit bounds (Pairing.bounds) every candidate is kept."""
    if not meaning:
        return []
    kinds = allowed_kinds(registry, query, wanted_kind)
    pairs = pairings(registry, query, kinds)
    lo = hi = 0.0
    for p in pairs.values():
        if p.fit is None:
            continue
        if p.bounds is None:
            return [i for i, _ in meaning]
        lo, hi = min(lo, p.bounds[0]), max(hi, p.bounds[1])
    if ceiling is None:
        ceiling = lexical_ceiling(qterms)
    least = []
    for c in words:
        hard = pairs[c.listing.kind].hard if c.listing.kind in pairs else None
        if passes_hard_rules(c.listing, query, kinds, ctx, can_see, hard):
            w, m = fusion.fuse(fusion.lexical(c.text_score, ceiling, query is not None), c.cosine, background)
            least.append(TEXT_MAX * (w + m) + lo)
    if len(least) < limit:
        return [i for i, _ in meaning]
    bar = sorted(least, reverse=True)[limit - 1] - 1e-6  # ties go by id: keep what ties
    return [i for i, cos in meaning if TEXT_MAX * fusion.fuse(0.0, cos, background)[1] + hi >= bar]


def rank(
    candidates: Sequence[Candidate],
    qterms: Sequence[QueryTerm],
    registry: Registry,
    analyzer: Analyzer,
    ctx: MatchContext,
    can_see: Callable[[Listing], bool],
    query: Listing | None = None,
    wanted_kind: str | None = None,
    limit: int = 10,
    explainer: Callable[[Sequence[Candidate]], Analyzer] | None = None,
    fusion: Fusion = DEFAULT_FUSION,
    ceiling: float | None = None,
    background: float = 0.0,
    explain: int | None = None,
) -> list[Match]:
    """The top `limit` candidates that pass the hard rules, scored and explained (the first
    `explain` of them when given: a caller that shows 10 of 200 need not explain 190; the others
    carry their scores and breakdown with no term list).

    The score never depends on the explanation, so only the listings returned are explained,
    with `explainer(returned candidates)` when given (e.g. terms stored in the index), else
    with `analyzer`. `ceiling` scales the word evidence (relevance.lexical_ceiling of the
    query terms when None); `background` is the query vector's cosine with the mean vector of
    the kinds it looks for (see relevance.py)."""
    kinds = allowed_kinds(registry, query, wanted_kind)
    pairs = pairings(registry, query, kinds)
    live = [c for c in candidates
            if passes_hard_rules(c.listing, query, kinds, ctx, can_see, pairs[c.listing.kind].hard if c.listing.kind in pairs else None)]
    if not live:
        return []
    if ceiling is None:
        ceiling = lexical_ceiling(qterms)
    scored: list[tuple[float, int, Candidate, float, float, list[FitItem]]] = []
    for c in live:
        words, meaning = fusion.fuse(fusion.lexical(c.text_score, ceiling, query is not None), c.cosine, background)
        fit_fn = pairs[c.listing.kind].fit if c.listing.kind in pairs else None
        fit: list[FitItem] = fit_fn(query, c.listing, ctx) if fit_fn is not None and query is not None else []
        score = TEXT_MAX * (words + meaning) + sum(f.points for f in fit)
        scored.append((score, c.listing.id or 0, c, words, meaning, fit))
    # deterministic: score desc, then id asc
    scored.sort(key=lambda x: (-round(x[0], 9), x[1]))
    top = scored[:limit]
    n_explain = len(top) if explain is None else max(0, explain)
    an = explainer([c for _, _, c, _, _, _ in top[:n_explain]]) if explainer is not None else analyzer
    plan = explain_plan(qterms)
    out = []
    for i, (_, _, c, words, meaning, fit) in enumerate(top):
        text_points = TEXT_MAX * words
        terms = term_hits(text_points, c.listing, registry, an, plan) if i < n_explain else []
        out.append(Match(c.listing, Explanation(text_points=text_points, terms=terms, fit=fit, semantic_points=TEXT_MAX * meaning,
                                                relevance=words + meaning, cosine=c.cosine)))
    return out
