"""The region's figures, computed from plain records: turnover by year, quarter, region, park,
industry and contract type; cross-region flows; the match funnel; time from listing to contract.

One function (`compute`) produces every figure the dashboard, the public summary, the CLI,
the XLSX export and the year-end report show, so they cannot disagree. Amounts are whole 元.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from . import industries, regions
from .contracts import CONTRACT_TYPES, type_label
from .contracts import yuan_to_wan as yuan_to_wan  # re-exported: callers format amounts from stats
from .contracts import yuan_to_yi as yuan_to_yi
from .errors import FieldError, Message, ValidationError


# -- period ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    label: str

    def contains(self, d: dt.date) -> bool:
        return self.start <= d <= self.end

    def previous(self) -> Period:
        """The period of the same length just before (a year → the year before)."""
        if self.start.month == 1 and self.start.day == 1 and self.end.month == 12 and self.end.day == 31:
            years = self.end.year - self.start.year + 1
            s, e = dt.date(self.start.year - years, 1, 1), dt.date(self.end.year - years, 12, 31)
            return Period(s, e, str(s.year) if years == 1 else f"{s.year}-{e.year}")
        length = self.end - self.start
        e = self.start - dt.timedelta(days=1)
        return Period(e - length, e, f"{(e - length).isoformat()}~{e.isoformat()}")


_PERIOD_RE = re.compile(r"^(\d{4})(?:\s*[-~–]\s*(\d{4}))?$|^(\d{4})\s*[Qq]([1-4])$")


def parse_period(raw: str) -> Period:
    """"2025", "2023-2025" or "2025Q3"."""
    s = (raw or "").strip()
    m = _PERIOD_RE.match(s)
    if m and m[1]:
        a, b = int(m[1]), int(m[2] or m[1])
        if 2000 <= a <= b <= 2100:
            return Period(dt.date(a, 1, 1), dt.date(b, 12, 31), str(a) if a == b else f"{a}-{b}")
    if m and m[3]:
        y, q = int(m[3]), int(m[4])
        start = dt.date(y, 3 * q - 2, 1)
        end = (dt.date(y + 1, 1, 1) if q == 4 else dt.date(y, 3 * q + 1, 1)) - dt.timedelta(days=1)
        return Period(start, end, f"{y}Q{q}")
    raise ValidationError.of([FieldError("period", Message(
        f"统计期 ‘{raw}’ 无效：请写年份（2025）、年份区间（2023-2025）或季度（2025Q3）",
        f"period '{raw}' is invalid: use a year (2025), a range of years (2023-2025) or a quarter (2025Q3)"), raw)])


# -- records -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContractRecord:
    id: int
    contract_type: str
    signed_on: dt.date
    amount_yuan: int
    tech_amount_yuan: int
    seller_region: str
    buyer_region: str
    park: str = ""
    industry: str | None = None
    seller_name: str = ""
    buyer_name: str = ""
    listing_created: dt.date | None = None  # earliest creation date of the linked listings


@dataclass(frozen=True)
class FunnelCounts:
    """Counts for one period. `interests` / `accepted` are None when contact requests are not recorded."""

    listings: int
    interests: int | None
    accepted: int | None
    deals: int
    contracts: int
    source: str = "contact_requests"  # where interests/accepted came from


@dataclass(frozen=True)
class ResourceFigures:
    hours_by_region: dict[str, float] = field(default_factory=dict)  # province → booked instrument hours
    policies_qualifying: list[tuple[str, int]] = field(default_factory=list)  # (policy title, organisations)
    available: bool = False


# -- figures -----------------------------------------------------------------------------------
@dataclass
class Bucket:
    key: str
    label: str
    count: int = 0
    amount_yuan: int = 0
    tech_amount_yuan: int = 0

    def add(self, r: ContractRecord) -> None:
        self.count += 1
        self.amount_yuan += r.amount_yuan
        self.tech_amount_yuan += r.tech_amount_yuan

    def row(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "count": self.count, "amount_yuan": self.amount_yuan,
                "amount_wan": yuan_to_wan(self.amount_yuan), "tech_amount_yuan": self.tech_amount_yuan,
                "tech_amount_wan": yuan_to_wan(self.tech_amount_yuan)}


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    count: int | None
    rate: float | None  # share of the previous stage, 0..1; None when either count is unknown or zero


@dataclass
class Figures:
    period: Period
    total: Bucket
    previous_total: Bucket
    by_year: list[Bucket]
    by_quarter: list[Bucket]
    by_seller_province: list[Bucket]
    by_buyer_province: list[Bucket]
    by_park: list[Bucket]
    by_industry: list[Bucket]
    by_type: list[Bucket]
    flows: list[Bucket]  # key "BJ>TJ": seller province → buyer province
    funnel: list[FunnelStage]
    funnel_source: str
    days_to_contract: dict[str, float | int | None]
    top_sellers: list[Bucket]
    top_buyers: list[Bucket]
    resources: ResourceFigures
    cross_region_amount_yuan: int = 0
    corridor_amount_yuan: int = 0  # 北京研发 → 天津/河北转化
    # every figure above counts registered contracts only (the office gave them a number); the contracts
    # signed in the period that are still submitted, under review or returned are left out, and counted here
    not_registered_count: int = 0
    not_registered_amount_yuan: int = 0

    @property
    def growth(self) -> float | None:
        if self.previous_total.amount_yuan <= 0:
            return None
        return self.total.amount_yuan / self.previous_total.amount_yuan - 1

    def as_dict(self) -> dict[str, Any]:
        """One JSON object: what `tongxin stats --json` prints and the API returns."""
        rows: Callable[[list[Bucket]], list[dict[str, Any]]] = lambda bs: [b.row() for b in bs]  # noqa: E731
        return {
            "period": self.period.label,
            "counted": "registered",  # 已登记: only contracts the registration office registered
            "not_registered": {"count": self.not_registered_count, "amount_yuan": self.not_registered_amount_yuan},
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "total": self.total.row(),
            "previous_total": self.previous_total.row() | {"period": self.period.previous().label},
            "growth": None if self.growth is None else round(self.growth, 4),
            "cross_region_amount_yuan": self.cross_region_amount_yuan,
            "corridor_amount_yuan": self.corridor_amount_yuan,
            "by_year": rows(self.by_year),
            "by_quarter": rows(self.by_quarter),
            "by_seller_province": rows(self.by_seller_province),
            "by_buyer_province": rows(self.by_buyer_province),
            "by_park": rows(self.by_park),
            "by_industry": rows(self.by_industry),
            "by_type": rows(self.by_type),
            "flows": rows(self.flows),
            "funnel": [asdict(s) for s in self.funnel],
            "funnel_source": self.funnel_source,
            "days_to_contract": self.days_to_contract,
            "top_sellers": rows(self.top_sellers),
            "top_buyers": rows(self.top_buyers),
            "instrument_hours_by_region": self.resources.hours_by_region,
            "policies_qualifying": [{"policy": p, "organisations": n} for p, n in self.resources.policies_qualifying],
            "resources_available": self.resources.available,
        }


def _group(records: Iterable[ContractRecord], key: Callable[[ContractRecord], str], label: Callable[[str], str]) -> dict[str, Bucket]:
    out: dict[str, Bucket] = {}
    for r in records:
        k = key(r)
        b = out.get(k)
        if b is None:
            b = out[k] = Bucket(k, label(k))
        b.add(r)
    return out


def _by_amount(bs: Iterable[Bucket]) -> list[Bucket]:
    return sorted(bs, key=lambda b: (-b.amount_yuan, b.key))


def province_label(p: str) -> str:
    return regions.PROVINCE_LABELS.get(p, (p, p))[0]


def park_of(r: ContractRecord) -> str:
    """The park when given, else the buyer's district (where the technology is put to use)."""
    return r.park or regions.label(r.buyer_region)


