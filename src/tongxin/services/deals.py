"""Deal pipeline services: open a deal from an accepted contact request, move it through its
stages, attach financial services, keep the agreement register, and list reminders.

Functions that take a `Session` never commit: they are the steps of a use case. The use cases
(`Deals`, at the end) open one transaction each; pages, the API and the CLI call those. Who may see or change a deal is decided in `can_see_deal` (parties and staff).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import deals as D
from ..core.clock import day_of
from ..core.contracts import wan_to_yuan
from ..core.errors import Conflict, FieldError, Forbidden, Message, NotFound, ValidationError
from ..settings import setting
from ..storage import deals_repo as R
from ..storage.models_deals import AgreementRow, DealFinanceRow, DealRow

if TYPE_CHECKING:
    from .exchange import Exchange


def can_see_deal(viewer: acc.Viewer, deal: DealRow) -> bool:
    """Both parties and the platform's staff see a deal; nobody else does."""
    return viewer.is_staff or (viewer.org_id is not None and viewer.org_id in (deal.seller_org_id, deal.buyer_org_id))


def _visible(s: Session, deal_id: int, viewer: acc.Viewer) -> DealRow:
    d = s.get(DealRow, deal_id)  # missing and not yours get the same answer
    if d is None or not can_see_deal(viewer, d):
        raise NotFound(Message(f"洽谈 {deal_id} 不存在或无权查看", f"deal {deal_id} does not exist or is not visible to you"))
    return d


def _title(s: Session, seller_org_id: int, buyer_org_id: int, listing_ids: Sequence[int]) -> str:
    orgs = R.orgs_by_id(s, [seller_org_id, buyer_org_id])
    if seller_org_id not in orgs or buyer_org_id not in orgs:
        missing = seller_org_id if seller_org_id not in orgs else buyer_org_id
        raise NotFound(Message(f"机构 {missing} 不存在", f"organisation {missing} does not exist"))
    titles = R.listing_titles(s, listing_ids)
    what = titles[listing_ids[0]][0] if listing_ids and listing_ids[0] in titles else "技术合作"
    return f"{orgs[buyer_org_id].name} × {orgs[seller_org_id].name}：{what}"[:200]


def open_deal_from_contact(session: Session, contact_request_id: int, seller_org_id: int, buyer_org_id: int,
                           listing_ids: Sequence[int], actor_user_id: int | None, at: dt.datetime | None = None) -> int:
    """Called when a listing's owner accepts a contact request: opens a deal at 初步接洽.

    Idempotent: accepting the same request twice returns the same deal.
    """
    existing = R.deal_by_contact(session, contact_request_id)
    if existing is not None:
        return existing.id
    if seller_org_id == buyer_org_id:
        raise Conflict(Message("洽谈双方不能是同一机构", "the two parties of a deal must be different organisations"))
    lids = list(dict.fromkeys(int(i) for i in listing_ids))
    d = R.add_deal(session, title=_title(session, seller_org_id, buyer_org_id, lids), seller_org_id=seller_org_id,
                   buyer_org_id=buyer_org_id, listing_ids=lids, origin="contact", contact_request_id=contact_request_id,
                   actor_user_id=actor_user_id, at=at or R.utcnow(), note="对接请求已接受，进入初步接洽 / contact request accepted")
    return d.id


def open_deal(session: Session, seller_org_id: int, buyer_org_id: int, listing_ids: Sequence[int], actor_user_id: int | None,
              note: str = "", at: dt.datetime | None = None) -> int:
    """A deal entered by an operator (e.g. agreed offline), not from a contact request."""
    if seller_org_id == buyer_org_id:
        raise Conflict(Message("洽谈双方不能是同一机构", "the two parties of a deal must be different organisations"))
    lids = list(dict.fromkeys(int(i) for i in listing_ids))
    d = R.add_deal(session, title=_title(session, seller_org_id, buyer_org_id, lids), seller_org_id=seller_org_id,
                   buyer_org_id=buyer_org_id, listing_ids=lids, origin="manual", contact_request_id=None,
                   actor_user_id=actor_user_id, at=at or R.utcnow(), note=note)
    return d.id


