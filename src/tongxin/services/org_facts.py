"""Organisation facts (headcount, revenue, founding date, R&D spending, certifications): the firm's
owners set them (page, `PATCH /api/v1/organisations/{id}`), operators verify them, and policy
eligibility is re-checked when they change (a policy the firm now meets is announced in-app).
Private to the firm and operators (`services.policy.may_see_facts`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import policy as engine
from ..core.clock import local_today
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
    today = today or local_today()
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


def to_verify(ex: Exchange, viewer: acc.Viewer, page: int = 1, per_page: int = 50) -> tuple[list[FactsRow], int]:
    """One page of the organisations whose facts changed since an operator last verified them (oldest change
    first) and how many there are in all."""
    acc.require_staff(viewer)
    page = max(1, page)
    with ex.db.transaction(write=False) as s:
        rows = [(oid, r) for oid, r in rr.facts_of_orgs(s).items() if r.verified_at is None and r.updated_at is not None]
        rows.sort(key=lambda x: (rr.to_db(x[1].updated_at) if x[1].updated_at else _now(), x[0]))
        out = []
        for oid, _ in rows[(page - 1) * per_page:page * per_page]:
            org = rr.org_row(s, oid)
            out.append(FactsRow(oid, org.name if org else str(oid), rr.get_facts(s, oid)))
        return out, len(rows)


# -- bulk import by operators -------------------------------------------------------------------------------
@dataclass
class FactsImport:
    organisations: int = 0
    changed: int = 0
    org_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"organisations": self.organisations, "changed": self.changed, "org_ids": self.org_ids}


def import_facts(ex: Exchange, viewer: acc.Viewer, path: str, today: dt.date | None = None) -> FactsImport:
    """Operators' XLSX of many firms' facts, all or nothing: every row checked (columns, values, a credit code
    on the platform, the name when given) before one is written; errors name row, column and fix. Imported facts
    count as verified by the importing operator; each firm is told in-app; policies are re-checked once for all."""
    from ..fileio.org_facts import parse_facts_file
    from . import notices

    acc.require_staff(viewer)
    today = today or local_today()
    rows, errors = parse_facts_file(path, today)
    rep = FactsImport()
    with ex.db.transaction() as s:
        found = rr.orgs_by_credit_code(s, [x.credit_code for x in rows if x.credit_code])
        for x in rows:
            hit = found.get(x.credit_code)
            if x.credit_code and hit is None and not any(e.row == x.row and e.field == "credit_code" for e in errors):
                errors.append(FieldError("credit_code", Message(f"统一社会信用代码 {x.credit_code} 不属于平台上的任何机构，请核对代码，或先让该机构注册",
                                                                f"credit code {x.credit_code} belongs to no organisation on the platform; check it, "
                                                                "or have the organisation sign up first"), x.credit_code, x.row))
            elif hit is not None and x.name and x.name != hit[1]:
                errors.append(FieldError("name", Message(f"‘机构名称’ ‘{x.name}’ 与该信用代码在平台上的名称 ‘{hit[1]}’ 不一致，请核对或留空",
                                                         f"name '{x.name}' differs from the platform's name for this credit code, '{hit[1]}'; "
                                                         "check it or leave it blank"), x.name, x.row))
        if errors:
            raise ValidationError.of(sorted(errors, key=lambda e: (e.row or 0, e.field)))
        now = _now()
        for x in rows:
            oid = found[x.credit_code][0]
            if rr.update_facts(s, oid, x.changes, now):
                rep.changed += 1
            rr.verify_facts(s, oid, viewer.user_id, now)
            AR.notify(s, oid, "平台运营人员导入并核验了机构基本情况，请查看", "the platform's operators imported and verified your organisation's facts; "
                      "please check them", "/my/org/facts")
            rep.org_ids.append(oid)
        rep.organisations = len(rep.org_ids)
        notices.policy_eligibility(s, ex.registry, today, org_ids=rep.org_ids)
    return rep