def industry_section(code: str | None) -> str:
    return (industries.section_of(code) or "") if code else ""


def _industry_label(section: str) -> str:
    return industries.label(section) if section else "未注明"


def rate(a: int | None, b: int | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return round(b / a, 4)


FUNNEL_LABELS = (("listings", "在架资源"), ("interests", "对接意向"), ("accepted", "接受对接"),
                 ("deals", "进入洽谈"), ("contracts", "签订合同（经平台洽谈，含未登记）"))


def funnel(c: FunnelCounts) -> list[FunnelStage]:
    counts = [c.listings, c.interests, c.accepted, c.deals, c.contracts]
    out = []
    prev: int | None = None
    for i, ((key, lab), n) in enumerate(zip(FUNNEL_LABELS, counts, strict=False)):
        out.append(FunnelStage(key, lab, n, None if i == 0 else rate(prev, n)))
        prev = n  # a stage whose count is unknown leaves the next stage's rate unknown too
    return out


def days_summary(days: list[int]) -> dict[str, float | int | None]:
    if not days:
        return {"n": 0, "median": None, "mean": None, "p25": None, "p75": None}
    q = statistics.quantiles(days, n=4, method="inclusive") if len(days) > 1 else [days[0]] * 3
    return {"n": len(days), "median": float(statistics.median(days)), "mean": round(statistics.fmean(days), 1),
            "p25": float(q[0]), "p75": float(q[2])}


def compute(records: list[ContractRecord], period: Period, counts: FunnelCounts,
            resources: ResourceFigures | None = None, top: int = 10) -> Figures:
    now = [r for r in records if period.contains(r.signed_on)]
    prev_p = period.previous()
    before = [r for r in records if prev_p.contains(r.signed_on)]
    total = Bucket("total", "合计")
    for r in now:
        total.add(r)
    prev_total = Bucket("total", "合计")
    for r in before:
        prev_total.add(r)
    prov = regions.province_of
    by_year = sorted(_group(now, lambda r: str(r.signed_on.year), lambda k: f"{k}年").values(), key=lambda b: b.key)
    by_quarter = sorted(_group(now, lambda r: f"{r.signed_on.year}Q{(r.signed_on.month - 1) // 3 + 1}",
                               lambda k: f"{k[:4]}年第{k[-1]}季度").values(), key=lambda b: b.key)
    order = {p: i for i, p in enumerate(regions.PROVINCES)}
    by_seller = sorted(_group(now, lambda r: prov(r.seller_region), province_label).values(), key=lambda b: order.get(b.key, 9))
    by_buyer = sorted(_group(now, lambda r: prov(r.buyer_region), province_label).values(), key=lambda b: order.get(b.key, 9))
    by_park = _by_amount(_group(now, park_of, lambda k: k).values())
    by_industry = _by_amount(_group(now, lambda r: industry_section(r.industry), _industry_label).values())
    type_order = {c.value: i for i, c in enumerate(CONTRACT_TYPES)}
    by_type = sorted(_group(now, lambda r: r.contract_type, type_label).values(), key=lambda b: type_order.get(b.key, 9))
    flows = _by_amount(_group(now, lambda r: f"{prov(r.seller_region)}>{prov(r.buyer_region)}",
                              lambda k: f"{province_label(k.split('>')[0])}→{province_label(k.split('>')[1])}").values())
    sellers = _by_amount(_group(now, lambda r: r.seller_name, lambda k: k).values())[:top]
    buyers = _by_amount(_group(now, lambda r: r.buyer_name, lambda k: k).values())[:top]
    days = [(r.signed_on - r.listing_created).days for r in now if r.listing_created is not None and r.listing_created <= r.signed_on]
    cross = sum(r.amount_yuan for r in now if prov(r.seller_region) != prov(r.buyer_region))
    corridor = sum(r.amount_yuan for r in now if prov(r.seller_region) == "BJ" and prov(r.buyer_region) in ("TJ", "HE"))
    return Figures(
        period=period, total=total, previous_total=prev_total, by_year=by_year, by_quarter=by_quarter,
        by_seller_province=by_seller, by_buyer_province=by_buyer, by_park=by_park, by_industry=by_industry,
        by_type=by_type, flows=flows, funnel=funnel(counts), funnel_source=counts.source,
        days_to_contract=days_summary(days), top_sellers=sellers, top_buyers=buyers,
        resources=resources or ResourceFigures(), cross_region_amount_yuan=cross, corridor_amount_yuan=corridor,
    )


def fmt_yi(yuan: int) -> str:
    return f"{yuan_to_yi(yuan):,.2f}"


def fmt_wan(yuan: int) -> str:
    return f"{yuan_to_wan(yuan):,.2f}"


def fmt_rate(r: float | None) -> str:
    return "—" if r is None else f"{r * 100:.1f}%"
