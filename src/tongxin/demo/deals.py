"""Demo deals and technology contracts between organisations already in the database.

Deterministic for a seed. Shaped on the region's story: Beijing's universities and institutes
sell, Tianjin and Hebei enterprises buy (北京研发、津冀转化); the 天津滨海—中关村科技园 passes
120 亿元 of technology-contract turnover in 2025; turnover grows year on year.
Pure planning: no database access here (demo/load.py hands the plan to services.history).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from ..core import regions
from ..core.clock import local_today
from ..services.history import ListingRef
from ..services.history import OrgRef as Org

YEARS = {2023: 320, 2024: 350, 2025: 390}  # contracts per year (≥ 1,000 in all)
BINHAI_ZGC = "天津滨海—中关村科技园"
BINHAI_TARGET_YI = {2023: 86.4, 2024: 103.7, 2025: 123.6}  # 亿元 per year for the park
BINHAI_PER_YEAR = {2023: 70, 2024: 78, 2025: 86}
PARKS = {  # buyer district → (park, share of that district's contracts recorded under the park)
    "120116": (BINHAI_ZGC, 0.0),  # assigned explicitly below
    "120104": ("天开高教科创园", 0.7),
    "120114": ("武清京津产业新城", 0.6),
    "133100": ("雄安新区中关村科技园", 0.8),
    "130600": ("保定·中关村创新中心", 0.6),
    "130200": ("曹妃甸协同发展示范区", 0.5),
    "110108": ("中关村科学城", 0.5),
    "131000": ("廊坊临空经济区", 0.4),
}
SELLER_TYPES = ("university", "research_institute", "enterprise", "hospital")
BUYER_TYPES = ("enterprise", "hospital", "park")
SELLER_PROVINCE = {"BJ": 0.55, "TJ": 0.24, "HE": 0.15, "OTHER": 0.06}
BUYER_GIVEN_SELLER = {
    "BJ": {"BJ": 0.24, "TJ": 0.40, "HE": 0.31, "OTHER": 0.05},
    "TJ": {"BJ": 0.12, "TJ": 0.60, "HE": 0.24, "OTHER": 0.04},
    "HE": {"BJ": 0.12, "TJ": 0.20, "HE": 0.64, "OTHER": 0.04},
    "OTHER": {"BJ": 0.30, "TJ": 0.35, "HE": 0.35, "OTHER": 0.0},
}
TYPES = {"development": 0.34, "service": 0.33, "transfer": 0.10, "licence": 0.09, "consulting": 0.14}
TYPE_ZH = {"development": "技术开发", "service": "技术服务", "transfer": "技术转让", "licence": "技术许可", "consulting": "技术咨询"}
FINAL = ("signed", "terminated")
OPEN_ORDER = ("contact", "confirm", "proposal", "negotiation")
FINANCE_PATHS = {"guarantee": ["offered", "reviewing", "approved"], "loan": ["offered", "reviewing", "approved", "disbursed"],
                 "investment": ["offered", "reviewing"]}
FINANCE_NOTES = {"guarantee": "科技型中小企业信用担保", "loan": "知识产权质押贷款", "investment": "天使投资意向"}
STAGE_PLAN = {"contact": 26, "confirm": 22, "proposal": 20, "negotiation": 18, "signed": 46, "terminated": 20}
NOTES = {
    "confirm": ["双方确认需求边界与技术指标", "完成现场调研，需求已书面确认", "签署保密协议后交流了技术细节"],
    "proposal": ["卖方提交技术方案与报价", "报价已发出，等待买方内部评审", "方案经专家论证，调整实施周期"],
    "negotiation": ["进入合同条款谈判：知识产权归属", "就付款节点与验收标准进行谈判", "法务审核合同文本"],
    "signed": ["合同已签订，转入履约", "双方签约，准备技术合同登记"],
    "terminated": ["买方预算调整，暂停合作", "技术成熟度不满足产线要求", "双方未就价格达成一致"],
    "back": ["报价需重新核算，退回方案阶段", "需求有变化，重新确认"],
}


@dataclass
class DealPlan:
    seller: Org
    buyer: Org
    listing_ids: list[int]
    events: list[tuple[str, dt.datetime, str]]  # (to stage, when, note); first is "contact"
    finance: list[dict[str, Any]] = field(default_factory=list)
    agreements: list[dict[str, Any]] = field(default_factory=list)
    contact_status_extra: int = 0


@dataclass
class DemoDeals:
    contracts: list[dict[str, Any]]  # import-format rows (validated by core.contracts.validate_contract)
    contract_deal: dict[str, int]  # contract_no → index into deals
    deals: list[DealPlan]
    listing_created: dict[int, dt.datetime]
    extra_contact_requests: list[tuple[int, int, int, str, dt.datetime]]  # (listing, from org, to org, status, at)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _date_in(rng: random.Random, year: int, today: dt.date) -> dt.date:
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), today)
    # more contracts at the end of the year (budgets close in Q4), as registrations show
    d = int((end - start).days * (1 - (1 - rng.random()) ** 1.3))
    return start + dt.timedelta(days=d)


def _amount_wan(rng: random.Random) -> float:
    return round(min(60000.0, max(5.0, math.exp(rng.gauss(math.log(800), 1.25)))), 2)


class _Planner:
    """The state one plan is drawn with: one random stream (every draw in a fixed order, so a seed
    gives the same plan), the parties by province and type, and the contracts drawn so far."""

    def __init__(self, orgs: list[Org], listings: list[ListingRef], seed: int, today: dt.date) -> None:
        self.orgs, self.listings, self.today = orgs, listings, today
        self.rng = random.Random(seed)
        self.by_prov_type: dict[tuple[str, str], list[Org]] = {}
        for o in orgs:
            self.by_prov_type.setdefault((regions.province_of(o.region), o.org_type), []).append(o)
        self.tech_by_owner: dict[int, list[ListingRef]] = {}
        self.scen_by_owner: dict[int, list[ListingRef]] = {}
        for x in listings:
            (self.tech_by_owner if x.kind == "technology" else self.scen_by_owner).setdefault(x.owner_id, []).append(x)
        self.binhai_buyers = [o for o in orgs if o.region == "120116" and o.org_type in BUYER_TYPES]
        self.financiers = [o for o in orgs if o.org_type == "financial_institution"]
        self.contracts: list[dict[str, Any]] = []
        self.links: dict[int, dt.date] = {}  # listing id → earliest contract date
        self.seq = 0

    def party(self, prov: str, types: tuple[str, ...], not_id: int | None = None) -> Org | None:
        pool = [o for t in types for o in self.by_prov_type.get((prov, t), []) if o.id != not_id]
        if not pool:
            pool = [o for o in self.orgs if o.org_type in types and o.id != not_id]
        return self.rng.choice(pool) if pool else None

    def tech_of(self, seller: Org, chance: float) -> ListingRef | None:
        """One of the seller's technologies, with this chance (when it has any)."""
        if seller.id in self.tech_by_owner and self.rng.random() < chance:
            return self.rng.choice(self.tech_by_owner[seller.id])
        return None

    # -- contracts ------------------------------------------------------------------------------------------
    def contract(self, year: int, seller: Org, buyer: Org, signed: dt.date, amount: float, park: str,
                 listing: ListingRef | None) -> dict[str, Any]:
        """One contract row in the import format."""
        rng = self.rng
        self.seq += 1
        ctype = _pick(rng, TYPES)
        share = 1.0 if ctype in ("transfer", "licence") else rng.uniform(0.72, 0.98)
        topic = listing.title if listing else f"{seller.name[:12]}相关技术"
        reg = signed + dt.timedelta(days=rng.randint(5, 40))
        # the park's yearly figure is a published registration figure: its contracts are all registered; one in ten
        # of the others is still waiting for the registration office (the same draw either way: plans stay the same)
        registered = reg <= self.today and (rng.random() < 0.9 or park == BINHAI_ZGC)
        if listing:
            self.links[listing.id] = min(self.links.get(listing.id, signed), signed)
        return {
            "contract_no": f"TX-{year}-{self.seq:05d}", "title": f"{topic}{TYPE_ZH[ctype]}合同"[:200], "contract_type": ctype,
            "seller": seller.credit_code, "buyer": buyer.credit_code, "amount": amount, "tech_amount": round(amount * share, 2),
            "signed_on": signed.isoformat(), "park": park, "industry": (listing.industry if listing else seller.industry) or "",
            "listings": listing.external_id or str(listing.id) if listing else "",
            "registration_no": f"{year}{buyer.region}{self.seq:06d}" if registered else "",
            "registered_on": reg.isoformat() if registered else "",
        }

    def park_contracts(self, year: int) -> list[dict[str, Any]]:
        """The Binhai–Zhongguancun park: Beijing sellers, Binhai buyers; scaled to the year's published figure."""
        rng = self.rng
        rows: list[dict[str, Any]] = []
        if not self.binhai_buyers:
            return rows
        weights = [math.exp(rng.gauss(0, 0.9)) for _ in range(BINHAI_PER_YEAR[year])]
        scale = BINHAI_TARGET_YI[year] * 10000 / sum(weights)
        for w in weights:
            buyer = rng.choice(self.binhai_buyers)
            seller = self.party("BJ" if rng.random() < 0.8 else "TJ", SELLER_TYPES[:3], not_id=buyer.id) or self.orgs[0]
            lst = self.tech_of(seller, 0.7)
            rows.append(self.contract(year, seller, buyer, _date_in(rng, year, self.today), round(w * scale, 2), BINHAI_ZGC, lst))
        # make the rounded sum land exactly on the published figure
        diff = round(BINHAI_TARGET_YI[year] * 10000 - sum(r["amount"] for r in rows), 2)
        rows[0]["amount"] = round(rows[0]["amount"] + diff, 2)
        rows[0]["tech_amount"] = min(rows[0]["tech_amount"], rows[0]["amount"])
        return rows

    def regional_contract(self, year: int) -> dict[str, Any] | None:
        """One contract of the year outside the park: seller and buyer province as the region's flows go."""
        rng = self.rng
        sp = _pick(rng, SELLER_PROVINCE)
        seller = self.party(sp, SELLER_TYPES)
        if seller is None:
            return None
        buyer = self.party(_pick(rng, BUYER_GIVEN_SELLER[sp]), BUYER_TYPES, not_id=seller.id)
        if buyer is None:
            return None
        p, share = PARKS.get(buyer.region, ("", 0.0))
        park = p if p and p != BINHAI_ZGC and rng.random() < share else ""
        lst = self.tech_of(seller, 0.6)
        return self.contract(year, seller, buyer, _date_in(rng, year, self.today), _amount_wan(rng), park, lst)

    def year_contracts(self) -> None:
        for year, n in YEARS.items():
            park_rows = self.park_contracts(year)
            self.contracts += park_rows
            for _ in range(n - len(park_rows)):
                row = self.regional_contract(year)
                if row is not None:
                    self.contracts.append(row)

    # -- deals ----------------------------------------------------------------------------------------------
    def deal_parties(self) -> tuple[Org, Org, list[int]] | None:
        """Seller, buyer and the listings the deal is about (the seller's technology, maybe the buyer's scenario)."""
        rng = self.rng
        sp = _pick(rng, SELLER_PROVINCE)
        seller = self.party(sp, SELLER_TYPES[:3])
        buyer = self.party(_pick(rng, BUYER_GIVEN_SELLER[sp]), BUYER_TYPES, not_id=seller.id if seller else None)
        if seller is None or buyer is None or seller.id == buyer.id:
            return None
        lids = [rng.choice(self.tech_by_owner[seller.id]).id] if seller.id in self.tech_by_owner else []
        if buyer.id in self.scen_by_owner and rng.random() < 0.6:
            lids.append(rng.choice(self.scen_by_owner[buyer.id]).id)
        return (seller, buyer, lids) if lids else None

    def steps_to(self, final: str) -> list[str]:
        """The stages a deal ending at `final` goes through."""
        if final in OPEN_ORDER:
            return list(OPEN_ORDER[: OPEN_ORDER.index(final) + 1])
        if final == "signed":
            return list(OPEN_ORDER) + [final]
        return list(OPEN_ORDER[: self.rng.randint(1, 4)]) + [final]

    def timeline(self, final: str, steps: list[str], now: dt.datetime) -> list[tuple[str, dt.datetime, str]]:
        """When each stage was reached, and the note; some negotiations go back to the proposal once."""
        rng = self.rng
        # idle deals: some open deals have not moved for weeks (the reminders have something to say)
        idle = final in OPEN_ORDER and rng.random() < 0.35
        back = rng.randint(15, 640) if final in FINAL else rng.randint(20, 60) if idle else rng.randint(0, 12)
        end = now - dt.timedelta(days=back, hours=rng.randint(0, 8))
        span = dt.timedelta(days=rng.randint(20, 400)) if final in FINAL or len(steps) > 1 else dt.timedelta(0)
        start = end - span
        events: list[tuple[str, dt.datetime, str]] = []
        for i, stg in enumerate(steps):
            at = start + (end - start) * (i / max(1, len(steps) - 1))
            note = "对接请求已接受，进入初步接洽" if i == 0 else rng.choice(NOTES[stg])
            if stg == "negotiation" and i > 0 and rng.random() < 0.25:  # talks reopened once: back to the proposal
                prev = events[-1][1]
                events.append(("negotiation", prev + (at - prev) / 3, rng.choice(NOTES["negotiation"])))
                events.append(("proposal", prev + (at - prev) * 2 / 3, rng.choice(NOTES["back"])))
                events.append(("negotiation", at, "方案更新后重新进入合同谈判"))
                continue
            events.append((stg, at, note))
        return events

    def finance(self, final: str, steps: list[str]) -> list[dict[str, Any]]:
        """A guarantee, loan or investment offered to deals that got as far as a proposal (or half the closed ones)."""
        rng = self.rng
        last = steps[-1]
        wants = bool(self.financiers) and ((last in OPEN_ORDER and OPEN_ORDER.index(last) >= 2) or (last in FINAL and rng.random() < 0.5))
        if not wants:
            return []
        kind = rng.choice(["guarantee", "loan", "investment"])
        path = FINANCE_PATHS[kind] if final != "terminated" else ["offered", "withdrawn"]
        return [{"kind": kind, "provider": rng.choice(self.financiers), "amount_wan": float(rng.choice([200, 500, 800, 1000, 2000, 3000])),
                 "statuses": path[1:], "note": FINANCE_NOTES[kind]}]

    def signed(self, dp: DealPlan, index: int) -> None:
        """A signed deal: its development contract or licence in the register, and its technology contract."""
        rng = self.rng
        eff = dp.events[-1][1].date()
        typ = rng.choice(["development", "licence"])
        # a few licences run out soon: the register reminds the operators
        exp = self.today + dt.timedelta(days=rng.randint(5, 25)) if rng.random() < 0.2 else eff + dt.timedelta(days=rng.choice([730, 1095, 1825]))
        dp.agreements.append({"type": typ, "title": "技术开发合同" if typ == "development" else "专利实施许可协议",
                              "effective_on": eff, "expires_on": exp})
        amount = _amount_wan(rng)
        lst = next((x for x in self.listings if x.id == dp.listing_ids[0]), None)
        row = self.contract(eff.year, dp.seller, dp.buyer, eff, amount, PARKS.get(dp.buyer.region, ("", 0.0))[0], lst)
        row["contract_no"] = f"TX-D-{index + 1:04d}"
        self.contracts.append(row)

    def deal(self, final: str, now: dt.datetime, index: int) -> DealPlan | None:
        """One deal that ends (so far) at `final`; None when no parties fit."""
        rng = self.rng
        found = self.deal_parties()
        if found is None:
            return None
        seller, buyer, lids = found
        steps = self.steps_to(final)
        events = self.timeline(final, steps, now)
        dp = DealPlan(seller, buyer, lids, events, contact_status_extra=rng.randint(0, 3))
        dp.finance += self.finance(final, steps)
        if len(steps) >= 2 and steps[1] == "confirm":
            eff = events[1][1].date()
            dp.agreements.append({"type": "nda", "title": "技术交流保密协议", "effective_on": eff,
                                  "expires_on": eff + dt.timedelta(days=rng.choice([365, 730]))})
        if final == "signed":
            self.signed(dp, index)
        return dp

    def other_requests(self, dp: DealPlan) -> list[tuple[int, int, int, str, dt.datetime]]:
        """Contact requests for the same listing that stayed pending or were declined, before the deal."""
        start = dp.events[0][1]
        return [(dp.listing_ids[0], dp.buyer.id, dp.seller.id, self.rng.choice(["pending", "declined", "declined"]),
                 start - dt.timedelta(days=self.rng.randint(1, 90))) for _k in range(dp.contact_status_extra)]

    # -- listings ---------------------------------------------------------------------------------------------
    def listing_dates(self, deals: list[DealPlan]) -> dict[int, dt.datetime]:
        """Listing creation dates: before any contract or deal that names them, otherwise spread over 2022–2025."""
        rng = self.rng
        created: dict[int, dt.datetime] = {}
        first_deal: dict[int, dt.datetime] = {}
        for d in deals:
            for lid in d.listing_ids:
                first_deal[lid] = min(first_deal.get(lid, d.events[0][1]), d.events[0][1])
        lo = dt.datetime(2022, 6, 1, tzinfo=dt.UTC)
        span_days = (dt.datetime(2025, 12, 31, tzinfo=dt.UTC) - lo).days
        for x in self.listings:
            t = lo + dt.timedelta(days=rng.randint(0, span_days), hours=rng.randint(8, 18))
            if x.id in self.links:
                t = dt.datetime.combine(self.links[x.id], dt.time(9), dt.UTC) - dt.timedelta(days=int(rng.triangular(45, 600, 180)))
            if x.id in first_deal:
                t = min(t, first_deal[x.id] - dt.timedelta(days=rng.randint(3, 60)))
            created[x.id] = t
        return created


def plan(orgs: list[Org], listings: list[ListingRef], seed: int = 20251225, today: dt.date | None = None) -> DemoDeals:
    """Contracts of 2023–2025, then deals at every stage over the last two years (a signed deal adds its
    contract), then the listings' creation dates. Deterministic for (orgs, listings, seed, today)."""
    today = today or local_today()
    pl = _Planner(orgs, listings, seed, today)
    pl.year_contracts()
    deals: list[DealPlan] = []
    contract_deal: dict[str, int] = {}
    extra: list[tuple[int, int, int, str, dt.datetime]] = []
    now = dt.datetime.combine(today, dt.time(10, 0), dt.UTC)
    for final, count in STAGE_PLAN.items():
        for _ in range(count):
            dp = pl.deal(final, now, len(deals))
            if dp is None:
                continue
            if final == "signed":
                contract_deal[pl.contracts[-1]["contract_no"]] = len(deals)
            deals.append(dp)
            extra += pl.other_requests(dp)
    return DemoDeals(pl.contracts, contract_deal, deals, pl.listing_dates(deals), extra)
