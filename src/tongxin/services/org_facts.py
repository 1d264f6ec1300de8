"""Organisation facts (headcount, revenue, founding date, R&D spending, certifications): the firm's
owners set them (page, `PATCH /api/v1/organisations/{id}`), operators verify them, and policy
eligibility is re-checked when they change (a policy the firm now meets is announced in-app).
Private to the firm and operators (`services.policy.may_see_facts`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import policy as engine
from ..core.errors import FieldError, Message, ValidationError
from ..core.org_facts import FACT_KEYS, MAX_EVIDENCE_FILES, OrgFacts, check_evidence, check_facts, unknown_keys
from ..storage import accounts_repo as AR
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange
from .policy import may_see_facts


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def require_see(viewer: acc.Viewer, org_id: int) -> None:
    if not may_see_facts(viewer, org_id):
        raise acc.not_visible("机构基本情况", "organisation facts", org_id)


def require_edit(viewer: acc.Viewer, org_id: int) -> None:
    if not acc.can_manage_org(viewer, org_id):
        raise acc.forbidden("只有本机构管理员可以修改机构基本情况", "only the organisation's administrators may change its facts")


@dataclass(frozen=True)
class Evidence:
    """An evidence file as listed (never its bytes)."""

    id: int
    fact: str
    filename: str
    content_type: str
    size: int
    uploaded_at: dt.datetime

    def as_dict(self, org_id: int) -> dict[str, Any]:
        return {"id": self.id, "fact": self.fact, "filename": self.filename, "content_type": self.content_type, "size": self.size,
                "uploaded_at": self.uploaded_at.isoformat(), "url": f"/orgs/{org_id}/facts/evidence/{self.id}"}


@dataclass(frozen=True)
class FactsPage:
    name: str
    facts: OrgFacts
    evidence: list[Evidence]


def facts(ex: Exchange, viewer: acc.Viewer, org_id: int) -> FactsPage:
    """The organisation's name, facts and evidence files, for its own people and staff (others: not found)."""
    require_see(viewer, org_id)
    with ex.db.transaction(write=False) as s:
        org = rr.org_row(s, org_id)
        if org is None:
            raise acc.not_visible("机构", "organisation", org_id)
        return FactsPage(org.name, rr.get_facts(s, org_id), [Evidence(*e) for e in rr.evidence_of(s, org_id)])


def add_evidence(ex: Exchange, viewer: acc.Viewer, org_id: int, filename: str, data: bytes, fact: str = "") -> Evidence:
    """The firm's administrators attach a PDF or image (≤ 5 MB, type read from its bytes) to support its facts."""
    require_edit(viewer, org_id)
    checked = check_evidence(filename, data, fact)
    with ex.db.transaction() as s:
        if rr.org_row(s, org_id) is None:
            raise acc.not_visible("机构", "organisation", org_id)
        if len(rr.evidence_of(s, org_id)) >= MAX_EVIDENCE_FILES:
            raise ValidationError.of([FieldError("file", Message(f"每个机构最多上传 {MAX_EVIDENCE_FILES} 份证明材料，请先删除过时的材料",
                                                                 f"at most {MAX_EVIDENCE_FILES} evidence files per organisation; delete outdated ones first"))])
        eid = rr.add_evidence(s, org_id, checked.filename, checked.content_type, checked.fact, data, viewer.user_id, _now())
        return next(Evidence(*e) for e in rr.evidence_of(s, org_id) if e[0] == eid)


def evidence_file(ex: Exchange, viewer: acc.Viewer, org_id: int, evidence_id: int) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of one file: for the firm's own people and staff only; others: not found."""
    require_see(viewer, org_id)
    with ex.db.transaction(write=False) as s:
        r = rr.evidence_row(s, org_id, evidence_id)
        if r is None:
            raise acc.not_visible("证明材料", "evidence file", evidence_id)
        return r.filename, r.content_type, bytes(r.data)