def move_deal(session: Session, deal_id: int, to_stage: str, viewer: acc.Viewer, actor_user_id: int | None = None,
              note: str = "", at: dt.datetime | None = None) -> None:
    """Change a deal's stage (rules in core.deals), recording who, when and why."""
    d = _visible(session, deal_id, viewer)
    target = D.find_stage(to_stage) or to_stage
    D.check_transition(d.stage, target)
    R.add_event(session, d, target, actor_user_id, viewer.org_id, note.strip()[:2000], at or R.utcnow())


def add_note(session: Session, deal_id: int, viewer: acc.Viewer, note: str, actor_user_id: int | None = None,
             at: dt.datetime | None = None) -> None:
    d = _visible(session, deal_id, viewer)
    if d.stage in D.FINAL_STAGES:
        raise Conflict(Message("洽谈已结束，不能再添加记录", "the deal is closed; no more notes can be added"))
    R.add_event(session, d, d.stage, actor_user_id, viewer.org_id, note.strip()[:2000], at or R.utcnow())


@dataclass
class DealDetail:
    deal: DealRow
    seller: R.OrgBrief
    buyer: R.OrgBrief
    events: list[Any]
    finance: list[DealFinanceRow]
    agreements: list[AgreementRow]
    next_stages: tuple[str, ...]


def deal_detail(session: Session, deal_id: int, viewer: acc.Viewer) -> DealDetail:
    d = _visible(session, deal_id, viewer)
    orgs = R.orgs_by_id(session, [d.seller_org_id, d.buyer_org_id])
    return DealDetail(d, orgs[d.seller_org_id], orgs[d.buyer_org_id], R.deal_events(session, d.id), R.deal_finance(session, d.id),
                      R.agreements(session, d.id), D.allowed_next(d.stage))


def deals_for(session: Session, viewer: acc.Viewer, stage: str | None = None, limit: int = 200, offset: int = 0) -> list[DealRow]:
    if viewer.is_staff:
        return R.list_deals(session, None, stage, limit, offset)
    if viewer.org_id is None:
        return []
    return R.list_deals(session, viewer.org_id, stage, limit, offset)


# -- financial services ----------------------------------------------------------------------------
def attach_finance(session: Session, deal_id: int, kind: str, viewer: acc.Viewer, provider_org_id: int | None = None,
                   amount_wan: float | None = None, note: str = "", at: dt.datetime | None = None) -> int:
    d = _visible(session, deal_id, viewer)
    k = D.check_finance_kind(kind)
    if d.stage == "terminated":
        raise Conflict(Message("洽谈已终止，不能再附加金融服务", "the deal was terminated; no financial service can be attached"))
    when = at or R.utcnow()
    f = DealFinanceRow(deal_id=d.id, kind=k, provider_org_id=provider_org_id, note=note.strip(), status="offered",
                       amount_yuan=None if amount_wan is None else wan_to_yuan(amount_wan), created_at=when, updated_at=when)
    session.add(f)
    d.last_activity_at = when
    session.flush()
    return f.id


def set_finance_status(session: Session, finance_id: int, status: str, viewer: acc.Viewer, at: dt.datetime | None = None) -> None:
    f = R.get_finance(session, finance_id)
    _visible(session, f.deal_id, viewer)
    D.check_finance_transition(f.status, status)
    f.status = next(c.value for c in D.FINANCE_STATUSES if status in (c.value, c.zh, c.en))
    f.updated_at = at or R.utcnow()
    session.flush()


# -- agreements ------------------------------------------------------------------------------------
def register_agreement(session: Session, agreement_type: str, title: str, party_a_org_id: int, party_b_org_id: int,
                       effective_on: dt.date | None, expires_on: dt.date | None, viewer: acc.Viewer, deal_id: int | None = None,
                       remind_days: int = D.DEFAULT_EXPIRY_NOTICE_DAYS, note: str = "") -> int:
    if deal_id is not None:
        _visible(session, deal_id, viewer)
    elif not viewer.is_staff and viewer.org_id not in (party_a_org_id, party_b_org_id):
        raise Forbidden(Message("只有协议当事方或平台运营人员可以登记协议", "only a party to the agreement or the platform's staff may register it"))
    a = D.validate_agreement(agreement_type, title, effective_on, expires_on, remind_days)
    row = AgreementRow(deal_id=deal_id, agreement_type=a.agreement_type, title=a.title, party_a_org_id=party_a_org_id,
                       party_b_org_id=party_b_org_id, effective_on=a.effective_on, expires_on=a.expires_on,
                       remind_days=a.remind_days, note=note.strip())
    session.add(row)
    session.flush()
    return row.id


