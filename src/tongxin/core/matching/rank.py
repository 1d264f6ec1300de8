"""Ranking: hard rules first, then text relevance plus structured fit, with explanations.

Given candidates retrieved by a text engine (with raw engine scores), `rank` drops every
candidate that breaks a hard rule (wrong kind pair, not live on the day, not visible to the
viewer, the query itself), then scores the rest:

    score = text points (0..TEXT_MAX, relative to the best text score) + structured fit points

and explains every point: text points are shared among the matched query terms in
proportion to their weights, so the explanation adds up to the score shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..kinds.registry import Registry
from ..listing import Listing
from ..text.analyzer import Analyzer
from .explain import Explanation, TermHit
from .fit import MatchContext
from .query import QueryTerm

TEXT_MAX = 80.0


@dataclass(frozen=True)
class Candidate:
    listing: Listing
    text_score: float


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


def passes_hard_rules(
    cand: Listing, query: Listing | None, kinds: Sequence[str], ctx: MatchContext, can_see: Callable[[Listing], bool]
) -> bool:
    if cand.kind not in kinds or not cand.is_live(ctx.today) or not can_see(cand):
        return False
    if query is not None and (cand.id == query.id and cand.id is not None):
        return False
    return True


def matched_terms(cand: Listing, registry: Registry, analyzer: Analyzer, qterms: Sequence[QueryTerm]) -> list[tuple[QueryTerm, tuple[str, ...]]]:
    spec = registry.get(cand.kind)
    fields = cand.search_text(spec)
    present = {name: set(analyzer.terms(text)) for name, text in fields.items()}
    out = []
    for qt in qterms:
        where = tuple(name for name in ("title", "keywords", "body") if qt.term in present[name])
        if where:
            out.append((qt, where))
    return out


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
) -> list[Match]:
    kinds = allowed_kinds(registry, query, wanted_kind)
    live = [c for c in candidates if passes_hard_rules(c.listing, query, kinds, ctx, can_see)]
    if not live:
        return []
    best = max(c.text_score for c in live) or 1.0
    scored: list[tuple[float, int, Match]] = []
    for c in live:
        text_points = TEXT_MAX * max(c.text_score, 0.0) / best
        hits = matched_terms(c.listing, registry, analyzer, qterms)
        total_w = sum(q.weight for q, _ in hits)
        terms = [
            TermHit(q.term, where, text_points * q.weight / total_w if total_w else 0.0)
            for q, where in hits
        ]
        if not terms:
            text_points = 0.0 if total_w == 0 and c.text_score <= 0 else text_points
        fit = []
        if query is not None:
            spec = registry.get(query.kind)
            if spec.fit is not None:
                fit = spec.fit(query, c.listing, ctx)
        expl = Explanation(text_points=text_points, terms=terms, fit=fit)
        scored.append((expl.score, c.listing.id or 0, Match(c.listing, expl)))
    # deterministic: score desc, then id asc
    scored.sort(key=lambda x: (-round(x[0], 9), x[1]))
    return [m for _, _, m in scored[:limit]]
