"""Kind declarations and the registry that holds them.

Adding a kind means writing one `KindSpec`: its attribute schema (which also gives the import
columns, the form, the units and the search filters), the weights of its text fields, and
how it fits each kind it matches with (`fits`, keyed by the counterpart kind, with optional
hard rules in `hards`). A pair is declared once, on either kind: the registry finds the
declaration from both sides, so matching *into* a new kind needs no edit to the other kind.
Nothing outside core/kinds lists kinds by name (tests/test_kind_names.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Message, NotFound
from ..fields import AttrField, Rules

if TYPE_CHECKING:  # pragma: no cover
    from ..listing import Listing
    from ..matching.explain import FitItem
    from ..matching.fit import MatchContext

# A pair's structured fit: (a listing of the declaring kind, a listing of the counterpart kind, context).
FitFn = Callable[["Listing", "Listing", "MatchContext"], list["FitItem"]]
# A pair's hard rule, same arguments: False drops the candidate before scoring (never shown, never explained).
HardFn = Callable[["Listing", "Listing", "MatchContext"], bool]


@dataclass(frozen=True)
class TextWeights:
    """How many times each text field counts in a listing's index document and in the query
    made from a listing (a cheap BM25F): whole repeats, as the engine counts terms."""

    title: int = 3
    keywords: int = 2
    body: int = 1

    def __post_init__(self) -> None:
        if min(self.title, self.keywords, self.body) < 1:
            raise ValueError("text weights are whole repeats ≥ 1")


@dataclass(frozen=True)
class Pairing:
    """How a query of one kind meets a candidate of another: fit and hard rule as functions of
    (query, candidate, context), whichever kind declared the pair."""

    fit: FitFn | None
    hard: HardFn | None
    # the least and the most points `fit` can give (None: not declared): lets the match path skip
    # reading candidates that cannot reach the results (services.exchange)
    bounds: tuple[float, float] | None = None


def _swap(fn: Callable[[Any, Any, Any], Any] | None) -> Callable[[Any, Any, Any], Any] | None:
    if fn is None:
        return None
    f = fn
    return lambda query, cand, ctx: f(cand, query, ctx)


@dataclass(frozen=True)
class KindSpec:
    name: str
    zh: str
    en: str
    sides: tuple[str, ...]
    attrs: tuple[AttrField, ...]
    # counterpart kind → fit(listing of this kind, listing of that kind, ctx); a pair is declared
    # on one of its two kinds (or on both, each for its own direction).
    fits: Mapping[str, FitFn] = field(default_factory=dict)
    hards: Mapping[str, HardFn] = field(default_factory=dict)
    # counterpart kind → (least, most) points its fit gives; optional (see Pairing.bounds)
    fit_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    text_weights: TextWeights = TextWeights()
    rules: Rules = Rules()
    # Checks that need stored facts (e.g. "licence": the owner holds a licence for the mark the
    # listing claims, on the day). The services provide them by name and run them in the one
    # match path, so CLI, API and pages can never disagree.
    checks: tuple[str, ...] = ()
    # Roles the services look up instead of kind names (e.g. "bookable": an instrument with a
    # calendar; "contract_subject": the subject of a technology contract; "policy": eligibility
    # rules that qualify organisations). Each role is held by at most one kind.
    roles: frozenset[str] = frozenset()
    icon: str = ""
    description_zh: str = ""
    description_en: str = ""

    def __post_init__(self) -> None:
        extra = set(self.hards) - set(self.fits)
        if extra:
            raise ValueError(f"kind {self.name!r}: hard rules for {sorted(extra)} need a fit for that kind too (fits)")
        extra = set(self.fit_bounds) - set(self.fits)
        if extra:
            raise ValueError(f"kind {self.name!r}: fit bounds for {sorted(extra)} need a fit for that kind too (fits)")

    def attr(self, key: str) -> AttrField:
        for a in self.attrs:
            if a.key == key:
                return a
        raise KeyError(key)

    def searchable_attrs(self) -> list[AttrField]:
        return [a for a in self.attrs if a.searchable]

    def filter_attrs(self) -> list[AttrField]:
        return [a for a in self.attrs if a.filter]

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def default_side(self) -> str:
        return self.sides[0]


# The roles a kind may hold (KindSpec.roles): what the services, pages and storage look up
# instead of naming kinds. Each role is held by at most one registered kind.
ROLES = {
    "headline_offer": "the offers the home page counts and lists first; the search page's 'I have a need' mode finds them",
    "headline_need": "the needs the home page counts and lists; the search page's 'I have a technology' mode finds them",
    "contract_subject": "its listings are what technology contracts transfer (their transfer_modes suggest the contract type)",
    "bookable": "its listings have a booking calendar (instrument pages, bookings, trainings, usage statistics)",
    "eligibility_rules": "eligibility rules qualify organisations: published ones notify those who qualify, statistics count them",
    "deal_finance": "its listings can be attached to a deal as the deal's financing (product_type names the product)",
}


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, KindSpec] = {}

    def register(self, spec: KindSpec) -> KindSpec:
        if spec.name in self._kinds:
            raise ValueError(f"kind {spec.name!r} registered twice")
        for role in spec.roles:
            if role not in ROLES:
                raise ValueError(f"kind {spec.name!r}: unknown role {role!r}; known roles: {', '.join(ROLES)}")
            other = self.with_role(role)
            if other is not None:
                raise ValueError(f"role {role!r} is held by {other.name!r} and {spec.name!r}")
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
        """The kinds a listing of this kind matches with: those its own declaration names,
        then those whose declarations name it (in registration order)."""
        out = list(self.get(name).fits)
        out += [s.name for s in self._kinds.values() if name in s.fits and s.name not in out]
        return tuple(k for k in out if k in self._kinds)

    def pairing(self, query_kind: str, cand_kind: str) -> Pairing:
        """The fit and hard rule for a query of `query_kind` meeting a `cand_kind` candidate."""
        q = self.get(query_kind)
        if cand_kind in q.fits:
            return Pairing(q.fits[cand_kind], q.hards.get(cand_kind), q.fit_bounds.get(cand_kind))
        c = self.get(cand_kind)
        if query_kind in c.fits:
            return Pairing(_swap(c.fits[query_kind]), _swap(c.hards.get(query_kind)), c.fit_bounds.get(query_kind))
        return Pairing(None, None)

    def with_role(self, role: str) -> KindSpec | None:
        """The kind that holds a role (see KindSpec.roles), if any is registered."""
        return next((s for s in self._kinds.values() if role in s.roles), None)

    def kind_with(self, role: str) -> str | None:
        spec = self.with_role(role)
        return spec.name if spec is not None else None

    def has_role(self, kind: str, role: str) -> bool:
        return kind in self._kinds and role in self._kinds[kind].roles

    def has_check(self, kind: str, check: str) -> bool:
        return kind in self._kinds and check in self._kinds[kind].checks


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