def delete_evidence(ex: Exchange, viewer: acc.Viewer, org_id: int, evidence_id: int) -> None:
    require_edit(viewer, org_id)
    with ex.db.transaction() as s:
        if not rr.delete_evidence(s, org_id, evidence_id):
            raise acc.not_visible("证明材料", "evidence file", evidence_id)


def public_facts(ex: Exchange, org_id: int) -> dict[str, Any]:
    """What the firm chose to publish (nothing by default): for its public page and everyone's API answers."""
    with ex.db.transaction(write=False) as s:
        return rr.get_facts(s, org_id).public_dict()


def apply_in(s: Session, ex: Exchange, org_id: int, changes: dict[str, Any], today: dt.date) -> list[int]:
    """Write checked changes in the caller's transaction and re-check the policies at once: returns the ids
    of live public policies the organisation meets now and did not before. The announcement is the one the
    policy save and the hourly scan make (`notices.policy_eligibility`, key `policy{id}-o{org}`: in-app now,
    mail through the outbox, once per policy and organisation, verified organisations only)."""
    from . import notices

    kind = ex.registry.kind_with("eligibility_rules")
    before = rr.facts_for(s, org_id, today)
    if not rr.update_facts(s, org_id, changes, _now()):
        return []
    after = rr.facts_for(s, org_id, today)
    if kind is None:
        return []
    newly = []
    for p in repo.find_listings(s, repo.ListingFilter(kind=kind, status="published", limit=100_000), ex.registry):
        if not p.is_live(today) or p.visibility != "public" or p.owner_id == org_id:
            continue
        try:
            conds = engine.parse_rules(p.attrs.get("eligibility"))
        except engine.RuleError:
            continue
        if engine.qualifies(engine.evaluate(conds, after)) and not engine.qualifies(engine.evaluate(conds, before)):
            newly.append(int(p.id or 0))
    notices.policy_eligibility(s, ex.registry, today, org_ids=[org_id])
    return newly


def update(ex: Exchange, viewer: acc.Viewer, org_id: int, raw: Mapping[str, Any], today: dt.date | None = None) -> tuple[OrgFacts, list[int]]:
    """Change some facts (the keys given; null or "" clears one). Unknown keys and bad values: 422, nothing written."""
    require_edit(viewer, org_id)
    today = today or dt.date.today()
    upd = check_facts(raw, today)
    errors = unknown_keys(raw, set(FACT_KEYS)) + upd.errors
    if errors:
        raise ValidationError.of(errors)
    with ex.db.transaction() as s:
        if rr.org_row(s, org_id) is None:
            raise acc.not_visible("机构", "organisation", org_id)
        newly = apply_in(s, ex, org_id, upd.changes, today)
        return rr.get_facts(s, org_id), newly


def verify(ex: Exchange, viewer: acc.Viewer, org_id: int) -> OrgFacts:
    """An operator confirms the facts against the firm's evidence (the next change clears it again)."""
    acc.require_staff(viewer)
    with ex.db.transaction() as s:
        rr.verify_facts(s, org_id, viewer.user_id, _now())
        AR.notify(s, org_id, "机构基本情况已经平台核验", "your organisation's facts were verified by the platform", "/my/org/facts")
        return rr.get_facts(s, org_id)


@dataclass(frozen=True)
class FactsRow:
    org_id: int
    name: str
    facts: OrgFacts


def to_verify(ex: Exchange, viewer: acc.Viewer, limit: int = 200) -> list[FactsRow]:
    """Organisations whose facts changed since an operator last verified them, oldest change first."""
    acc.require_staff(viewer)
    with ex.db.transaction(write=False) as s:
        rows = [(oid, r) for oid, r in rr.facts_of_orgs(s).items() if r.verified_at is None and r.updated_at is not None]
        rows.sort(key=lambda x: x[1].updated_at or _now())
        out = []
        for oid, _ in rows[:limit]:
            org = rr.org_row(s, oid)
            out.append(FactsRow(oid, org.name if org else str(oid), rr.get_facts(s, oid)))
        return out
