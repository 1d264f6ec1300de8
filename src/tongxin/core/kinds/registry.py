"""Kind declarations and the registry that holds them.

Adding a kind means writing one `KindSpec`: its attribute schema, searchable fields with
weights, import columns (derived from the schema), which kinds it matches with and its
structured-fit rules. Nothing else in the code base lists kinds by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Message, NotFound
from ..fields import AttrField, Rules

if TYPE_CHECKING:  # pragma: no cover
    from ..listing import Listing
    from ..matching.explain import FitItem
    from ..matching.fit import MatchContext

FitFn = Callable[["Listing", "Listing", "MatchContext"], list["FitItem"]]
# A hard rule of the query's kind: False drops the candidate before scoring (never shown, never explained).
HardFn = Callable[["Listing", "Listing", "MatchContext"], bool]

# Weights of the common text fields; kinds may override.
DEFAULT_TEXT_WEIGHTS = {"title": 3.0, "keywords": 2.5, "description": 1.0}


@dataclass(frozen=True)
class KindSpec:
    name: str
    zh: str
    en: str
    sides: tuple[str, ...]
    attrs: tuple[AttrField, ...]
    matches_with: tuple[str, ...]
    text_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TEXT_WEIGHTS))
    rules: Rules = Rules()
    fit: FitFn | None = None
    hard: HardFn | None = None
    # Checks that need stored facts (e.g. "licence": the owner holds a licence for the mark the
    # listing claims, on the day). The services provide them by name and run them in the one
    # match path, so CLI, API and pages can never disagree.
    checks: tuple[str, ...] = ()
    icon: str = ""
    description_zh: str = ""
    description_en: str = ""

    def attr(self, key: str) -> AttrField:
        for a in self.attrs:
            if a.key == key:
                return a
        raise KeyError(key)

    def searchable_attrs(self) -> list[AttrField]:
        return [a for a in self.attrs if a.search_weight > 0]

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def default_side(self) -> str:
        return self.sides[0]


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, KindSpec] = {}

    def register(self, spec: KindSpec) -> KindSpec:
        if spec.name in self._kinds:
            raise ValueError(f"kind {spec.name!r} registered twice")
        self._kinds[spec.name] = spec
        return spec

    def get(self, name: str) -> KindSpec:
        spec = self._kinds.get(name)
        if spec is None:
            names = ", ".join(self._kinds)
            raise NotFound(Message(f"未知的资源类型 ‘{name}’，可选：{names}", f"unknown kind '{name}'; known kinds: {names}"))
        return spec

    def find(self, raw: Any) -> KindSpec | None:
        r = str(raw).strip()
        for s in self._kinds.values():
            if r in (s.name, s.zh) or r.lower() == s.en.lower():
                return s
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._kinds.values())

    def names(self) -> list[str]:
        return list(self._kinds)

    def counterparts(self, name: str) -> tuple[str, ...]:
        return self.get(name).matches_with


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The registry with every built-in kind (built once, on first use; nothing at import time)."""
    global _DEFAULT
    if _DEFAULT is None:
        from . import builtin

        reg = Registry()
        for spec in builtin.SPECS:
            reg.register(spec)
        _DEFAULT = reg
    return _DEFAULT