# -- reminders ---------------------------------------------------------------------------------------
def idle_days_setting() -> int:
    try:
        return max(1, int(setting("TONGXIN_DEAL_IDLE_DAYS")))
    except ValueError:
        return D.DEFAULT_IDLE_DAYS


def reminders(session: Session, today: dt.date, idle_days: int | None = None) -> list[D.Reminder]:
    """Idle open deals and agreements close to expiry (for the operators' dashboard and mail)."""
    idle = idle_days if idle_days is not None else idle_days_setting()
    states = [D.DealState(d.id, d.title, d.stage, R.aware(d.last_activity_at) or R.utcnow()) for d in R.open_deals(session)]
    ags = [D.AgreementState(a.id, a.title, a.expires_on, a.remind_days) for a in R.agreements(session)]
    return D.idle_reminders(states, today, idle) + D.expiry_reminders(ags, today)


# -- for the deal pages (who may do what stays in can_see_deal and core.access) ------------------------
BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")


def local(t: dt.datetime | None) -> dt.datetime | None:
    """A stored time in Beijing time, for display."""
    a = R.aware(t)
    return a.astimezone(BEIJING) if a is not None else None


def deal_for_contact(session: Session, contact_request_id: int, viewer: acc.Viewer) -> int:
    """The deal an accepted contact request opened (same 'missing or not yours' answer for both)."""
    d = R.deal_by_contact(session, contact_request_id)
    if d is None or not can_see_deal(viewer, d):
        raise acc.not_visible("联系请求的洽谈", "deal of contact request", contact_request_id)
    return d.id


def finance_next(status: str) -> tuple[str, ...]:
    """Statuses a financial service may move to from `status` (the rules are core.deals')."""
    out = []
    for c in D.FINANCE_STATUSES:
        try:
            D.check_finance_transition(status, c.value)
        except Conflict:
            continue
        out.append(c.value)
    return tuple(out)


# a financial_service listing's product type → the kind of financial service attached to a deal
PRODUCT_KIND = {"credit_guarantee": "guarantee", "bank_loan": "loan", "ip_pledge": "loan", "angel": "investment", "venture": "investment"}


@dataclass(frozen=True)
class FinanceOption:
    listing_id: int
    title: str
    provider_id: int
    provider: str
    kind: str


def finance_options(session: Session, viewer: acc.Viewer, registry: Any) -> list[FinanceOption]:
    """Published financial_service listings this viewer may read in full, to pick from."""
    from ..storage import repo

    kind = registry.kind_with("deal_finance")
    if kind is None:
        return []
    rows = repo.find_listings(session, repo.ListingFilter(kind=kind, status="published", limit=1000), registry)
    out = [FinanceOption(int(x.id or 0), x.title, int(x.owner_id or 0), x.owner_name, PRODUCT_KIND[str(x.attrs.get("product_type"))])
           for x in rows if acc.access(viewer, x) == acc.Access.FULL and x.attrs.get("product_type") in PRODUCT_KIND]
    return sorted(out, key=lambda o: ([k.value for k in D.FINANCE_KINDS].index(o.kind), o.provider, o.title))


