"""A small world full of secrets for the leak matrix (tests/test_leak_matrix.py).

On top of tests/world.py (one technology per visibility, each with SECRETDETAIL<VIS> in its full
text): the owner organisation's private figures, instruments of every visibility, bookings with a
purpose and a rejection reason, a contact request with its message, the deal it opened with a
note, a policy whose eligibility reads the private figures, and an API token per person.
Each secret is an ASCII word (or a number) that appears nowhere else, with the roles that may
see it written out here from the product rules, not from core/access.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import world
from resource_factories import instrument

from tongxin.core import booking as B
from tongxin.core.clock import local_today
from tongxin.services.booking import Actor, Bookings
from tongxin.services.contacts import Contacts
from tongxin.services.listings import Listings
from tongxin.storage import resources_repo as rr

STAFF = {"operator", "admin"}
OWNER = {"owner_member", "owner_admin"}
MEMBERS = {"member", "granted"} | OWNER | STAFF
EMPLOYEES, REVENUE, RD_SPENDING = 47113, 86429, 52817  # the owner organisation's private figures


@dataclass
class LeakWorld:
    w: world.World
    secrets: dict[str, set[str]] = field(default_factory=dict)  # secret → roles that may see it
    ids: dict[str, list[Any]] = field(default_factory=dict)  # path parameter → values to try
    tokens: dict[str, str] = field(default_factory=dict)


def _instrument(vis: str, word: str) -> dict[str, Any]:
    raw = instrument(f"I-{vis}")
    raw |= {"title": f"质谱仪 INSTR{word}TITLE", "description": f"高分辨液质联用系统 INSTR{word}DETAIL", "visibility": vis,
            "summary": "共享质谱仪（摘要）", "region": "110108"}
    return {k: v for k, v in raw.items() if k not in ("external_id", "owner", "kind")}


def _policy() -> dict[str, Any]:
    return {"title": "研发投入奖励", "description": "按研发投入给予奖励。", "keywords": "研发;奖励", "industry": "S92", "region": "110000",
            "visibility": "public", "issuing_body": "北京市科学技术委员会", "benefit_type": "subsidy", "benefit": "奖励 10 万元",
            "apply_mode": "auto", "eligibility": "employees <= 50000; revenue >= 100; certifications has 高新技术企业"}


def _next_week(hour: int, day: int = 0) -> dt.datetime:
    d = dt.datetime.now(B.CST).date() + dt.timedelta(days=7 + day)
    return dt.datetime.combine(d, dt.time(hour), B.CST)


def build(ex: Any) -> LeakWorld:
    w = world.build(ex)
    lw = LeakWorld(w)
    ls, owner = Listings(ex), w.viewer("owner_admin")
    with ex.db.transaction() as s:
        rr.set_facts(s, w.orgs["owner"], dt.date(2016, 3, 1), EMPLOYEES, float(REVENUE), ["SECRETCERTNAME"], float(RD_SPENDING))
        rr.update_facts(s, w.orgs["owner"], {"published": ["founded"]}, dt.datetime.now(dt.UTC))  # one fact public, the rest private
        evidence_id = rr.add_evidence(s, w.orgs["owner"], "EVIDENCEFILENAMESECRET.png", "image/png", "revenue",
                                      b"\x89PNG\r\n\x1a\n EVIDENCECONTENTSECRET ", None, dt.datetime.now(dt.UTC))
    lw.secrets |= {str(EMPLOYEES): OWNER | STAFF, str(REVENUE): OWNER | STAFF, "SECRETCERTNAME": OWNER | STAFF, str(RD_SPENDING): OWNER | STAFF,
                   "EVIDENCEFILENAMESECRET": OWNER | STAFF, "EVIDENCECONTENTSECRET": OWNER | STAFF}
    lw.secrets |= {world.secret("confidential"): {"granted"} | OWNER | STAFF, world.secret("members"): MEMBERS,
                   world.secret("draft"): OWNER | STAFF}
    inst = {vis: ls.save(owner, "instrument", _instrument(vis, vis.upper()), publish=True) for vis in ("public", "members", "confidential")}
    ls.grant(owner, inst["confidential"], w.orgs["granted"], "NDA-2")
    lw.secrets |= {"INSTRMEMBERSTITLE": MEMBERS, "INSTRMEMBERSDETAIL": MEMBERS,
                   "INSTRCONFIDENTIALTITLE": MEMBERS,  # members see a confidential listing's title (summary access)
                   "INSTRCONFIDENTIALDETAIL": {"granted"} | OWNER | STAFF}
    policy = Listings(ex).save(w.viewer("granted"), "policy", _policy(), publish=True)
    bk = Bookings(ex)

    def actor(role: str) -> Actor:
        v = w.viewer(role)
        return Actor(int(v.user_id or 0), int(v.org_id or 0), v)

    b1 = bk.request(actor("member"), inst["public"], _next_week(9), _next_week(11), "BOOKINGPURPOSESECRET")
    if b1.status == "pending":
        bk.reject(actor("owner_admin"), int(b1.id or 0), "REJECTREASONSECRET")
    b2 = bk.request(actor("granted"), inst["confidential"], _next_week(13, 1), _next_week(15, 1), "CONFBOOKINGPURPOSE")
    b3 = bk.request(actor("member"), inst["members"], _next_week(9, 2), _next_week(12, 2), "MEMBERSBOOKINGPURPOSE")
    _into_last_week(ex, [int(b2.id or 0), int(b3.id or 0)])  # usage statistics count what already happened
    lw.secrets |= {"BOOKINGPURPOSESECRET": {"member"} | OWNER | STAFF, "REJECTREASONSECRET": {"member"} | OWNER | STAFF,
                   "CONFBOOKINGPURPOSE": {"granted"} | OWNER | STAFF, "MEMBERSBOOKINGPURPOSE": {"member"} | OWNER | STAFF}
    contacts = Contacts(ex)
    cid = contacts.express_interest(w.viewer("member"), w.listings["public"], "CONTACTMESSAGESECRET 希望合作")
    contacts.accept(owner, cid, "ACCEPTNOTESECRET")
    deal_id = _deal_with_note(ex, cid, w)
    lw.secrets |= {"CONTACTMESSAGESECRET": {"member"} | OWNER | STAFF, "ACCEPTNOTESECRET": {"member"} | OWNER | STAFF,
                   "DEALNOTESECRET": {"member"} | OWNER | STAFF}
    contract_id = _contract(ex, w, lw)
    roles = [r for r in world.ROLES if r != "visitor"] + ["registrar"]
    lw.tokens = {r: w.accounts.create_token(w.viewer(r), "leak")[1] for r in roles}
    lw.secrets |= {t: set() for t in lw.tokens.values()}  # a token is shown once, when created, never again
    listings = [*w.listings.values(), *inst.values(), policy]
    lw.ids = {"listing_id": listings, "instrument_id": list(inst.values()), "booking_id": [b1.id, b2.id, b3.id],
              "org_id": [w.orgs["owner"], w.orgs["member"], w.orgs["granted"], w.orgs["pending"]], "request_id": [cid],
              "deal_id": [deal_id], "contract_id": [contract_id], "kind": ["technology", "instrument", "policy"], "code": ["XZD-GI"],
              "token": ["not-a-token"], "name": ["flows", "funnel", "top_sellers", "by_park", "policies"], "fmt": ["xlsx", "pdf"],
              "evidence_id": [evidence_id]}
    return lw


CONTRACT_SEES = {"member"} | OWNER | STAFF | {"registrar"}  # the two parties, staff and the registration office


def _contract(ex: Any, w: world.World, lw: LeakWorld) -> int:
    """A technology contract between the owner (seller) and the member (buyer): submitted, returned with a
    reason, corrected and resubmitted, registered. Its terms are for its parties, staff and the office."""
    from factories import ORGS

    from tongxin.services.contracts import Contracts
    from tongxin.storage import accounts_repo as AR

    uid = w.accounts.sign_up("registrar@test.tongxin.cn", world.PASSWORD, "registrar 用户")
    with ex.db.transaction() as s:
        AR.get_user(s, uid).role = "registrar"
    w.users["registrar"] = uid
    svc, today = Contracts(ex), local_today()
    raw = {"contract_no": "TX-LEAK-1", "title": "技术许可合同 CONTRACTTITLESECRET", "contract_type": "licence", "seller": ORGS[0]["credit_code"],
           "buyer": ORGS[1]["credit_code"], "amount": "300", "signed_on": "2025-06-30", "park": "武清京津产业新城", "industry": "C37"}  # the park is public: the summary's parks table names it
    cid = svc.submit(w.viewer("owner_admin"), raw, today).c.id
    svc.return_(w.viewer("registrar"), cid, ["amount"], "RETURNREASONSECRET")
    svc.resubmit(w.viewer("member"), cid, {"tech_amount": "280"}, "RESUBMITNOTESECRET", today)
    svc.register(w.viewer("registrar"), cid, "REGNOSECRET01", dt.date(2025, 7, 15), today=today)
    lw.secrets |= {k: set(CONTRACT_SEES) for k in ("CONTRACTTITLESECRET", "RETURNREASONSECRET", "RESUBMITNOTESECRET",
                                                   "REGNOSECRET01")}
    return cid


def _into_last_week(ex: Any, booking_ids: list[int]) -> None:
    from sqlalchemy import select

    from tongxin.storage.models_resources import InstrumentBookingRow

    with ex.db.transaction() as s:
        for r in s.scalars(select(InstrumentBookingRow).where(InstrumentBookingRow.id.in_(booking_ids))):
            r.starts_at, r.ends_at = r.starts_at - dt.timedelta(days=14), r.ends_at - dt.timedelta(days=14)
            r.status = "used"


def _deal_with_note(ex: Any, contact_id: int, w: world.World) -> int:
    from tongxin.services import deals as D

    with ex.db.transaction() as s:
        deal_id = D.deal_for_contact(s, contact_id, w.viewer("owner_admin"))
        D.add_note(s, deal_id, w.viewer("owner_admin"), "DEALNOTESECRET 报价待定", w.users["owner_admin"])
    return deal_id
