"""Column layouts: Chinese headers for people, stable English keys for machines.

A header cell may hold the Chinese header, the English key or "中文 (key)"; all three read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.kinds.registry import KindSpec, Registry
from ..core.listing import COMMON_COLUMNS
from ..core.organisation import ORG_COLUMNS


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    help: str
    required: bool

    @property
    def header(self) -> str:
        return f"{self.zh} ({self.key})"


def organisation_columns() -> list[Column]:
    return [Column(k, zh, h, r) for k, zh, h, r in ORG_COLUMNS]


def listing_columns(spec: KindSpec | None, registry: Registry) -> list[Column]:
    cols = [Column(k, zh, h, r) for k, zh, h, r in COMMON_COLUMNS]
    specs = [spec] if spec is not None else list(registry)
    seen = {c.key for c in cols}
    for sp in specs:
        for a in sp.attrs:
            if a.key in seen:
                continue
            seen.add(a.key)
            unit = f"（{a.unit_zh}）" if a.unit_zh else ""
            help_ = a.help_en or a.en
            if a.choices:
                help_ += " — " + " / ".join(f"{c.zh}={c.value}" for c in a.choices)
            cols.append(Column(a.key, a.zh + unit, help_, a.required))
    return cols


def header_map(headers: list[str], columns: list[Column]) -> tuple[dict[int, str], list[str]]:
    """Map header cells to keys. Returns (column index → key, unknown headers)."""
    lookup: dict[str, str] = {}
    for c in columns:
        for form in (c.key, c.zh, c.header, c.zh.split("（")[0]):
            lookup[form.strip().lower()] = c.key
    out: dict[int, str] = {}
    unknown = []
    for i, h in enumerate(headers):
        h2 = (h or "").strip()
        if not h2:
            continue
        key = lookup.get(h2.lower())
        if key is None and h2.endswith(")") and "(" in h2:
            key = lookup.get(h2[h2.rindex("(") + 1 : -1].strip().lower())
        if key is None:
            unknown.append(h2)
        else:
            out[i] = key
    return out, unknown