def attach_finance_listing(session: Session, deal_id: int, listing_id: int, viewer: acc.Viewer, registry: Any,
                           amount_wan: float | None = None, note: str = "", at: dt.datetime | None = None) -> int:
    """Attach a financial product published on the platform: its kind and provider come from the listing."""
    from ..storage import repo

    _visible(session, deal_id, viewer)
    try:
        x = repo.fetch_listing(session, listing_id, registry)
    except NotFound:
        raise acc.not_visible("金融服务资源", "financial service listing", listing_id) from None
    if acc.access(viewer, x) != acc.Access.FULL:
        raise acc.not_visible("金融服务资源", "financial service listing", listing_id)
    kind = PRODUCT_KIND.get(str(x.attrs.get("product_type")))
    if not registry.has_role(x.kind, "deal_finance") or x.status != "published" or kind is None:
        raise Conflict(Message(f"资源 {listing_id} 不是可选的金融服务（信用担保、银行贷款或股权投资）",
                               f"listing {listing_id} is not a financial service that can be attached (guarantee, loan or investment)"))
    if amount_wan is not None and not 0 < amount_wan <= 1_000_000:
        raise ValidationError.of([FieldError("amount_wan", Message(
            "金额应大于 0 且不超过 1000000 万元", "the amount must be above 0 and at most 1,000,000 (10,000 yuan)"), amount_wan)])
    text = f"{x.title}（资源 #{x.id}）" + (f"：{note.strip()}" if note.strip() else "")
    return attach_finance(session, deal_id, kind, viewer, provider_org_id=x.owner_id, amount_wan=amount_wan, note=text[:2000], at=at)


@dataclass(frozen=True)
class DealLine:
    """One row of 'my deals'."""

    deal: DealRow
    counterpart: str  # the other party (for staff: both, seller → buyer)
    role: str  # "seller" | "buyer" | "staff"
    listings: list[tuple[int, str]]
    last_activity: dt.datetime | None
    idle_days: int
    idle: bool  # open and idle longer than the reminder setting


def deal_lines(session: Session, viewer: acc.Viewer, today: dt.date, stage: str | None = None, limit: int = 200,
               offset: int = 0) -> list[DealLine]:
    deals = deals_for(session, viewer, stage, limit, offset)
    orgs = R.orgs_by_id(session, [d.seller_org_id for d in deals] + [d.buyer_org_id for d in deals])
    titles = R.listing_titles(session, sorted({int(i) for d in deals for i in (d.listing_ids or [])}))
    idle_after = idle_days_setting()
    out = []
    for d in deals:
        seller, buyer = orgs[d.seller_org_id].name, orgs[d.buyer_org_id].name
        if viewer.org_id == d.seller_org_id:
            role, other = "seller", buyer
        elif viewer.org_id == d.buyer_org_id:
            role, other = "buyer", seller
        else:
            role, other = "staff", f"{seller} → {buyer}"
        last = local(d.last_activity_at)
        stored = R.aware(d.last_activity_at)
        days = (today - day_of(stored)).days if stored else 0  # counted as the reminders count them (core.deals)
        out.append(DealLine(d, other, role, [(int(i), titles[int(i)][0]) for i in (d.listing_ids or []) if int(i) in titles], last, days,
                            d.stage in D.OPEN_STAGES and days > idle_after))
    return out


def reminders_for(session: Session, viewer: acc.Viewer, today: dt.date, deal_ids: Sequence[int] | None = None) -> list[D.Reminder]:
    """Idle deals and agreements close to expiry among the deals this viewer sees (or just `deal_ids`)."""
    deals = deals_for(session, viewer, None, 1000) if deal_ids is None else [_visible(session, i, viewer) for i in deal_ids]
    states = [D.DealState(d.id, d.title, d.stage, R.aware(d.last_activity_at) or R.utcnow()) for d in deals]
    ags = [D.AgreementState(a.id, a.title, a.expires_on, a.remind_days) for a in R.agreements_for_deals(session, [d.id for d in deals])]
    return D.idle_reminders(states, today, idle_days_setting()) + D.expiry_reminders(ags, today)


@dataclass(frozen=True)
class EventLine:
    at: dt.datetime | None
    from_stage: str | None
    to_stage: str
    who: str  # user name (organisation), or "" for the system
    note: str


@dataclass
class DealPage:
    x: DealDetail
    events: list[EventLine]
    listings: list[tuple[int, str]]
    providers: dict[int, str]
    finance_next: dict[int, tuple[str, ...]]
    reminders: list[D.Reminder]
    stopped_at: str | None  # for a terminated deal: the stage it was terminated from
    contracts: list[Any]


