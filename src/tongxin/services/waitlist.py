"""Waitlist steps (they take a Session and never commit): when a slot is freed (a cancellation, a
rejection, a released no-show, an expired offer), the first person waiting for an overlapping slot
that is now entirely free is offered it: an in-app notice and a mail through the outbox
(services.notices) with a claim link valid for core.billing.OFFER_HOURS. Claiming books it through
the one booking path (services.booking), so the database's no-overlap guard still decides."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.orm import Session

from ..core import billing as BL
from ..core import booking as B
from ..storage import billing_repo as br
from ..storage import resources_repo as rr
from . import notices


def offer_freed(s: Session, instrument_id: int, freed: B.Slot, now: dt.datetime) -> list[int]:
    """Offer the freed period to whoever waits first for a slot in it that is now free. Returns the waitlist ids offered."""
    offered: list[int] = []
    title = rr.instrument_row(s, instrument_id).title
    for w in br.waiting_for(s, instrument_id, freed.start, freed.end):
        slot = br.wait_slot(w)
        if B.as_cst(slot.start) <= B.as_cst(now):
            w.status = "expired"
            continue
        if rr.bookings_between(s, instrument_id, slot.start, slot.end) or rr.blackouts_between(s, instrument_id, slot.start, slot.end):
            continue
        if br.offer_open(s, instrument_id, slot, now):
            continue
        w.status, w.offered_at = "offered", rr.to_db(now)
        w.offer_expires_at = rr.to_db(min(B.as_cst(now) + dt.timedelta(hours=BL.OFFER_HOURS), B.as_cst(slot.start)))
        w.token = secrets.token_urlsafe(24)
        s.flush()
        until = B.as_cst(rr.from_db(w.offer_expires_at))
        notices.post(s, f"wait{w.id}-offer", w.org_id,
                     f"候补仪器时段已空出：{title}，{slot.label()}，候补人请在 {until:%m-%d %H:%M} 前认领",
                     f"a waitlisted slot is free: {title}, {slot.label()}; the person waiting may claim it until {until:%m-%d %H:%M}",
                     "/my/waitlist", at=now, user_id=w.user_id, mail_link=f"/waitlist/claim/{w.token}")
        offered.append(w.id)
    return offered


def expire_offers(s: Session, now: dt.datetime) -> tuple[int, int]:
    """Offers not claimed in time expire; their slot goes to the next person. (expired, offered)"""
    expired = br.expired_offers(s, now)
    n = 0
    for w in expired:
        w.status = "expired"
    s.flush()
    for w in expired:
        n += len(offer_freed(s, w.instrument_id, br.wait_slot(w), now))
    return len(expired), n
