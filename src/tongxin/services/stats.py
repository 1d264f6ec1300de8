"""The region's figures from the database: read plain records, hand them to `core.stats.compute`.

Every face (dashboard, public summary, `tongxin stats`, the XLSX export, the year-end report)
calls `Statistics.figures()` (one read transaction around `figures()`), so they show the same numbers.

Figures owned by other parts of the exchange are read defensively, by table name, so this
module works before (and without) them:
- contact requests: table `contact_requests` (columns `status`, `created_at`; accepted = status 'accepted');
  when absent, `interests` is unknown and `accepted` counts deals opened from a contact request.
- instrument hours: `instrument_bookings` marked used, by the instrument owner's province.
- policies qualifying: each live policy listing's eligibility rules evaluated for every verified organisation.
Any of these missing (or shaped differently) gives zeros / empty lists, never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, String, column, func, or_, select, table
from sqlalchemy.orm import Session

from ..core import regions
from ..core import stats as st
from ..core.clock import local_today
from ..storage import deals_repo as R
from ..storage.models import ListingRow, OrganisationRow
from ..storage.models_deals import DealRow, TechContractRow

if TYPE_CHECKING:
    from .exchange import Exchange

CONTACT_TABLE = "contact_requests"
INACTIVE_BOOKINGS = ("cancelled", "canceled", "declined", "rejected")


def _bounds(p: st.Period) -> tuple[dt.datetime, dt.datetime]:
    tz = dt.UTC
    return (dt.datetime.combine(p.start, dt.time.min, tz), dt.datetime.combine(p.end + dt.timedelta(days=1), dt.time.min, tz))


def contact_request_counts(s: Session, p: st.Period, tables: set[str] | None = None) -> tuple[int, int] | None:
    """(interests, accepted) for contact requests created in the period; None when the table is absent."""
    tables = tables if tables is not None else R.table_names(s)
    if CONTACT_TABLE not in tables:
        return None
    t = table(CONTACT_TABLE, column("status", String()), column("created_at", DateTime(timezone=True)))
    lo, hi = _bounds(p)
    in_p = (t.c.created_at >= lo, t.c.created_at < hi)
    total = int(s.scalar(select(func.count()).select_from(t).where(*in_p)) or 0)
    accepted = int(s.scalar(select(func.count()).select_from(t).where(*in_p, t.c.status == "accepted")) or 0)
    return total, accepted


def funnel_counts(s: Session, p: st.Period) -> st.FunnelCounts:
    lo, hi = _bounds(p)
    # listings on offer during the period (published before its end, not expired before its start): the
    # listings interests of the period could go to; counting only those created in it put a year's
    # interests over a handful of new listings (a "rate" of 11.71)
    listings = int(s.scalar(select(func.count()).select_from(ListingRow).where(
        ListingRow.created_at < hi, ListingRow.status != "draft",
        or_(ListingRow.valid_until.is_(None), ListingRow.valid_until >= p.start))) or 0)
    deals = int(s.scalar(select(func.count()).select_from(DealRow).where(DealRow.created_at >= lo, DealRow.created_at < hi)) or 0)
    # contracts that came out of a deal on the platform (registered contracts without one are not part of the funnel)
    contracts = int(s.scalar(select(func.count()).select_from(TechContractRow).where(
        TechContractRow.signed_on >= p.start, TechContractRow.signed_on <= p.end, TechContractRow.deal_id.is_not(None))) or 0)
    cr = contact_request_counts(s, p)
    if cr is not None:
        return st.FunnelCounts(listings, cr[0], cr[1], deals, contracts, source="contact_requests")
    from_contact = int(s.scalar(select(func.count()).select_from(DealRow).where(
        DealRow.created_at >= lo, DealRow.created_at < hi, DealRow.contact_request_id.is_not(None))) or 0)
    return st.FunnelCounts(listings, None, from_contact, deals, contracts, source="deals")


def resource_figures(s: Session, p: st.Period) -> st.ResourceFigures:
    """Instrument hours actually used (bookings marked used, by the owner's province) and, per live
    policy, how many organisations qualify today (the core rule engine over each organisation's facts)."""
    from ..core import policy as rules
    from ..core.kinds import default_registry
    from ..storage import repo
    from ..storage import resources_repo as rr
    from ..storage.models_resources import InstrumentBookingRow

    hours: dict[str, float] = {}
    lo, hi = _bounds(p)
    b = InstrumentBookingRow
    q = (select(OrganisationRow.region, b.starts_at, b.ends_at)
         .select_from(b).join(ListingRow, ListingRow.id == b.instrument_id).join(OrganisationRow, OrganisationRow.id == ListingRow.owner_id)
         .where(b.starts_at >= lo, b.starts_at < hi, b.status == "used"))
    for region, start, end in s.execute(q):
        prov = st.province_label(regions.province_of(region))
        hours[prov] = round(hours.get(prov, 0.0) + max(0.0, (end - start).total_seconds() / 3600), 1)
    today = min(local_today(), p.end)
    reg = default_registry()
    policy_kind = reg.kind_with("eligibility_rules")
    policies_live = [x for x in repo.find_listings(s, repo.ListingFilter(kind=policy_kind, status="published", limit=100000), reg)
                     if x.is_live(today)] if policy_kind else []
    policies: list[tuple[str, int]] = []
    if policies_live:
        org_ids = list(s.scalars(select(OrganisationRow.id).where(OrganisationRow.verified.is_(True))))
        facts = [rr.facts_for(s, oid, today) for oid in org_ids]
        for x in policies_live:
            conds = rules.parse_rules(x.attrs.get("eligibility"))
            n = sum(1 for f in facts if rules.qualifies(rules.evaluate(conds, f)))
            policies.append((x.title, n))
        policies.sort(key=lambda t: (-t[1], t[0]))
    return st.ResourceFigures(hours, policies, True)


def figures(s: Session, period: st.Period | str) -> st.Figures:
    """The figures of registered contracts (R.contract_records), with the count of those signed in the
    period but not registered (submitted, under review or returned) beside them, never inside them."""
    p = st.parse_period(period) if isinstance(period, str) else period
    f = st.compute(R.contract_records(s), p, funnel_counts(s, p), resource_figures(s, p))
    f.not_registered_count, f.not_registered_amount_yuan = R.unregistered_in(s, p.start, p.end)
    return f


def default_period(today: dt.date | None = None) -> str:
    """The latest complete year, or the current one from December on."""
    today = today or local_today()
    return str(today.year if today.month == 12 else today.year - 1)


def period_with_data(s: Session, today: dt.date | None = None) -> str:
    """The period a page opens on: the latest year up to `default_period()` that has contracts
    (the first year with contracts when all are later; `default_period()` when there are none)."""
    d = int(default_period(today))
    hi = s.execute(select(func.max(TechContractRow.signed_on)).where(TechContractRow.signed_on <= dt.date(d, 12, 31))).scalar()
    if hi is not None:
        return str(hi.year)
    lo = s.execute(select(func.min(TechContractRow.signed_on))).scalar()
    return str(lo.year) if lo is not None else str(d)


def available_years(s: Session) -> list[int]:
    lo, hi = s.execute(select(func.min(TechContractRow.signed_on), func.max(TechContractRow.signed_on))).one()
    if lo is None:
        return []
    return list(range(lo.year, hi.year + 1))


class Statistics:
    """The figures, in one read transaction per request or command (dashboard, summary, API, CLI, report)."""

    def __init__(self, ex: Exchange) -> None:
        self.db = ex.db

    def figures(self, period: st.Period | str | None = None) -> st.Figures:
        """The figures of a period (default: the latest year with contracts, `period_with_data`)."""
        with self.db.transaction(write=False) as s:
            return figures(s, period or period_with_data(s))

    def figures_and_years(self, period: st.Period | str | None = None) -> tuple[st.Figures, list[int]]:
        """The figures and the years that have contracts (the period picker)."""
        with self.db.transaction(write=False) as s:
            return figures(s, period or period_with_data(s)), available_years(s)


# -- tables shared by the dashboard, the CSV downloads and the XLSX export ---------------------------
def tables(f: st.Figures) -> dict[str, tuple[str, list[str], list[list[Any]]]]:
    """name → (Chinese title, headers, rows). The CSV download of a chart is exactly its table."""
    def money(bs: list[st.Bucket], first: str) -> tuple[list[str], list[list[Any]]]:
        return ([first, "合同数 contracts", "成交额（万元）amount", "技术交易额（万元）tech amount"],
                [[b.label, b.count, st.yuan_to_wan(b.amount_yuan), st.yuan_to_wan(b.tech_amount_yuan)] for b in bs])

    out: dict[str, tuple[str, list[str], list[list[Any]]]] = {}
    for name, title, first, bs in (
        ("by_year", "按年度", "年度 year", f.by_year),
        ("by_quarter", "按季度", "季度 quarter", f.by_quarter),
        ("by_seller_province", "技术输出地（卖方）", "地区 region", f.by_seller_province),
        ("by_buyer_province", "技术吸纳地（买方）", "地区 region", f.by_buyer_province),
        ("by_park", "按园区/区县", "园区/区县 park/district", f.by_park),
        ("by_industry", "按行业门类", "行业 industry", f.by_industry),
        ("by_type", "按合同类型", "合同类型 type", f.by_type),
        ("flows", "跨地区流向（卖方→买方）", "流向 flow", f.flows),
        ("top_sellers", "技术输出前十机构", "机构 organisation", f.top_sellers),
        ("top_buyers", "技术吸纳前十机构", "机构 organisation", f.top_buyers),
    ):
        h, rows = money(bs, first)
        out[name] = (title, h, rows)
    out["funnel"] = ("对接转化漏斗", ["环节 stage", "数量 count", "转化率 rate"],
                     [[x.label, "" if x.count is None else x.count, st.fmt_rate(x.rate)] for x in f.funnel])
    d = f.days_to_contract
    out["days_to_contract"] = ("从发布到签约（天）", ["指标 measure", "天 days"],
                               [["合同数 n", d["n"]], ["中位数 median", d["median"]], ["平均 mean", d["mean"]],
                                ["下四分位 p25", d["p25"]], ["上四分位 p75", d["p75"]]])
    out["instrument_hours"] = ("仪器共享机时（按地区）", ["地区 region", "机时 hours"], [[k, v] for k, v in f.resources.hours_by_region.items()])
    out["policies"] = ("政策符合条件机构数", ["政策 policy", "机构数 organisations"], [[p, n] for p, n in f.resources.policies_qualifying])
    order = ("by_year", "by_quarter", "flows", "by_park", "by_type", "by_industry", "funnel", "days_to_contract",
             "by_seller_province", "by_buyer_province", "top_sellers", "top_buyers", "instrument_hours", "policies")
    return {k: out[k] for k in order}


def key_figures(f: st.Figures) -> list[tuple[str, str, str]]:
    """(label, value, note) — the headline numbers, in the order a leader reads them. They count registered
    contracts (已登记) and say so; the contracts not (yet) registered are named beside them."""
    g = f.growth
    return [
        ("已登记技术合同成交额", f"{st.fmt_yi(f.total.amount_yuan)} 亿元", "同比 " + ("—" if g is None else f"{g * 100:+.1f}%")),
        ("已登记技术合同数", f"{f.total.count:,} 项", f"上期 {f.previous_total.count:,} 项；另有 {f.not_registered_count:,} 项已签订未登记，不计入"),
        ("技术交易额", f"{st.fmt_yi(f.total.tech_amount_yuan)} 亿元", "合同中技术部分的金额"),
        ("跨省市成交额", f"{st.fmt_yi(f.cross_region_amount_yuan)} 亿元",
         "占比 " + st.fmt_rate(f.cross_region_amount_yuan / f.total.amount_yuan if f.total.amount_yuan else None)),
        ("北京研发、津冀转化", f"{st.fmt_yi(f.corridor_amount_yuan)} 亿元", "北京卖方 → 天津、河北买方"),
        ("签约中位用时", "—" if f.days_to_contract["median"] is None else f"{f.days_to_contract['median']:.0f} 天", "从资源发布到合同签订"),
    ]