def deal_page(session: Session, deal_id: int, viewer: acc.Viewer, today: dt.date) -> DealPage:
    x = deal_detail(session, deal_id, viewer)
    d = x.deal
    names = R.user_names(session, [e.actor_user_id for e in x.events])
    org_ids = {e.actor_org_id for e in x.events if e.actor_org_id} | {f.provider_org_id for f in x.finance if f.provider_org_id}
    orgs = R.orgs_by_id(session, [int(i) for i in org_ids if i is not None])
    events = []
    for e in x.events:
        name, role = names.get(int(e.actor_user_id), (f"#{e.actor_user_id}", "")) if e.actor_user_id else ("", "")
        who = name
        if e.actor_org_id and int(e.actor_org_id) in orgs:
            who = f"{name}（{orgs[int(e.actor_org_id)].name}）" if name else orgs[int(e.actor_org_id)].name
        elif name and role in ("operator", "admin"):
            who = f"{name}（平台运营 / staff）"
        events.append(EventLine(local(e.at), e.from_stage, e.to_stage, who, e.note))
    stopped = next((e.from_stage for e in reversed(x.events) if e.to_stage == "terminated"), None) if d.stage == "terminated" else None
    titles = R.listing_titles(session, [int(i) for i in d.listing_ids or []])
    ags = [D.AgreementState(a.id, a.title, a.expires_on, a.remind_days) for a in x.agreements]
    rem = D.idle_reminders([D.DealState(d.id, d.title, d.stage, R.aware(d.last_activity_at) or R.utcnow())], today, idle_days_setting())
    return DealPage(x, events, [(int(i), titles[int(i)][0]) for i in d.listing_ids or [] if int(i) in titles],
                    {i: o.name for i, o in orgs.items()}, {f.id: finance_next(f.status) for f in x.finance},
                    rem + D.expiry_reminders(ags, today), stopped, R.contracts_for_deal(session, d.id))


def register_deal_agreement(session: Session, deal_id: int, agreement_type: str, title: str, effective_on: dt.date | None,
                            expires_on: dt.date | None, viewer: acc.Viewer, remind_days: int = D.DEFAULT_EXPIRY_NOTICE_DAYS,
                            note: str = "") -> int:
    """An agreement between the deal's two parties, registered on the deal page."""
    d = _visible(session, deal_id, viewer)
    return register_agreement(session, agreement_type, title, d.seller_org_id, d.buyer_org_id, effective_on, expires_on, viewer,
                              deal_id=d.id, remind_days=remind_days, note=note)


def set_deal_finance_status(session: Session, deal_id: int, finance_id: int, status: str, viewer: acc.Viewer) -> None:
    """Change the status of a financial service of this deal (the deal is checked first: same answer for all)."""
    _visible(session, deal_id, viewer)
    try:
        f = R.get_finance(session, finance_id)
    except NotFound:
        f = None
    if f is None or f.deal_id != deal_id:
        raise acc.not_visible("金融服务", "financial service", finance_id)
    set_finance_status(session, finance_id, status, viewer)


def iso(t: dt.datetime | None) -> str:
    """A stored time as ISO 8601 with its offset (the API's form); a missing time reads as now."""
    return (R.aware(t) or R.utcnow()).isoformat()


# -- the use cases: one transaction each (the functions above are their steps) ---------------------------
@dataclass
class MyDeals:
    """'My deals': the lines shown (of one stage, or all), the reminders, and how many deals each stage holds."""

    lines: list[DealLine]
    reminders: list[D.Reminder]
    counts: dict[str, int]
    total: int = 0  # deals in the list shown (the stage's, or all)


@dataclass
class DealView:
    """The deal page: the deal, the financial services one may attach, and the contract form's draft
    (when the viewer may register the signed deal's contract and none is registered yet)."""

    page: DealPage
    finance_options: list[FinanceOption]
    draft: dict[str, Any] | None


@dataclass
class Overview:
    """The operators' dashboard: deals per stage, the reminders and the latest deals."""

    stage_counts: dict[str, int]
    reminders: list[D.Reminder]
    recent: list[DealRow]


