"""The demo topic catalogue: 12 domains of the Beijing–Tianjin–Hebei economy, each with
8–9 sub-topics carrying their own vocabulary."""

from __future__ import annotations

from .content_a import DOMAINS_A
from .content_b import DOMAINS_B
from .content_c import DOMAINS_C
from .topic import Domain, Metric, Topic

DOMAINS: tuple[Domain, ...] = tuple(DOMAINS_A + DOMAINS_B + DOMAINS_C)
DOMAIN_BY_KEY: dict[str, Domain] = {d.key: d for d in DOMAINS}
TOPICS: tuple[Topic, ...] = tuple(t for d in DOMAINS for t in d.topics)
TOPIC_BY_KEY: dict[str, Topic] = {t.key: t for t in TOPICS}

if len(TOPIC_BY_KEY) != len(TOPICS):  # pragma: no cover - catalogue sanity
    raise RuntimeError("duplicate topic key")

__all__ = ["DOMAINS", "DOMAIN_BY_KEY", "TOPICS", "TOPIC_BY_KEY", "Domain", "Metric", "Topic"]
