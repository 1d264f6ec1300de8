"""Explanation records: every point of a match score is accounted for."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def as_dict(self) -> dict[str, object]:
        return {"term": self.term, "fields": list(self.fields), "points": round(self.points, 2), "via": self.via}


@dataclass
class Explanation:
    text_points: float
    terms: list[TermHit] = field(default_factory=list)
    fit: list[FitItem] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.text_points + sum(f.points for f in self.fit)

    def breakdown(self) -> list[tuple[str, str, float]]:
        """(zh, en, points) rows that add up to `score`."""
        rows = [("文本相关度", "text relevance", self.text_points)]
        rows += [(f.zh, f.en, f.points) for f in self.fit if f.points != 0]
        return rows

    def summary(self, lang: str = "zh", max_terms: int = 6) -> str:
        terms = [t.term for t in self.terms[:max_terms]]
        met = [f for f in self.fit if f.met]
        if lang == "en":
            parts = []
            if terms:
                parts.append("matched terms: " + ", ".join(terms))
            parts += [f.en for f in met]
            return "; ".join(parts)
        parts = []
        if terms:
            parts.append("匹配词：" + "、".join(terms))
        parts += [f.zh for f in met]
        return "；".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 2),
            "text_points": round(self.text_points, 2),
            "terms": [t.as_dict() for t in self.terms],
            "fit": [f.as_dict() for f in self.fit],
        }
