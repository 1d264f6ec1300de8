"""How relevant a candidate is, on an absolute scale: words and meaning fused (pure).

A match's relevance is a number in [0, 1] that says how good the match is, not how it
compares with the best candidate of the same query, so an irrelevant best hit stays low:

- **Words** (`lexical`): the engine's BM25 score over the score a document would get for
  holding every query word about once (`lexical_ceiling`), scaled so that what a very good
  match scores on the dev sets is 1 (`Fusion.text_full` for free text, `listing_full` for a
  listing's query, which holds up to 32 weighted words that no counterpart shares all of),
  then bent smoothly below 1 above `KNEE` (`saturate`: strictly increasing, so the order of
  word-only results stays the engine's). Sharing only generic, low-idf words ("系统",
  "车间") stays low.
- **Meaning** (`semantic`): the cosine of the two texts' sentence vectors *above the query's
  background*, the cosine of the query with the mean vector of the kind it looks for (e5's
  vectors share a common direction, so any two Chinese texts score about 0.8; what an
  unrelated listing scores is the background). Rescaled so that the background
  (`Fusion.cos_floor` above it) is 0 and `Fusion.cos_full` above it (a close paraphrase) is 1.

The two are fused as independent evidence, a soft OR (`Fusion.fuse`):

    relevance = 1 − (1 − a·words)(1 − b·meaning)

so either kind of evidence alone can make a strong match (a need written in everyday words
shares almost no word with the lab's text, yet its meaning is close), and both together make a
stronger one. The overlap term is shared between the two parts in proportion, so the score
breakdown (words part + meaning part + structured fit) still adds up. When a candidate has no
vector yet (it was just published) or semantic matching is off, its relevance is a·words.

Bands (`band`) turn relevance into what a person reads: 强匹配 / 可能相关 / 弱相关. The
thresholds are published (docs/quality.md) and alerts use them. They were chosen on the dev
halves of the benchmark sets only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .query import QueryTerm

# A BM25 term scores about weight × idf for one occurrence in a document of average length;
# a title holds it three times (TITLE_REPEAT), which BM25 saturates to about 1.5×.
LEXICAL_SATURATION = 1.5
KNEE = 0.8  # word evidence is linear below this and approaches 1 smoothly above it


def saturate(x: float) -> float:
    """x below KNEE; above it, KNEE + (1 - KNEE)(1 - e^-(x - KNEE)/(1 - KNEE)): strictly
    increasing where scores live (up to a few times a very good match), slope 1 at the knee,
    never above 1."""
    if x <= KNEE:
        return max(x, 0.0)
    room = 1.0 - KNEE
    return KNEE + room * -math.expm1(-(x - KNEE) / room)


def lexical_ceiling(qterms: Sequence[QueryTerm], unknown_words: int = 0, n_docs: int = 0) -> float:
    """About what a document holding each query word (group) once in its title would score.

    A word counts with its own idf, even where the engine can only match its parts: when no
    document holds "蛋白质组" itself, the query still asked for it, and a document that only
    shares the part "蛋白" has not answered it (the word counts as the rarest word would).
    Words of the query that no document holds at all (`unknown_words`, left out of the query
    terms) count the same way: asking for "食堂" and "系统" where nothing mentions a canteen is
    not answered well by a document about some "系统"."""
    rarest = math.log(1.0 + (max(n_docs, 1) + 0.5) / 0.5)
    best: dict[str, float] = {}
    whole: set[str] = set()
    for q in qterms:
        s = q.weight * q.idf
        if s > best.get(q.group, 0.0):
            best[q.group] = s
        if q.via is None:
            whole.add(q.group)
    total = sum(v if g in whole else max(v, rarest) for g, v in best.items())
    return LEXICAL_SATURATION * (total + unknown_words * rarest)


@dataclass(frozen=True)
class Fusion:
    """Fusion of word and meaning evidence (chosen on dev data; see docs/quality.md)."""

    cos_floor: float = 0.0  # cosine above the background at which meaning starts to count
    cos_full: float = 0.12  # cosine above the background of a close paraphrase: meaning 1
    text_full: float = 2.0  # free text: score / ceiling of a very good match
    listing_full: float = 0.75  # a listing's query: score / ceiling of a very good match
    words_weight: float = 0.8  # a: the most that word evidence alone gives
    meaning_weight: float = 0.8  # b: the most that meaning alone gives

    def semantic(self, cosine: float, background: float = 0.0) -> float:
        x = (cosine - background - self.cos_floor) / (self.cos_full - self.cos_floor)
        return min(max(x, 0.0), 1.0)

    def lexical(self, text_score: float, ceiling: float, listing: bool = False) -> float:
        if ceiling <= 0 or text_score <= 0:
            return 0.0
        return saturate(text_score / (ceiling * (self.listing_full if listing else self.text_full)))

    def fuse(self, lexical: float, cosine: float | None, background: float = 0.0) -> tuple[float, float]:
        """(word part, meaning part) of the relevance; they add up to it, in [0, 1]."""
        w = self.words_weight * lexical
        if cosine is None:
            return w, 0.0
        m = self.meaning_weight * self.semantic(cosine, background)
        # 1 − (1 − w)(1 − m) = w + m − w·m: the overlap w·m comes off each part by half
        return w * (1.0 - m / 2.0), m * (1.0 - w / 2.0)


DEFAULT_FUSION = Fusion()


@dataclass(frozen=True)
class Band:
    key: str
    zh: str
    en: str
    floor: float  # lowest relevance of the band


# Strongest first.
BANDS = (
    Band("strong", "强匹配", "strong match", 0.45),
    Band("possible", "可能相关", "possibly related", 0.35),
    Band("weak", "弱相关", "weakly related", 0.25),
)
SHOW_FLOOR = 0.2  # below this a candidate is not shown at all (the page says nothing good was found)


def band(relevance: float) -> Band | None:
    """The band of a relevance in [0, 1]; None below the weakest band."""
    for b in BANDS:
        if relevance >= b.floor:
            return b
    return None
