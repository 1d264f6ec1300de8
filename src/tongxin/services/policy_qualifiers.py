"""Who qualifies for a policy (免申即享), for operators: every verified organisation evaluated against the
policy's rules, in three groups: qualifies, only missing facts (which ones), fails (which conditions).
Staff only: the explanations carry the firms' private figures. A CSV of every row (formula-safe cells)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import policy as engine
from ..core.clock import local_today
from ..core.errors import FieldError, Message, ValidationError
from ..core.listing import Listing
from ..fileio.safe_cells import csv_row
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange

GROUPS: dict[str, tuple[str, str]] = {"qualifies": ("符合", "qualifies"), "missing": ("缺少信息", "facts missing"), "fails": ("不符合", "fails")}


@dataclass(frozen=True)
class Qualifier:
    org_id: int
    name: str
    credit_code: str | None
    region: str
    group: str  # one of GROUPS
    results: tuple[engine.ConditionResult, ...]
    facts_verified: bool

    @property
    def missing(self) -> list[str]:
        """The facts this organisation has not given (field keys, each once)."""
        out: list[str] = []
        for r in self.results:
            if r.met is None and r.condition.field not in out:
                out.append(r.condition.field)
        return out

    @property
    def failed(self) -> list[engine.ConditionResult]:
        return [r for r in self.results if r.met is False]

    def as_dict(self) -> dict[str, object]:
        return {"org_id": self.org_id, "name": self.name, "credit_code": self.credit_code, "region": self.region, "group": self.group,
                "missing": self.missing, "failed": [r.as_dict() for r in self.failed], "facts_verified": self.facts_verified}


@dataclass
class PolicyQualifiers:
    policy: Listing
    day: dt.date
    rows: list[Qualifier] = field(default_factory=list)

    def group(self, name: str) -> list[Qualifier]:
        return [r for r in self.rows if r.group == name]

    @property
    def counts(self) -> dict[str, int]:
        return {g: len(self.group(g)) for g in GROUPS}

    @property
    def missing_counts(self) -> dict[str, int]:
        """How many organisations that fail no condition lack each fact (the facts worth asking them for)."""
        out: dict[str, int] = {}
        for r in self.group("missing"):
            for k in r.missing:
                out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _policy(ex: Exchange, s: Session, policy_id: int) -> Listing:
    p = repo.get_listing(s, policy_id, ex.registry)
    if not ex.registry.has_role(p.kind, "eligibility_rules"):
        raise acc.not_visible("政策", "policy listing", policy_id)
    return p


def qualifiers(ex: Exchange, viewer: acc.Viewer, policy_id: int, day: dt.date | None = None) -> PolicyQualifiers:
    acc.require_staff(viewer)
    day = day or local_today()
    with ex.db.transaction(write=False) as s:
        p = _policy(ex, s, policy_id)
        try:
            conds = engine.parse_rules(p.attrs.get("eligibility"))
        except engine.RuleError as e:
            raise ValidationError.of([FieldError("eligibility", e.message, p.attrs.get("eligibility"))]) from None
        everyone = rr.facts_of_all(s, day)
    out = PolicyQualifiers(p, day)
    for o, facts, verified in everyone:
        if o.id == p.owner_id:
            continue
        results = tuple(engine.evaluate(conds, facts, reveal=True))
        group = "fails" if any(r.met is False for r in results) else "missing" if any(r.met is None for r in results) else "qualifies"
        out.rows.append(Qualifier(o.id, o.name, o.credit_code, o.region, group, results, verified))
    return out


def policies_overview(ex: Exchange, viewer: acc.Viewer, day: dt.date | None = None) -> list[PolicyQualifiers]:
    """Every live policy with its qualifiers (the operator's list)."""
    return policies_overview_page(ex, viewer, day, 1, 10_000_000)[0]


def policies_overview_page(ex: Exchange, viewer: acc.Viewer, day: dt.date | None = None, page: int = 1,
                           per_page: int = 50) -> tuple[list[PolicyQualifiers], int]:
    """One page of the live policies (newest first) with their qualifiers, and how many live policies there are:
    only the page's policies are evaluated."""
    acc.require_staff(viewer)
    day = day or local_today()
    kind = ex.registry.kind_with("eligibility_rules")
    if kind is None:
        return [], 0
    with ex.db.transaction(write=False) as s:
        ids = [int(p.id or 0) for p in repo.find_listings(s, repo.ListingFilter(kind=kind, status="published", limit=100_000), ex.registry)
               if p.is_live(day)]
    page = max(1, page)
    out = []
    for pid in ids[(page - 1) * per_page:page * per_page]:
        try:
            out.append(qualifiers(ex, viewer, pid, day))
        except ValidationError:
            continue  # a policy whose rules no longer parse shows on its own page
    return out, len(ids)


CSV_HEADER = ["机构编号 org_id", "机构 name", "统一社会信用代码 credit_code", "地区 region", "结果 group", "缺少的信息 missing",
              "未满足的条件 failed", "已核验 facts_verified"]


def qualifiers_csv(q: PolicyQualifiers) -> str:
    """UTF-8 CSV with a BOM (Excel reads the Chinese); every text cell formula-safe."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for r in q.rows:
        missing = "、".join(engine.FIELDS[k][0] for k in r.missing)
        failed = "；".join(x.zh for x in r.failed)
        w.writerow(csv_row([r.org_id, r.name, r.credit_code or "", r.region, GROUPS[r.group][0], missing, failed, "是" if r.facts_verified else "否"]))
    return buf.getvalue()


def bad_group(group: str) -> ValidationError:
    return ValidationError.of([FieldError("group", Message(f"分组应为 {' / '.join(GROUPS)}", f"group is one of {', '.join(GROUPS)}"), group)])
