"""Data model of the demo topic catalogue.

A *domain* (轨道交通, 智能制造, ...) holds *topics* (sub-topics).  Every topic carries its
own vocabulary so that generated technologies and scenarios of the same topic share
distinctive words, while sibling topics share few.

Catalogue entries are written compactly: list-valued fields are one string with items
separated by ``|``.  Metrics are written ``指标名<lo~hi单位`` (lower is better) or
``指标名>lo~hi单位`` (higher is better).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_METRIC = re.compile(r"^(?P<name>.+?)(?P<cmp>[<>])(?P<lo>\d+(?:\.\d+)?)~(?P<hi>\d+(?:\.\d+)?)(?P<unit>.*)$")


@dataclass(frozen=True)
class Metric:
    name: str
    lower_is_better: bool
    lo: float
    hi: float
    decimals: int
    unit: str

    def value(self, rng) -> float:
        if self.decimals == 0:
            v = rng.randint(int(self.lo), int(self.hi))
            if self.hi >= 1000:  # two significant digits, like real data sheets
                step = 10 ** (len(str(v)) - 2)
                v = max(int(self.lo), round(v / step) * step)
            return float(v)
        return round(rng.uniform(self.lo, self.hi), self.decimals)

    def fmt(self, v: float) -> str:
        return f"{v:.{self.decimals}f}" if self.decimals else str(int(round(v)))

    def relaxed(self, v: float, rng) -> float:
        """A requirement that the value ``v`` satisfies (a looser threshold)."""
        span = (self.hi - self.lo) or abs(self.hi) or 1.0
        slack = span * rng.choice((0.0, 0.1, 0.2, 0.3))
        r = v + slack if self.lower_is_better else v - slack
        r = round(r, self.decimals) if self.decimals else float(int(r + 0.5) if self.lower_is_better else int(r))
        # keep the requirement inside the catalogue's plausible range
        return min(r, self.hi) if self.lower_is_better else max(r, self.lo)


def parse_metric(text: str) -> Metric:
    m = _METRIC.match(text.strip())
    if not m:
        raise ValueError(f"bad metric: {text!r}")
    lo_s, hi_s = m["lo"], m["hi"]
    dec = max(len(s.split(".")[1]) if "." in s else 0 for s in (lo_s, hi_s))
    return Metric(m["name"], m["cmp"] == "<", float(lo_s), float(hi_s), dec, m["unit"])


def _split(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split("|") if x.strip())


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    industry: str
    products: tuple[str, ...]
    terms: tuple[str, ...]
    uses: tuple[str, ...]
    pains: tuple[str, ...]
    metrics: tuple[Metric, ...]

    @property
    def domain(self) -> str:
        return self.key.split(".")[0]


def T(key: str, name: str, industry: str, *, products: str, terms: str, uses: str,
      pains: str, metrics: str) -> Topic:
    t = Topic(key, name, industry, _split(products), _split(terms), _split(uses),
              _split(pains), tuple(parse_metric(x) for x in _split(metrics)))
    if len(t.products) < 3 or len(t.terms) < 8 or len(t.uses) < 3 or len(t.pains) < 3 or len(t.metrics) < 3:
        raise ValueError(f"topic {key} is too thin")
    return t


@dataclass(frozen=True)
class Domain:
    key: str
    name: str
    org_words: tuple[str, ...]        # words used in generated enterprise names
    regions: tuple[str, ...]          # region codes where the industry clusters
    scale: float                      # budget / price scale factor
    topics: tuple[Topic, ...] = field(default_factory=tuple)


def D(key: str, name: str, org_words: str, regions: str, scale: float, topics: list[Topic]) -> Domain:
    for t in topics:
        if t.domain != key:
            raise ValueError(f"topic {t.key} is not in domain {key}")
    return Domain(key, name, _split(org_words), tuple(regions.split()), scale, tuple(topics))
