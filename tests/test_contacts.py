"""Contact requests: express interest, the owner accepts (contact details exchanged; a confidential
listing is granted and the grant logged) or declines with a reason from the fixed list; both
sides see the history; nobody else sees anything. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import world

from tongxin.core import access as acc
from tongxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from tongxin.services import Exchange
from tongxin.services.contacts import Contacts
from tongxin.services.listings import Listings
from tongxin.services.mail import LogMailer


@pytest.fixture
def w(exchange: Exchange) -> world.World:
    return world.build(exchange)


def test_interest_accept_exchanges_contact_details_and_grants_confidential(w: world.World) -> None:
    mail = LogMailer()
    contacts = Contacts(w.ex, mail)
    member, owner = w.viewer("member"), w.viewer("owner_member")
    lid = w.listings["confidential"]
    assert Listings(w.ex).show(member, lid).level == acc.Access.SUMMARY
    with pytest.raises(ValidationError) as e:  # confidential: the NDA must be accepted
        contacts.express_interest(member, lid, "希望合作", nda_accepted=False)
    assert e.value.errors[0].field == "nda_accepted"
    cid = contacts.express_interest(member, lid, "希望在武清试点", nda_accepted=True)
    assert mail.sent and "希望在武清试点" in mail.sent[-1][2]
    with pytest.raises(Conflict):
        contacts.express_interest(member, lid, "再发一次", nda_accepted=True)
    seen = contacts.get(member, cid)
    assert seen["status"] == "pending" and "contacts" not in seen  # no details before acceptance
    assert seen["listing_title"] == world.title("confidential")
    with pytest.raises(Forbidden):
        contacts.accept(member, cid)  # the requester cannot accept its own request
    contacts.accept(owner, cid, "欢迎联系")
    for v in (member, owner):
        d = contacts.get(v, cid)
        assert d["status"] == "accepted" and [h["action"] for h in d["history"]] == ["sent", "accepted"]
        assert "owner_admin@test.tongxin.cn" in str(d["contacts"]["to"]["people"]) and "member@test.tongxin.cn" in str(d["contacts"]["from"]["people"])
    member = w.viewer("member")  # the grant is part of the viewer now
    assert Listings(w.ex).show(member, lid).level == acc.Access.FULL
    grants = Listings(w.ex).grants(owner, lid)
    assert [g["action"] for g in grants["log"]][-1] == "grant" and "NDA" in grants["log"][-1]["note"]
    Listings(w.ex).grant(owner, lid, w.orgs["member"], "合作结束", grant=False)
    assert Listings(w.ex).show(w.viewer("member"), lid).level == acc.Access.SUMMARY
    assert [g["action"] for g in Listings(w.ex).grants(owner, lid)["log"]][-2:] == ["grant", "revoke"]
    with pytest.raises(Conflict):
        contacts.decline(owner, cid, "not_relevant")  # answered once


def test_decline_needs_a_reason_from_the_list(w: world.World) -> None:
    contacts = Contacts(w.ex)
    owner = w.viewer("owner_admin")
    cid = contacts.express_interest(w.viewer("member"), w.listings["public"], "希望合作")
    with pytest.raises(ValidationError) as e:
        contacts.decline(owner, cid, "because")
    assert "too early" in e.value.errors[0].message.en
    with pytest.raises(ValidationError) as e:
        contacts.decline(owner, cid, "other", "")
    assert e.value.errors[0].field == "note"
    contacts.decline(owner, cid, "commercial_unclear", "请补充商业计划")
    d = contacts.get(w.viewer("member"), cid)
    assert d["status"] == "declined" and d["decline_reason_zh"] == "商业化路径不明确" and d["decline_note"] == "请补充商业计划"
    assert "contacts" not in d
    assert [h["action"] for h in d["history"]] == ["sent", "declined"]
    received = contacts.list(owner)["received"]
    assert [c["id"] for c in received] == [cid]


def test_only_parties_and_staff_see_a_request(w: world.World) -> None:
    contacts = Contacts(w.ex)
    cid = contacts.express_interest(w.viewer("member"), w.listings["members"], "希望合作")
    for role in ("visitor", "user", "pending", "granted"):
        with pytest.raises((NotFound, Exception)) as e:
            contacts.get(w.viewer(role), cid)
        assert getattr(e.value, "status", None) in (401, 404)
        with pytest.raises(Exception) as e2:
            contacts.accept(w.viewer(role), cid)
        assert getattr(e2.value, "status", None) in (401, 403, 404)
    assert contacts.get(w.viewer("operator"), cid)["status"] == "pending"


def test_who_may_express_interest(w: world.World) -> None:
    contacts = Contacts(w.ex)
    with pytest.raises(Forbidden):
        contacts.express_interest(w.viewer("owner_member"), w.listings["public"], "自己的")
    with pytest.raises(Forbidden):  # an organisation awaiting verification
        contacts.express_interest(w.viewer("pending"), w.listings["public"], "待审核")
    with pytest.raises(NotFound):  # cannot even see it
        contacts.express_interest(w.viewer("pending"), w.listings["members"], "看不到")
    with pytest.raises(NotFound):
        contacts.express_interest(w.viewer("member"), w.listings["draft"], "草稿")
    with pytest.raises(ValidationError):
        contacts.express_interest(w.viewer("member"), w.listings["public"], "   ")
