"""Deterministic demo data for tongxin: organisations, technologies (offers), scenarios
(needs) and the technology a domain expert would pick for each published scenario.

    from tongxin.demo.generator import generate
    data = generate()            # 320 organisations, 1300 technologies, 800 scenarios

Pure standard library; all randomness comes from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from .content import DOMAIN_BY_KEY, TOPIC_BY_KEY, TOPICS, Topic
from .orgs import Org, build_orgs, mobile, person_name
from .regions import REGIONS
from .seeds import SEEDS
from .text import TechSpec, scenario_text, tech_description, tech_title

REFERENCE_DATE = date(2026, 6, 1)   # expert picks are valid (published, public, in date) on this day
TRANSFER_MODES = ("transfer", "license", "equity", "co_develop", "service")
_NOT_GENERATED_OWNERS = {"天津市津南区盛坤田园家庭农场"}  # seed-only organisations

_TECH_OWNER_WEIGHTS = {"enterprise": 45, "university": 30, "research_institute": 25, "school": 2}
_SCEN_OWNER_WEIGHTS = {"enterprise": 62, "park": 16, "government": 10}
_MED_TECH_OWNER_WEIGHTS = {"enterprise": 45, "university": 25, "research_institute": 15, "hospital": 15}
_MED_SCEN_OWNER_WEIGHTS = {"hospital": 62, "enterprise": 22, "park": 8, "government": 8}


@dataclass
class DemoData:
    organisations: list[dict]
    listings: list[dict]
    expert_picks: dict[str, str] = field(default_factory=dict)  # scenario external_id -> technology external_id


# --------------------------------------------------------------------------- helpers

def _iso(d: date) -> str:
    return d.isoformat()


def _lifecycle(rng: random.Random, force_ok: bool = False) -> tuple[str, str, date, date]:
    """(status, visibility, valid_from, valid_until)."""
    if force_ok:
        start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
        return "published", "public", start, min(start + timedelta(days=rng.randint(640, 1000)), date(2027, 12, 31))
    visibility = rng.choices(("public", "members", "confidential"), weights=(85, 10, 5))[0]
    if rng.random() < 0.03:  # expired in 2024
        start = date(2023, 3, 1) + timedelta(days=rng.randint(0, 280))
        end = date(2024, 3, 1) + timedelta(days=rng.randint(0, 290))
        return rng.choices(("closed", "published"), weights=(60, 40))[0], visibility, start, end
    start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 330))
    end = min(start + timedelta(days=rng.randint(540, 1000)), date(2027, 12, 31))
    status = rng.choices(("published", "draft", "closed"), weights=(94, 3, 3))[0]
    return status, visibility, start, end


def is_pickable(listing: dict, on: date = REFERENCE_DATE) -> bool:
    return (listing["status"] == "published" and listing["visibility"] == "public"
            and listing["valid_from"] <= on.isoformat() <= listing["valid_until"])


def _patent_number(rng: random.Random) -> tuple[str, str]:
    year = rng.randint(2014, 2025)
    kind = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
    digits = f"{year}{kind}{rng.randint(0, 9999999):07d}"
    total = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=False))
    check = "X" if total % 11 == 10 else str(total % 11)
    if kind != 1 and year <= 2015:
        status = "expired"
    elif kind == 1 and year >= 2023:
        status = rng.choices(("pending", "granted"), weights=(75, 25))[0]
    else:
        status = rng.choices(("granted", "pending"), weights=(90, 10))[0]
    return f"CN{digits}.{check}", status


def _patents(rng: random.Random, trl: int) -> list[dict]:
    n = rng.choices((0, 1, 2, 3, 4), weights=(20, 30, 25, 15, 10) if trl >= 4 else (45, 35, 15, 5, 0))[0]
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    while len(out) < n:
        number, status = _patent_number(rng)
        if number not in seen:
            seen.add(number)
            out.append({"number": number, "status": status})
    return out


def _modes(rng: random.Random, org_type: str) -> list[str]:
    weights = (30, 30, 10, 25, 5) if org_type in ("university", "research_institute", "school", "hospital") else (10, 25, 15, 20, 30)
    k = rng.choices((1, 2, 3), weights=(35, 45, 20))[0]
    chosen: list[str] = []
    while len(chosen) < k:
        m = rng.choices(TRANSFER_MODES, weights=weights)[0]
        if m not in chosen:
            chosen.append(m)
    return [m for m in TRANSFER_MODES if m in chosen]


def _money(rng: random.Random, scale: float, bases: tuple[int, ...]) -> tuple[int | None, int | None]:
    if rng.random() < 0.15:
        return None, None  # 面议
    lo = max(5, int(round(rng.choice(bases) * scale / 5.0)) * 5)
    return lo, int(round(lo * rng.choice((1.0, 1.2, 1.5, 2.0, 2.5, 3.0))))


def _team(rng: random.Random, owner: Org) -> str:
    lead, n = person_name(rng), rng.randint(5, 30)
    if owner.org_type in ("university", "school"):
        return f"{lead}教授团队，核心成员{n}人，其中博士{max(1, n // 3)}人"
    if owner.org_type == "research_institute":
        return f"{lead}研究员课题组，科研人员{n}人"
    if owner.org_type == "hospital":
        return f"{lead}主任医师牵头的医工结合团队，成员{n}人"
    return f"公司研发中心，研发人员{n}人，由{lead}担任技术负责人"


def _who(owner: Org, topic: Topic) -> str:
    return {"hospital": "三级医院", "park": "产业园区", "government": "政府部门"}.get(
        owner.org_type, DOMAIN_BY_KEY[topic.domain].name + "企业")


class _OwnerPool:
    def __init__(self, orgs: list[Org], rng: random.Random):
        self.rng = rng
        self.orgs = [o for o in orgs if o.name not in _NOT_GENERATED_OWNERS]

    def pick(self, domain: str, weights: dict[str, int], home_bias: str) -> Org:
        by_type = {t: [o for o in self.orgs if o.org_type == t and domain in o.domains] for t in weights}
        types = [t for t in weights if by_type[t]]
        t = self.rng.choices(types, weights=[weights[x] for x in types])[0]
        cands = by_type[t]
        w = [1.4 if o.region.startswith(home_bias) else 1.0 for o in cands]
        return self.rng.choices(cands, weights=w)[0]


def _spread(total: int, n: int, rng: random.Random) -> list[int]:
    base, extra = divmod(total, n)
    counts = [base] * n
    for i in rng.sample(range(n), extra):
        counts[i] += 1
    return counts


# --------------------------------------------------------------------------- listings

def _tech_listing(rng: random.Random, owner: Org, topic: Topic, title: str, description: str,
                  keywords: list[str], trl: int, lifecycle, money, patents: list[dict], modes: list[str]) -> dict:
    status, visibility, start, end = lifecycle
    return {
        "external_id": "", "kind": "technology", "side": "offer", "title": title, "description": description,
        "keywords": keywords, "industry": topic.industry, "region": owner.region, "owner": owner.external_id,
        "visibility": visibility, "status": status, "valid_from": _iso(start), "valid_until": _iso(end),
        "attrs": {"trl": trl, "patents": patents, "transfer_modes": modes, "price_min": money[0],
                  "price_max": money[1], "team": _team(rng, owner),
                  "contact": f"{person_name(rng)} {mobile(rng)}"},
    }


def _scen_listing(rng: random.Random, owner: Org, topic: Topic, title: str, description: str,
                  keywords: list[str], problem: str, expected: str, required_trl: int, lifecycle, money,
                  site: str) -> dict:
    status, visibility, start, end = lifecycle
    span = (end - start).days
    deadline = start + timedelta(days=rng.randint(min(300, span), span))
    return {
        "external_id": "", "kind": "scenario", "side": "need", "title": title, "description": description,
        "keywords": keywords, "industry": topic.industry, "region": owner.region, "owner": owner.external_id,
        "visibility": visibility, "status": status, "valid_from": _iso(start), "valid_until": _iso(end),
        "attrs": {"problem": problem, "expected_outcome": expected, "required_trl": required_trl,
                  "budget_min": money[0], "budget_max": money[1], "deadline": _iso(deadline), "site": site},
    }


def _make_spec(rng: random.Random, topic: Topic, product: str, used_terms: set) -> TechSpec:
    for _ in range(30):
        terms = rng.sample(topic.terms, 4)
        if frozenset(terms) not in used_terms:
            break
    used_terms.add(frozenset(terms))
    uses = rng.sample(topic.uses, 2 if rng.random() < 0.5 else 1)
    metrics = [(m, m.value(rng)) for m in rng.sample(topic.metrics, 2)]
    trl = rng.choices(range(1, 10), weights=(1, 2, 5, 9, 12, 15, 14, 10, 6))[0]
    return TechSpec(topic, product, terms, uses, metrics, rng.choice(topic.pains), trl)


def generate(seed: int = 20251225, n_orgs: int = 320, n_technologies: int = 1300,
             n_scenarios: int = 800) -> DemoData:
    rng = random.Random(seed)
    orgs = build_orgs(rng, n_orgs)
    by_name = {o.name: o for o in orgs}
    pool = _OwnerPool(orgs, rng)

    seed_techs = [s for s in SEEDS if s.kind == "technology"]
    seed_scens = [s for s in SEEDS if s.kind == "scenario"]
    if n_technologies < len(seed_techs) + len(TOPICS) or n_scenarios < len(seed_scens) + len(TOPICS):
        raise ValueError("too few listings requested for the seed cases and the topic catalogue")

    techs: list[dict] = []
    scens: list[dict] = []
    picks_local: list[tuple[int, int]] = []  # (scenario index, technology index)
    seed_index: dict[str, int] = {}

    # seed cases ---------------------------------------------------------------------------
    for s in seed_techs:
        owner, topic = by_name[s.owner], TOPIC_BY_KEY[s.topic]
        money = s.money if s.money else (None, None)
        seed_index[s.key] = len(techs)
        techs.append(_tech_listing(rng, owner, topic, s.title, s.description, list(s.keywords), s.trl,
                                   _lifecycle(rng, force_ok=True), money, _patents(rng, s.trl),
                                   _modes(rng, owner.org_type)))
    for s in seed_scens:
        owner, topic = by_name[s.owner], TOPIC_BY_KEY[s.topic]
        money = s.money if s.money else (None, None)
        picks_local.append((len(scens), seed_index[s.pick]))
        scens.append(_scen_listing(rng, owner, topic, s.title, s.description, list(s.keywords), s.problem,
                                   s.expected_outcome, s.trl, _lifecycle(rng, force_ok=True), money,
                                   s.site or owner.site))

    # generated technologies -----------------------------------------------------------------
    titles = {t["title"] for t in techs}
    topic_techs: dict[str, list[tuple[TechSpec, int]]] = {t.key: [] for t in TOPICS}
    for topic, k in zip(TOPICS, _spread(n_technologies - len(techs), len(TOPICS), rng), strict=False):
        dom = DOMAIN_BY_KEY[topic.domain]
        products = list(topic.products)
        rng.shuffle(products)
        used_terms: set = set()
        weights = _MED_TECH_OWNER_WEIGHTS if topic.domain == "med" else _TECH_OWNER_WEIGHTS
        for j in range(k):
            spec = _make_spec(rng, topic, products[j % len(products)], used_terms)
            owner = pool.pick(topic.domain, weights, "11")
            for _ in range(10):
                title = tech_title(spec, rng)
                if title not in titles:
                    break
            titles.add(title)
            spec.title = title
            patents = _patents(rng, spec.trl)
            modes = _modes(rng, owner.org_type)
            kind = {"university": "高校团队", "research_institute": "研究院所", "hospital": "医院团队",
                    "school": "职业院校团队"}.get(
                owner.org_type, "企业")
            desc = tech_description(spec, rng, owner_kind=kind, domain_name=dom.name,
                                    region=REGIONS[owner.region].short, patents=len(patents), modes=modes)
            bases = (10, 20, 30, 50, 80) if spec.trl <= 4 else (30, 50, 80, 100, 150, 200, 300, 500)
            keywords = [spec.product] + spec.terms[: rng.randint(2, 4)]
            topic_techs[topic.key].append((spec, len(techs)))
            techs.append(_tech_listing(rng, owner, topic, title, desc, keywords, spec.trl, _lifecycle(rng),
                                       _money(rng, dom.scale, bases), patents, modes))

    # generated scenarios ------------------------------------------------------------------
    for topic, k in zip(TOPICS, _spread(n_scenarios - len(scens), len(TOPICS), rng), strict=False):
        dom = DOMAIN_BY_KEY[topic.domain]
        cands = topic_techs[topic.key]
        eligible = [c for c in cands if is_pickable(techs[c[1]])] or cands
        rng.shuffle(eligible)
        weights = _MED_SCEN_OWNER_WEIGHTS if topic.domain == "med" else _SCEN_OWNER_WEIGHTS
        for j in range(k):
            spec, ti = eligible[j % len(eligible)]
            owner = pool.pick(topic.domain, weights, "1")  # Tianjin and Hebei (12…, 13…) state most needs
            if owner.region.startswith("11") and rng.random() < 0.3:
                owner = pool.pick(topic.domain, weights, "1")
            need = scenario_text(spec, rng, who=_who(owner, topic), place=REGIONS[owner.region].prefix,
                                 proxy=owner.org_type if owner.org_type in ("park", "government") else "")
            lifecycle = _lifecycle(rng)
            required_trl = max(1, spec.trl - rng.choice((0, 0, 1, 1, 2)))
            site = owner.site
            listing = _scen_listing(rng, owner, topic, need.title, need.description, need.keywords, need.problem,
                                    need.expected_outcome, required_trl, lifecycle,
                                    _money(rng, dom.scale, (20, 30, 50, 80, 100, 200, 300, 500, 800)), site)
            if is_pickable(techs[ti]) and spec.trl >= required_trl:
                picks_local.append((len(scens), ti))
            scens.append(listing)

    # identifiers and expert picks -----------------------------------------------------------
    for i, t in enumerate(techs, 1):
        t["external_id"] = f"TECH-{i:05d}"
    for i, scen in enumerate(scens, 1):
        scen["external_id"] = f"SCEN-{i:05d}"
    picks = {}
    for si, ti in picks_local:
        scen = scens[si]
        if scen["status"] == "published" and scen["valid_from"] <= REFERENCE_DATE.isoformat() <= scen["valid_until"]:
            picks[scen["external_id"]] = techs[ti]["external_id"]
    return DemoData([o.as_dict() for o in orgs], techs + scens, picks)