class Deals:
    """What people do with deals, each in one transaction: the deal pages, the deals API and
    `tongxin deals` call these; who may see or change what stays in `can_see_deal`."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.db = ex.db

    def mine(self, viewer: acc.Viewer, today: dt.date, stage: str | None = None, page: int = 1, per_page: int = 50) -> MyDeals:
        """One page of the deals (newest activity first), the reminders and the count of every stage."""
        page = max(1, page)
        with self.db.transaction(write=False) as s:
            lines = deal_lines(s, viewer, today, stage, per_page, (page - 1) * per_page)
            reminders = reminders_for(s, viewer, today)
            if viewer.is_staff:
                counts = R.deal_stage_counts(s)
            else:
                counts = R.deal_stage_counts(s, viewer.org_id) if viewer.org_id is not None else {}
        total = counts.get(stage, 0) if stage else sum(counts.values())
        return MyDeals(lines, reminders, counts, total)

    def for_contact(self, viewer: acc.Viewer, contact_request_id: int) -> int:
        with self.db.transaction(write=False) as s:
            return deal_for_contact(s, contact_request_id, viewer)

    def view(self, viewer: acc.Viewer, deal_id: int, today: dt.date) -> DealView:
        from .contracts import can_register_from_deal, contract_draft

        with self.db.transaction(write=False) as s:
            p = deal_page(s, deal_id, viewer, today)
            options = finance_options(s, viewer, self.ex.registry) if p.x.deal.stage != "terminated" else []
            may_register = can_register_from_deal(viewer, p.x.deal) and not p.contracts
            draft = contract_draft(s, deal_id, viewer, today) if may_register else None
        return DealView(p, options, draft)

    def deals(self, viewer: acc.Viewer, stage: str | None = None) -> list[DealRow]:
        with self.db.transaction(write=False) as s:
            return deals_for(s, viewer, stage)

    def detail(self, viewer: acc.Viewer, deal_id: int) -> DealDetail:
        with self.db.transaction(write=False) as s:
            return deal_detail(s, deal_id, viewer)

    def move(self, viewer: acc.Viewer, deal_id: int, to_stage: str, note: str = "") -> DealRow:
        """Change the stage; returns the deal as committed."""
        with self.db.transaction() as s:
            move_deal(s, deal_id, to_stage, viewer, viewer.user_id, note)
            return R.get_deal(s, deal_id)

    def note(self, viewer: acc.Viewer, deal_id: int, text: str) -> None:
        with self.db.transaction() as s:
            add_note(s, deal_id, viewer, text, viewer.user_id)

    def attach_finance(self, viewer: acc.Viewer, deal_id: int, listing_id: int, amount_wan: float | None = None, note: str = "") -> int:
        with self.db.transaction() as s:
            return attach_finance_listing(s, deal_id, listing_id, viewer, self.ex.registry, amount_wan, note)

    def set_finance_status(self, viewer: acc.Viewer, deal_id: int, finance_id: int, status: str) -> None:
        with self.db.transaction() as s:
            set_deal_finance_status(s, deal_id, finance_id, status, viewer)

    def register_agreement(self, viewer: acc.Viewer, deal_id: int, agreement_type: str, title: str, effective_on: dt.date | None,
                           expires_on: dt.date | None, remind_days: int = D.DEFAULT_EXPIRY_NOTICE_DAYS, note: str = "") -> int:
        with self.db.transaction() as s:
            return register_deal_agreement(s, deal_id, agreement_type, title, effective_on, expires_on, viewer,
                                           remind_days=remind_days, note=note)

    def reminders(self, today: dt.date, idle_days: int | None = None) -> list[D.Reminder]:
        """Every idle deal and agreement close to expiry (`tongxin deals reminders`)."""
        with self.db.transaction(write=False) as s:
            return reminders(s, today, idle_days)

    def overview(self, viewer: acc.Viewer, today: dt.date, recent: int = 12) -> Overview:
        acc.require_staff(viewer)
        with self.db.transaction(write=False) as s:
            return Overview(R.stage_counts(s), reminders(s, today), deals_for(s, viewer, limit=recent))
