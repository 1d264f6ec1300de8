"""Notices: everything the exchange tells an organisation besides new listings, delivered like
alerts: the in-app notification at once and, through the outbox, one e-mail to each of its
people who take alert e-mail (services.alert_sender turns the event into mail).

- booking requests, approvals, rejections and cancellations, and a reminder the day before an
  approved booking starts;
- contact requests (合作意向) and their answers;
- deals idle too long and agreements close to expiry (the rules of `tongxin deals reminders`);
- 免申即享: an organisation that meets every condition of a live public policy (checked when the
  policy is published or changed, at once when an organisation's facts change (services.org_facts),
  and by the hourly scan,
  since facts such as a firm's age change with time);
- curated recommendations (services.recommendations: key `rec{id}-o{org}`).

Never twice: each notice has an idempotency key (`sent_notices`, primary key), and the mails
made from it have the key and the person as theirs. Scans may run as often as they like."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..core import policy as rules
from ..storage import accounts_repo as R
from ..storage import alerts_repo as AR
from ..storage import repo
from ..storage import resources_repo as rr
from ..storage.models_alerts import SentNoticeRow

TOPIC_NOTICE = "notice"
BOOKING_REMIND_AHEAD = dt.timedelta(hours=24)


def post(s: Session, key: str, org_id: int, zh: str, en: str, link: str = "", at: dt.datetime | None = None, mail: bool = True,
         mail_text: tuple[str, str] | None = None, user_id: int | None = None, mail_link: str | None = None) -> bool:
    """In the caller's transaction, once per `key`: the organisation's in-app notification now
    and an outbox event that mails its people (`mail=False`: in-app only, for a notice whose
    mail the caller already sends; `mail_text`: a longer (zh, en) text for the mail than the
    in-app line; `user_id`: mail that one person of the organisation only, e.g. a waitlist offer,
    whose `mail_link` (a personal claim link) is not for the organisation's in-app list).
    False when this key was posted before."""
    t = at or AR.now()
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    got = s.execute(ins(SentNoticeRow).values(key=key[:120], org_id=org_id, created_at=t)
                    .on_conflict_do_nothing(index_elements=["key"]).returning(SentNoticeRow.key)).first()
    if got is None:
        return False
    R.notify(s, org_id, zh, en, link)
    if mail:
        mzh, men = mail_text or (zh, en)
        payload: dict[str, Any] = {"key": key[:80], "org_id": org_id, "zh": mzh, "en": men, "link": mail_link or link}
        if user_id is not None:
            payload["user_id"] = user_id
        AR.enqueue(s, TOPIC_NOTICE, payload, t)
    return True


def posted(s: Session, key: str) -> bool:
    return s.get(SentNoticeRow, key[:120]) is not None


# -- scans: reminders that come due with time ------------------------------------------------------

def scan(s: Session, registry: Any, today: dt.date, now: dt.datetime) -> int:
    """Every reminder due now, posted once each (in the caller's transaction). Returns how many are new."""
    return deal_reminders(s, today) + booking_reminders(s, now) + len(policy_eligibility(s, registry, today))


def deal_reminders(s: Session, today: dt.date) -> int:
    """Idle open deals (to both parties, once per idle period) and agreements close to expiry (to
    both parties, once per expiry date): the rules of `tongxin deals reminders`."""
    from ..storage.models_deals import AgreementRow, DealRow
    from .deals import reminders

    n = 0
    for r in reminders(s, today):
        if r.kind == "idle_deal":
            d = s.get(DealRow, r.ref_id)
            if d is None:
                continue
            since = (today - dt.timedelta(days=r.days)).isoformat()  # the last activity: one reminder per idle period
            for org in {d.seller_org_id, d.buyer_org_id}:
                n += post(s, f"deal{d.id}-idle{since}-o{org}", org, r.message.zh, r.message.en, f"/deals/{d.id}")
        elif r.kind == "agreement_expiry":
            a = s.get(AgreementRow, r.ref_id)
            if a is None:
                continue
            link = f"/deals/{a.deal_id}" if a.deal_id else "/deals"
            for org in {a.party_a_org_id, a.party_b_org_id}:
                n += post(s, f"agreement{a.id}-exp{a.expires_on}-o{org}", org, r.message.zh, r.message.en, link)
    return n


def booking_reminders(s: Session, now: dt.datetime) -> int:
    """Approved bookings that start within BOOKING_REMIND_AHEAD: the booking organisation is reminded once."""
    from ..storage.models_resources import InstrumentBookingRow

    q = select(InstrumentBookingRow).where(InstrumentBookingRow.status == "approved", InstrumentBookingRow.starts_at > rr.to_db(now),
                                           InstrumentBookingRow.starts_at <= rr.to_db(now + BOOKING_REMIND_AHEAD))
    n = 0
    for row in s.scalars(q):
        b = rr.booking_from_row(row)
        inst = s.get(repo.ListingRow, b.instrument_id)
        title = inst.title if inst is not None else f"#{b.instrument_id}"
        n += post(s, f"booking{b.id}-remind{b.slot.start.date().isoformat()}", b.org_id,
                  f"提醒：仪器预约 #{b.id}（{title}，{b.slot.label()}）即将开始", f"reminder: booking #{b.id} ({title}, {b.slot.label()}) starts soon",
                  "/my/bookings")
    return n


def policy_eligibility(s: Session, registry: Any, today: dt.date, policy_ids: list[int] | None = None, org_ids: list[int] | None = None,
                       at: dt.datetime | None = None) -> list[tuple[int, int]]:
    """免申即享: each verified organisation that meets every condition of a live public policy hears
    of it once (per policy). Narrowed to some policies or organisations when something changed.
    Returns the (policy, organisation) pairs told now."""
    from ..storage.models import OrganisationRow

    kind = registry.kind_with("eligibility_rules")
    if kind is None:
        return []
    f = repo.ListingFilter(kind=kind, status="published", limit=100_000)
    policies = [p for p in repo.find_listings(s, f, registry)
                if p.is_live(today) and p.visibility == "public" and (policy_ids is None or int(p.id or 0) in policy_ids)]
    if not policies:
        return []
    q = select(OrganisationRow.id).where(OrganisationRow.verified.is_(True)).order_by(OrganisationRow.id)
    if org_ids is not None:
        q = q.where(OrganisationRow.id.in_(org_ids))
    orgs = [int(o) for o in s.scalars(q)]
    facts = {o: rr.facts_for(s, o, today) for o in orgs}
    out: list[tuple[int, int]] = []
    for p in policies:
        try:
            conds = rules.parse_rules(p.attrs.get("eligibility"))
        except rules.RuleError:
            continue
        for o in orgs:
            key = f"policy{p.id}-o{o}"
            if o == p.owner_id or posted(s, key) or not rules.qualifies(rules.evaluate(conds, facts[o])):
                continue
            if post(s, key, o, f"新政策“{p.title}”：贵单位符合全部条件，可免申即享", f"new policy '{p.title}': your organisation meets every condition",
                    f"/policies/eligible?org={o}", at):
                out.append((int(p.id or 0), o))
    return out
