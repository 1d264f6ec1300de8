"""Policies an organisation qualifies for (免申即享), each condition explained."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..core import access as acc
from ..core import policy as engine
from ..core.clock import local_today
from ..core.listing import Listing
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange


@dataclass
class Eligibility:
    policy: Listing
    results: list[engine.ConditionResult]

    @property
    def qualifies(self) -> bool:
        return engine.qualifies(self.results)

    @property
    def unknown(self) -> list[engine.ConditionResult]:
        return [r for r in self.results if r.met is None]

    @property
    def failed(self) -> list[engine.ConditionResult]:
        return [r for r in self.results if r.met is False]

    def as_dict(self) -> dict[str, object]:
        p = self.policy
        return {"id": p.id, "title": p.title, "issuing_body": p.attrs.get("issuing_body"), "benefit": p.attrs.get("benefit"),
                "apply_mode": p.attrs.get("apply_mode"), "valid_until": p.valid_until.isoformat() if p.valid_until else None,
                "qualifies": self.qualifies, "conditions": [r.as_dict() for r in self.results]}


def may_see_facts(viewer: acc.Viewer, org_id: int) -> bool:
    """An organisation's own figures (headcount, revenue, age, certifications) are for its own
    people and platform staff; everyone else learns only met / not met."""
    return viewer.is_staff or (viewer.org_id == org_id and viewer.role in acc.ORG_ROLES)


def evaluate_all(ex: Exchange, org_ref: str, today: dt.date, viewer: acc.Viewer = acc.VISITOR) -> tuple[str, list[Eligibility]]:
    """Every live policy the viewer may see, evaluated for the organisation: qualifying ones first,
    then those only missing facts, then the rest."""
    with ex.db.transaction(write=False) as s:
        org = rr.resolve_org(s, org_ref)
        facts = rr.facts_for(s, org.id, today)
        kind = ex.registry.kind_with("eligibility_rules")
        policies = repo.find_listings(s, repo.ListingFilter(kind=kind, status="published", limit=100000), ex.registry) if kind else []
    reveal = may_see_facts(viewer, org.id)
    out = []
    for p in policies:
        if not p.is_live(today) or acc.access(viewer, p) < acc.Access.FULL:
            continue
        out.append(Eligibility(p, engine.evaluate(engine.parse_rules(p.attrs.get("eligibility")), facts, reveal)))
    out.sort(key=lambda e: (0 if e.qualifies else 1 if not e.failed else 2, -(e.policy.attrs.get("amount_max") or 0), e.policy.id or 0))
    return org.name, out


def eligible(ex: Exchange, org_ref: str, today: dt.date, viewer: acc.Viewer = acc.VISITOR) -> tuple[str, list[Eligibility]]:
    name, all_ = evaluate_all(ex, org_ref, today, viewer)
    return name, [e for e in all_ if e.qualifies]


def notify_qualifying(ex: Exchange, policy_id: int, today: dt.date | None = None) -> list[int]:
    """A policy published or changed: tell every verified organisation that qualifies (免申即享),
    in-app and by mail through the outbox, each organisation once per policy (services.notices).
    Returns the organisations notified now. One transaction."""
    from . import notices

    today = today or local_today()
    with ex.db.transaction() as s:
        p = repo.get_listing(s, policy_id, ex.registry)
        if not ex.registry.has_role(p.kind, "eligibility_rules"):
            return []
        return sorted(o for _, o in notices.policy_eligibility(s, ex.registry, today, policy_ids=[policy_id]))
