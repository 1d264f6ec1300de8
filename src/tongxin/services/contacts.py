"""Contact requests: 'express interest' sends a message to the owner organisation; the owner
accepts (both sides then see each other's contact details; for a confidential listing the
requester is granted full access, recorded in the grant log) or declines with a reason from a
fixed list. Both sides see the history. Decisions come from `core.access`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import access as acc
from ..core.accounts import DECLINE_REASONS, check_decline, check_message
from ..core.errors import Conflict, FieldError, Message, ValidationError
from ..core.vocab import label
from ..storage import accounts_repo as R
from ..storage.models_accounts import ContactRequestRow
from . import notices
from .exchange import Exchange
from .listings import fetch
from .mail import LogMailer, Mailer


class Contacts:
    def __init__(self, ex: Exchange, mailer: Mailer | None = None) -> None:
        self.ex = ex
        self.db = ex.db
        self.mailer: Mailer = mailer or LogMailer()

    def express_interest(self, viewer: acc.Viewer, listing_id: int, message: str, nda_accepted: bool = False) -> int:
        acc.require_signed_in(viewer)
        x, level = fetch(self.ex, viewer, listing_id)
        if level == acc.Access.NONE:
            raise acc.not_visible("资源", "listing", listing_id)
        if not acc.can_express_interest(viewer, x):
            if acc.owns(viewer, x):
                raise acc.forbidden("这是您机构自己的资源", "this is your own organisation's listing")
            raise acc.forbidden("只有已审核机构的成员可以表达合作意向", "only members of verified organisations may express interest")
        check_message(message)
        if x.visibility == "confidential" and level < acc.Access.FULL and not nda_accepted:
            raise ValidationError.of([FieldError("nda_accepted", Message("查看保密资源全文前，请先同意保密协议",
                                                                         "please accept the non-disclosure agreement to read a confidential listing"))])
        with self.db.transaction() as s:
            if R.open_contact(s, listing_id, int(viewer.org_id or 0)) is not None:
                raise Conflict(Message("您的机构已就此资源发出意向，请等待对方回复", "your organisation already expressed interest; please wait for the reply"))
            c = R.add_contact(s, listing_id, int(viewer.org_id or 0), int(x.owner_id or 0), viewer.user_id, message.strip(), nda_accepted)
            sender = R.org_row(s, int(viewer.org_id or 0)).name
            # in-app once; the mail with the sender's message goes to the organisation's admins below
            notices.post(s, f"contact{c.id}-sent", int(x.owner_id or 0), f"{sender} 对“{x.title}”表达了合作意向", f"{sender} is interested in '{x.title}'",
                         "/my/contacts", mail=False)
            to = R.org_admin_emails(s, int(x.owner_id or 0))
            cid = c.id
        for email in to:  # the owner may read its own listing; the message body is the sender's text
            self.mailer.send(email, f"同心 tongxin：{sender} 对您的资源表达了合作意向 / new interest",
                             f"{sender} 对“{x.title}”表达了合作意向：\n\n{message.strip()}\n\n请登录同心查看并回复 / sign in to reply.\n")
        return cid

    def _load(self, s: Any, viewer: acc.Viewer, request_id: int) -> ContactRequestRow:
        c = R.contact(s, request_id)
        if c is None or not acc.can_see_contact(viewer, c.from_org_id, c.to_org_id):
            raise acc.not_visible("联系请求", "contact request", request_id)
        return c

    def accept(self, viewer: acc.Viewer, request_id: int, note: str = "") -> None:
        with self.db.transaction() as s:
            c = self._load(s, viewer, request_id)
            if not acc.can_answer_contact(viewer, c.to_org_id):
                raise acc.forbidden("只有资源所属机构可以接受", "only the listing's organisation may accept")
            self._pending(c)
            c.status = "accepted"
            R.add_event(s, c.id, viewer.user_id, "accepted", note.strip()[:1000])
            x, _ = self.ex.get(c.listing_id, acc.SYSTEM)
            if x.visibility == "confidential" and c.nda_accepted:
                R.grant(s, c.listing_id, c.from_org_id, viewer.user_id, f"保密协议已同意，联系请求 #{c.id} 已接受 / NDA accepted, request #{c.id}")
            # an accepted interest becomes a deal; the seller is whoever offers the technology side
            from .deals import open_deal_from_contact

            seller, buyer = (c.to_org_id, c.from_org_id) if x.side == "offer" else (c.from_org_id, c.to_org_id)
            open_deal_from_contact(s, c.id, seller, buyer, [c.listing_id], actor_user_id=viewer.user_id)
            notices.post(s, f"contact{c.id}-accepted", c.from_org_id, f"对方接受了您对“{x.title}”的合作意向，可以查看联系方式",
                         f"your interest in '{x.title}' was accepted; contact details are visible", "/my/contacts")

    def decline(self, viewer: acc.Viewer, request_id: int, reason: str, note: str = "") -> None:
        check_decline(reason, note)
        with self.db.transaction() as s:
            c = self._load(s, viewer, request_id)
            if not acc.can_answer_contact(viewer, c.to_org_id):
                raise acc.forbidden("只有资源所属机构可以婉拒", "only the listing's organisation may decline")
            self._pending(c)
            c.status, c.decline_reason, c.decline_note = "declined", reason, note.strip()
            R.add_event(s, c.id, viewer.user_id, "declined", note.strip())
            x, _ = self.ex.get(c.listing_id, acc.SYSTEM)
            why = label(DECLINE_REASONS, reason)
            notices.post(s, f"contact{c.id}-declined", c.from_org_id, f"对方婉拒了您对“{x.title}”的合作意向：{why}",
                         f"your interest in '{x.title}' was declined: {label(DECLINE_REASONS, reason, 'en')}", "/my/contacts")

    @staticmethod
    def _pending(c: ContactRequestRow) -> None:
        if c.status != "pending":
            raise Conflict(Message("此请求已处理过", "this request was already answered"))

    def get(self, viewer: acc.Viewer, request_id: int) -> dict[str, Any]:
        with self.db.transaction(write=False) as s:
            c = self._load(s, viewer, request_id)
            return self._dict(s, viewer, c, R.events(s, [c.id])[c.id])

    def list(self, viewer: acc.Viewer, received_page: int = 1, sent_page: int = 1, per_page: int = 50) -> dict[str, Any]:
        """One page of the requests received and one of those sent (newest first), with how many there are of each."""
        org_id = acc.require_org(viewer)
        rp, sp = max(1, received_page), max(1, sent_page)
        with self.db.transaction(write=False) as s:
            rec = R.contacts_of(s, org_id, "received", per_page, (rp - 1) * per_page)
            sent = R.contacts_of(s, org_id, "sent", per_page, (sp - 1) * per_page)
            evs = R.events(s, [c.id for c in rec + sent])
            return {"received": [self._dict(s, viewer, c, evs[c.id]) for c in rec], "sent": [self._dict(s, viewer, c, evs[c.id]) for c in sent],
                    "received_total": R.count_contacts(s, org_id, "received"), "sent_total": R.count_contacts(s, org_id, "sent"),
                    "per_page": per_page}

    def _dict(self, s: Any, viewer: acc.Viewer, c: ContactRequestRow, events: Sequence[Any]) -> dict[str, Any]:
        x, _ = self.ex.get(c.listing_id, viewer)
        shown = acc.redact(viewer, x)
        title = shown[0].title if shown else f"#{c.listing_id}"  # a closed listing: the parties still see its title
        if shown is None and acc.is_party(viewer, c.from_org_id, c.to_org_id):
            title = x.title
        frm, to = R.org_row(s, c.from_org_id), R.org_row(s, c.to_org_id)
        d: dict[str, Any] = {
            "id": c.id, "listing_id": c.listing_id, "listing_title": title, "status": c.status,
            "from_org": {"id": frm.id, "name": frm.name}, "to_org": {"id": to.id, "name": to.name},
            "message": c.message, "nda_accepted": c.nda_accepted,
            "decline_reason": c.decline_reason,
            "decline_reason_zh": label(DECLINE_REASONS, c.decline_reason) if c.decline_reason else None,
            "decline_reason_en": label(DECLINE_REASONS, c.decline_reason, "en") if c.decline_reason else None,
            "decline_note": c.decline_note,
            "created_at": c.created_at.isoformat() if c.created_at else None,
            "history": [{"action": e.action, "note": e.note, "at": e.at.isoformat()} for e in events],
            "incoming": viewer.org_id == c.to_org_id, "can_answer": acc.can_answer_contact(viewer, c.to_org_id) and c.status == "pending",
        }
        if acc.can_see_counterpart_details(viewer, c.from_org_id, c.to_org_id, c.status):
            people = {o.id: [{"name": u.name, "email": u.email} for _, u in R.members(s, o.id)] for o in (frm, to)}
            d["contacts"] = {side: {"org": o.name, "contact_name": o.contact_name, "contact_phone": o.contact_phone, "website": o.website, "people": people[o.id]}
                             for side, o in (("from", frm), ("to", to))}
        return d
