"""Every reminder goes out through the outbox (both databases, a real SMTP server on loopback):
a contact request's answer, an idle deal and an agreement close to expiry, 免申即享 eligibility —
in-app at once and one e-mail to each person of the organisation who takes alert e-mail, each
notice once however often the scans run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import world
from aiosmtp_sink import AioSink, text_of
from sqlalchemy import func, select

from tongxin.core.access import SYSTEM
from tongxin.core.clock import local_today
from tongxin.services import Exchange
from tongxin.services import deals as DS
from tongxin.services.alert_sender import Sender
from tongxin.services.alerts import PassReport
from tongxin.services.contacts import Contacts
from tongxin.services.mail import LogMailer, SmtpMailer
from tongxin.storage.models_accounts import NotificationRow
from tongxin.storage.models_alerts import MailRow

PUBLIC = "http://tx.test"


@pytest.fixture
def sink() -> Iterator[AioSink]:
    s = AioSink()
    yield s
    s.close()


@pytest.fixture
def w(exchange: Exchange) -> world.World:
    return world.build(exchange)


def notes(ex: Exchange, org_id: int, link: str) -> int:
    with ex.db.transaction(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(NotificationRow).where(NotificationRow.org_id == org_id,
                                                                                     NotificationRow.link == link)) or 0)


def test_reminders_go_out_in_app_and_by_mail_once(w: world.World, sink: AioSink) -> None:
    snd = Sender(w.ex, SmtpMailer("127.0.0.1", sink.port, "alerts@tongxin.test"), secret="test-secret", public_url=PUBLIC)
    snd.run_once()
    before = len(sink.messages())
    # a contact request answered: the requester's people hear of it (the request itself mails the owner's admins directly)
    contacts = Contacts(w.ex, LogMailer())
    cid = contacts.express_interest(w.viewer("member"), w.listings["public"], "希望合作")
    contacts.accept(w.viewer("owner_admin"), cid)
    r = snd.run_once()
    got = sink.messages()[before:]
    assert [str(m["To"]) for m in got] == [w.email("member")], r
    assert "接受了您对" in text_of(got[0]) and f"{PUBLIC}/my/contacts" in text_of(got[0]) and "accepted" in text_of(got[0])
    assert str(got[0]["List-Unsubscribe"]).strip().startswith(f"<{PUBLIC}/alerts/unsubscribe?t=")
    assert snd.run_once().mails_sent == 0

    # an idle deal and an agreement about to expire: both parties' people, once each; a person who
    # turned alert e-mail off sees them in-app only
    snd.alerts.set_preferences(w.viewer("owner_member"), {"email": False})
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    soon = local_today() + dt.timedelta(days=5)
    with w.ex.db.transaction() as s:
        did = DS.open_deal(s, w.orgs["owner"], w.orgs["member"], [], None, at=old)
        DS.register_agreement(s, "nda", "保密协议（提醒测试）", w.orgs["owner"], w.orgs["member"], dt.date(2024, 2, 1), soon, SYSTEM, deal_id=did)
    n0 = len(sink.messages())
    rep = PassReport()
    snd.scan(rep, force=True)
    assert rep.notices == 4  # (idle, expiry) × (seller, buyer)
    snd.run_once()
    got = sink.messages()[n0:]
    people = sorted([w.email("member"), w.email("owner_admin")])
    idle = sorted(str(m["To"]) for m in got if "没有进展" in text_of(m))
    expiry = sorted(str(m["To"]) for m in got if "保密协议（提醒测试）" in text_of(m) and "到期" in text_of(m))
    assert idle == people and expiry == people and len(got) == 4
    for org in ("member", "owner"):  # in-app: the idle deal and the agreement, once each
        assert notes(w.ex, w.orgs[org], f"/deals/{did}") == 2

    # the scans run again (every pass, several processes): nothing new, nothing doubled
    again = Sender(w.ex, SmtpMailer("127.0.0.1", sink.port, "alerts@tongxin.test"), secret="test-secret", public_url=PUBLIC)
    rep = PassReport()
    again.scan(rep, force=True)
    snd.scan(rep, force=True)
    assert rep.notices == 0 and again.run_once().mails_sent == 0 and snd.run_once().mails_sent == 0
    assert len(sink.messages()) == n0 + 4 and notes(w.ex, w.orgs["member"], f"/deals/{did}") == 2
    with w.ex.db.transaction(write=False) as s:
        assert len([k for k in s.scalars(select(MailRow.key)) if k.startswith("n-")]) == 5
