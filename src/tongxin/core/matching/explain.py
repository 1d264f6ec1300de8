"""Explanation records: every point of a match score is accounted for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .relevance import Band, band


@dataclass(frozen=True)
class FitItem:
    """One structured condition: met (True), missed (False) or informational (None)."""

    key: str
    zh: str
    en: str
    met: bool | None
    points: float

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "zh": self.zh, "en": self.en, "met": self.met, "points": round(self.points, 2)}


@dataclass(frozen=True)
class TermHit:
    """A query term found in the candidate; `via` names the original term when this one is related."""

    term: str
    fields: tuple[str, ...]
    points: float
    via: str | None = None
    partial: bool = False  # a character n-gram of a query word, not a word of its own

    def as_dict(self) -> dict[str, object]:
        return {"term": self.term, "fields": list(self.fields), "points": round(self.points, 2), "via": self.via,
                "partial": self.partial}


# Words that say nothing about what a listing is about: organisation boilerplate.
BOILERPLATE = frozenset({
    "有限公司", "有限责任公司", "股份有限公司", "公司", "集团", "中心", "有限", "责任", "股份", "科技", "技术", "研究院",
    "研究所", "大学", "学院", "单位", "机构", "部门", "项目", "平台", "服务", "产品", "企业", "我们", "需求", "问题",
})
_UNIT_OR_NUMBER = re.compile(r"^(?:[0-9.,%]+|[0-9.]*(?:mm|cm|km|m|kg|g|t|kw|kwh|mw|w|v|kv|hz|khz|mhz|ghz|nm|um|μm|ml|l|pa|mpa|kpa|h|s|db|ppm|rmb|cny)[0-9]*)$",
                            re.IGNORECASE)


def is_chip(term: str, partial: bool = False, via: str | None = None) -> bool:
    """Whether a matched term is worth showing to a person as a reason: a whole word of two or
    more characters (a single character or an n-gram fragment is not), not organisation
    boilerplate, not a bare number or unit. A sub-word standing in for a longer query word
    counts only when it begins or ends that word ("列车" of "列车控制系统", not "白质" of
    "蛋白质组")."""
    t = term.strip()
    if partial or len(t) < 2 or t in BOILERPLATE:
        return False
    if via and via != t and not (via.startswith(t) or via.endswith(t)):
        return False
    return not _UNIT_OR_NUMBER.match(t)


def chip_terms(terms: list[TermHit], limit: int = 8) -> list[str]:
    """The reasons shown as chips: whole meaningful words, strongest first, no duplicates,
    and no word that is part of a longer word already shown."""
    out: list[str] = []
    for th in sorted(terms, key=lambda x: -x.points):
        if not is_chip(th.term, th.partial, th.via) or any(th.term in o for o in out):
            continue
        out = [o for o in out if o not in th.term]
        out.append(th.term)
        if len(out) == limit:
            break
    return out


@dataclass(frozen=True)
class Evidence:
    """The closest sentence of the need (the query) and of the match, when meaning carried the
    match (core.matching.evidence): 『…车间太热…』↔『…蒸发冷却降温…』. It explains, it adds no points."""

    query_sentence: str
    match_sentence: str
    cosine: float  # of the two sentences' vectors

    def as_dict(self) -> dict[str, object]:
        return {"query_sentence": self.query_sentence, "match_sentence": self.match_sentence, "cosine": round(self.cosine, 4)}


@dataclass
class Explanation:
    text_points: float  # the words' part of the relevance points
    terms: list[TermHit] = field(default_factory=list)
    fit: list[FitItem] = field(default_factory=list)
    semantic_points: float = 0.0  # the meaning's part of the relevance points
    relevance: float = 0.0  # words and meaning fused, absolute, in [0, 1] (see relevance.py)
    cosine: float | None = None  # of the two texts' vectors (None: no vector, or semantic matching off)
    evidence: Evidence | None = None

    @property
    def score(self) -> float:
        return self.text_points + self.semantic_points + sum(f.points for f in self.fit)

    @property
    def band(self) -> Band | None:
        return band(self.relevance)

    @property
    def chips(self) -> list[str]:
        return chip_terms(self.terms)

    def breakdown(self) -> list[tuple[str, str, float]]:
        """(zh, en, points) rows that add up to `score`."""
        rows = [("词语相关度", "shared words", self.text_points)]
        if self.semantic_points:
            rows.append(("语义相近", "similar meaning", self.semantic_points))
        rows += [(f.zh, f.en, f.points) for f in self.fit if f.points != 0]
        return rows

    def summary(self, lang: str = "zh", max_terms: int = 6) -> str:
        terms = self.chips[:max_terms]
        met = [f for f in self.fit if f.met]
        ev = self.evidence
        if lang == "en":
            parts = []
            if terms:
                parts.append("matched terms: " + ", ".join(terms))
            if ev is not None:
                parts.append(f"similar meaning: “{ev.query_sentence}” ↔ “{ev.match_sentence}”")
            elif self.semantic_points > self.text_points:
                parts.append("similar meaning (different words)")
            parts += [f.en for f in met]
            return "; ".join(parts)
        parts = []
        if terms:
            parts.append("匹配词：" + "、".join(terms))
        if ev is not None:
            parts.append(f"语义相近：『{ev.query_sentence}』↔『{ev.match_sentence}』")
        elif self.semantic_points > self.text_points:
            parts.append("语义相近（词语不同，意思接近）")
        parts += [f.zh for f in met]
        return "；".join(parts)

    def as_dict(self) -> dict[str, object]:
        b = self.band
        return {
            "score": round(self.score, 2),
            "relevance": round(self.relevance, 4),
            "band": b.key if b else None,
            "band_zh": b.zh if b else None,
            "text_points": round(self.text_points, 2),
            "semantic_points": round(self.semantic_points, 2),
            "cosine": None if self.cosine is None else round(self.cosine, 4),
            "evidence": self.evidence.as_dict() if self.evidence else None,
            "chips": self.chips,
            "terms": [t.as_dict() for t in self.terms],
            "fit": [f.as_dict() for f in self.fit],
        }
