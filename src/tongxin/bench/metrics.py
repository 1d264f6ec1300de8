"""Ranking metrics for BEIR-style evaluation (binary relevance): nDCG@10, MRR@10, Recall@100.

Every function takes one query's ranked document ids and the set of its relevant ids.
Queries without any relevant document are left out of the averages (as in BEIR).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NDCG_K = 10
MRR_K = 10
RECALL_K = 100


def ndcg_at(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int = NDCG_K) -> float:
    """Binary-gain nDCG: Σ 1/log2(rank+1) over relevant documents in the top k, over the ideal."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def mrr_at(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int = MRR_K) -> float:
    """1 / rank of the first relevant document within the top k, else 0."""
    for i, d in enumerate(ranked[:k]):
        if d in relevant:
            return 1.0 / (i + 1)
    return 0.0


def recall_at(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int = RECALL_K) -> float:
    """Share of the relevant documents found in the top k."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


@dataclass(frozen=True)
class QueryScores:
    ndcg10: float
    mrr10: float
    recall100: float
    rank: int | None  # rank (1-based) of the first relevant document in the whole list


def score_query(ranked: Sequence[str], relevant: set[str] | frozenset[str]) -> QueryScores:
    first = next((i + 1 for i, d in enumerate(ranked) if d in relevant), None)
    return QueryScores(ndcg_at(ranked, relevant), mrr_at(ranked, relevant), recall_at(ranked, relevant), first)


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> dict[str, QueryScores]:
    """Per-query scores for every query that has relevant documents (a missing run counts as empty)."""
    return {q: score_query(runs.get(q, ()), rel) for q, rel in qrels.items() if rel}


def mean_scores(per_query: Mapping[str, QueryScores]) -> dict[str, float]:
    n = len(per_query)
    if n == 0:
        return {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@100": 0.0, "hit@5": 0.0}
    return {
        "ndcg@10": sum(s.ndcg10 for s in per_query.values()) / n,
        "mrr@10": sum(s.mrr10 for s in per_query.values()) / n,
        "recall@100": sum(s.recall100 for s in per_query.values()) / n,
        # share of queries with a relevant document in the top 5 (the everyday set's target)
        "hit@5": sum(1 for s in per_query.values() if s.rank is not None and s.rank <= 5) / n,
    }


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value (ties dropped): P(|W - n/2| ≥ observed) under p = 1/2."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired(a: Mapping[str, float], b: Mapping[str, float], eps: float = 1e-9) -> dict[str, float | int]:
    """Per-query paired comparison of a against b: wins, losses, ties, mean difference, sign-test p."""
    keys = [k for k in a if k in b]
    wins = sum(1 for k in keys if a[k] > b[k] + eps)
    losses = sum(1 for k in keys if a[k] < b[k] - eps)
    diff = sum(a[k] - b[k] for k in keys) / len(keys) if keys else 0.0
    return {"queries": len(keys), "wins": wins, "losses": losses, "ties": len(keys) - wins - losses,
            "mean_diff": diff, "sign_test_p": sign_test(wins, losses)}
