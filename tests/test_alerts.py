"""Alerts end to end against a real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL:
publish a matching listing → the counterpart's owner receives one e-mail with the title and a
working link; the same listing never twice; unsubscribe stops mail; nobody hears of a listing
they may not read; saved searches and follows; retries and giving up; a sender killed with
SIGKILL mid-batch loses nothing and repeats at most the message in flight, under its Message-ID."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import world
from aiosmtp_sink import AioSink, html_of, text_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tongxin.core import alerts as A
from tongxin.services import Exchange
from tongxin.services.alert_sender import Sender
from tongxin.services.listings import Listings
from tongxin.services.mail import SmtpMailer
from tongxin.storage import alerts_repo as AR
from tongxin.storage.models_accounts import NotificationRow
from tongxin.storage.models_alerts import AlertItemRow, MailRow, OutboxRow
from tongxin.web.app import create_app

PUBLIC = "http://tx.test"


@pytest.fixture
def sink() -> Iterator[AioSink]:
    s = AioSink()
    yield s
    s.close()


@pytest.fixture
def w(exchange: Exchange) -> world.World:
    return world.build(exchange)


def sender_for(ex: Exchange, sink: AioSink, now: object = None) -> Sender:
    return Sender(ex, SmtpMailer("127.0.0.1", sink.port, "alerts@tongxin.test"), secret="test-secret", public_url=PUBLIC, now=now)  # type: ignore[arg-type]


def cbtc(title: str = "全自动运行CBTC列车控制系统", vis: str = "public") -> dict[str, object]:
    """A technology that matches the member organisation's scenario S-WQ (城轨列车控制系统产业化场景) strongly."""
    return dict(world.tech_raw("public"), title=title, visibility=vis, summary="城轨信号系统",
                description="自主研发的城轨CBTC列车控制系统，支持全自动运行，实现轨道交通信号系统产业化。",
                keywords="列车控制系统;CBTC;轨道交通信号")


def tomorrow_at(hour: int) -> dt.datetime:
    """A fake clock ahead of the real one (events are stamped with the real time)."""
    d = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=dt.UTC)


def settle(w: world.World, snd: Sender) -> None:
    """Everything the world's own publications caused is processed (and nobody asked for instant mail yet)."""
    snd.run_once()


def count(ex: Exchange, model: object, *where: object) -> int:
    with ex.db.transaction(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_publish_mails_the_counterpart_once_with_title_and_a_working_link(w: world.World, sink: AioSink) -> None:
    snd = sender_for(w.ex, sink)
    snd.alerts.set_preferences(w.viewer("member"), {"frequency": "instant", "min_band": "possible"})
    settle(w, snd)
    before = len(sink.messages())
    title = "全自动运行CBTC列车控制系统"
    lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc(title), publish=True)
    with w.ex.db.transaction(write=False) as s:  # the event was written with the listing
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.payload["listing_id"].as_integer() == lid)) == 1
    r = snd.run_once()
    assert r.events == 1 and r.mails_sent == 1, r
    got = sink.messages()[before:]
    assert [str(m["To"]) for m in got] == [w.email("member")]
    m = got[0]
    assert title in str(m["Subject"]) and title in text_of(m) and title in html_of(m)
    link = f"{PUBLIC}/listings/{lid}"
    assert link in text_of(m) and f'href="{link}"' in html_of(m)
    assert "强匹配" in text_of(m) and "城轨列车控制系统产业化场景" in text_of(m)  # the band, and which of theirs it matched
    assert str(m["List-Unsubscribe"]).strip().startswith(f"<{PUBLIC}/alerts/unsubscribe?t=") and m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(m["Message-ID"]).startswith("<alerts-u") and str(m["Message-ID"]).endswith("@tx.test>")
    # the link works for the recipient
    _, token = w.accounts.create_token(w.viewer("member"), "t")
    with TestClient(create_app(w.ex), base_url=PUBLIC) as c:
        page = c.get(link.removeprefix(PUBLIC), headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200 and title in page.text
    # never the same listing twice: nothing more now, nor when the listing changes and is published again
    assert snd.run_once().mails_sent == 0
    Listings(w.ex).save(w.viewer("owner_admin"), None, cbtc(title + "（升级版）"), listing_id=lid, publish=True)
    r = snd.run_once()
    assert r.events == 1 and r.mails_sent == 0 and len(sink.messages()) == before + 1
    assert count(w.ex, AlertItemRow, AlertItemRow.listing_id == lid, AlertItemRow.user_id == w.users["member"]) == 1
    # the publisher heard what already matches (their default: the daily digest, not yet due)
    with w.ex.db.transaction(write=False) as s:
        pub = list(s.scalars(select(AlertItemRow).where(AlertItemRow.user_id == w.users["owner_admin"], AlertItemRow.reason == "publisher")))
    assert {i.listing_id for i in pub} >= {w.fixture_ids["S-WQ"]} and all(i.mail_id is None and i.frequency == "daily" for i in pub)
    assert snd.preview(w.email("owner_admin")) is not None and "城轨列车控制系统产业化场景" in snd.preview(w.email("owner_admin"))[1]  # type: ignore[index]


def test_the_daily_digest_groups_items_and_goes_out_at_eight_beijing_time(w: world.World, sink: AioSink) -> None:
    clock = [tomorrow_at(1)]  # 09:00 in Beijing: the next digest is the day after, 08:00 (00:00 UTC)
    snd = sender_for(w.ex, sink, now=lambda: clock[0])
    snd.alerts.set_preferences(w.viewer("member"), {"frequency": "daily", "min_band": "weak"})
    settle(w, snd)
    before = len(sink.messages())
    ls = Listings(w.ex)
    ids = [ls.save(w.viewer("owner_admin"), "technology", cbtc(f"CBTC列车控制系统方案{i}"), publish=True) for i in range(3)]
    snd.run_once()
    assert len(sink.messages()) == before  # not yet
    clock[0] = tomorrow_at(0) + dt.timedelta(days=1, seconds=1)
    r = snd.run_once()
    assert r.mails_sent >= 1
    mine = [m for m in sink.messages()[before:] if str(m["To"]) == w.email("member")]
    assert len(mine) == 1 and "每日" in str(mine[0]["Subject"])
    body = text_of(mine[0])
    assert all(f"/listings/{i}" in body for i in ids) and body.count("■ 与贵单位的资源匹配") == 1


def test_unsubscribe_link_stops_mail_but_not_in_app_notifications(w: world.World, sink: AioSink) -> None:
    snd = sender_for(w.ex, sink)
    snd.alerts.set_preferences(w.viewer("member"), {"frequency": "instant"})
    settle(w, snd)
    Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("CBTC列车控制系统一"), publish=True)
    snd.run_once()
    m = sink.to(w.email("member"))[-1]
    url = str(m["List-Unsubscribe"]).strip().strip("<>")
    with TestClient(create_app(w.ex, snd.mailer), base_url=PUBLIC) as c:
        c.app.state.alert_sender = snd  # type: ignore[attr-defined]
        assert "确认退订" in c.get(url.removeprefix(PUBLIC)).text  # a GET only asks
        assert snd.alerts.preferences(w.viewer("member")).email
        assert c.post(url.removeprefix(PUBLIC) + "x").status_code == 422  # a tampered token does nothing
        r = c.post(url.removeprefix(PUBLIC))  # RFC 8058 one-click: no session, no CSRF token
        assert r.status_code == 200 and "已退订" in r.text
    assert not snd.alerts.preferences(w.viewer("member")).email
    n_mail, n_notes = len(sink.to(w.email("member"))), count(w.ex, NotificationRow, NotificationRow.org_id == w.orgs["member"])
    lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("CBTC列车控制系统二"), publish=True)
    snd.run_once()
    assert len(sink.to(w.email("member"))) == n_mail
    assert count(w.ex, NotificationRow, NotificationRow.org_id == w.orgs["member"]) == n_notes + 1
    assert count(w.ex, AlertItemRow, AlertItemRow.listing_id == lid, AlertItemRow.user_id == w.users["member"], AlertItemRow.skipped.is_(True)) == 1


def test_nobody_hears_of_a_listing_they_may_not_read(w: world.World, sink: AioSink) -> None:
    snd = sender_for(w.ex, sink)
    for role in ("member", "granted", "user"):
        snd.alerts.set_preferences(w.viewer(role), {"frequency": "instant", "min_band": "weak"})
    snd.alerts.subscribe(w.viewer("user"), {"type": "search", "q": "CBTC 列车控制系统", "frequency": "instant", "min_band": "weak"})
    settle(w, snd)
    before = len(sink.messages())
    conf = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("保密的CBTC列车控制系统", vis="confidential"), publish=True)
    memb = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("会员可见的CBTC列车控制系统", vis="members"), publish=True)
    snd.run_once()
    with w.ex.db.transaction(write=False) as s:
        got = {(i.user_id, i.listing_id) for i in s.scalars(select(AlertItemRow).where(AlertItemRow.listing_id.in_([conf, memb])))}
    assert (w.users["member"], conf) not in got  # summary access only: not matched, not told
    assert (w.users["member"], memb) in got  # a verified member reads members-only listings
    assert not any(u == w.users["user"] for u, _ in got)  # no organisation: neither
    assert not any(u in (w.users["owner_admin"], w.users["owner_member"]) and x in (conf, memb) for u, x in got)  # never one's own
    assert all("保密的" not in str(m["Subject"]) + text_of(m) for m in sink.messages()[before:])


def test_saved_search_and_follows(w: world.World, sink: AioSink) -> None:
    snd = sender_for(w.ex, sink)
    user = w.viewer("user")
    with pytest.raises(Exception) as e:
        snd.alerts.subscribe(user, {"type": "search", "q": "CBTC", "frequency": "hourly"})
    assert e.value.errors[0].field == "frequency"  # type: ignore[attr-defined]
    sub = snd.alerts.subscribe(user, {"type": "search", "q": "CBTC 列车控制系统", "kind": "technology", "frequency": "instant", "min_band": "weak"})
    snd.alerts.subscribe(user, {"type": "follow_region", "target": "11", "frequency": "instant"})
    snd.alerts.subscribe(w.viewer("granted"), {"type": "follow_org", "target": str(w.orgs["owner"]), "frequency": "instant"})
    assert [s["id"] for s in snd.alerts.subscriptions(user)][0] == sub["id"]
    settle(w, snd)
    assert not sink.to(w.email("user"))  # subscriptions start from now: older listings are not news
    lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("新一代CBTC列车控制系统"), publish=True)
    r = snd.run_once()
    assert r.searches == 1
    with w.ex.db.transaction(write=False) as s:
        items = {(i.user_id, i.reason) for i in s.scalars(select(AlertItemRow).where(AlertItemRow.listing_id == lid))}
    assert (w.users["granted"], "follow_org") in items
    assert len([u for u, _ in items if u == w.users["user"]]) == 1  # search and region follow both fit: one item, one mail
    assert len(sink.to(w.email("user"))) == 1 and "新一代CBTC列车控制系统" in text_of(sink.to(w.email("user"))[0])
    tj = Listings(w.ex).save(w.viewer("owner_admin"), "technology", dict(cbtc("天津的CBTC列车控制系统"), region="120114"), publish=True)
    snd.run_once()
    with w.ex.db.transaction(write=False) as s:
        reasons = {i.reason for i in s.scalars(select(AlertItemRow).where(AlertItemRow.listing_id == tj, AlertItemRow.user_id == w.users["user"]))}
    assert reasons == {"search"}  # outside the followed region: the saved search alone
    other = Listings(w.ex).save(w.viewer("owner_admin"), "technology", dict(cbtc("海淀区的高分子材料"), description="一种新型高分子材料的制备方法。",
                                                                            keywords="高分子材料"), publish=True)
    snd.run_once()
    with w.ex.db.transaction(write=False) as s:
        reasons = {i.reason for i in s.scalars(select(AlertItemRow).where(AlertItemRow.listing_id == other, AlertItemRow.user_id == w.users["user"]))}
    assert reasons == {"follow_region"}  # not the search (unrelated words), but the region followed
    snd.alerts.unsubscribe(user, sub["id"])
    assert sub["id"] not in [s["id"] for s in snd.alerts.subscriptions(user)]


def test_mail_is_retried_with_backoff_then_given_up_visibly(w: world.World, sink: AioSink) -> None:
    clock = [tomorrow_at(1)]
    snd = sender_for(w.ex, sink, now=lambda: clock[0])
    snd.alerts.set_preferences(w.viewer("member"), {"frequency": "instant"})
    settle(w, snd)
    sink.refuse = True
    Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc(), publish=True)
    r = snd.run_once()
    assert r.mails_retry == 1 and r.mails_sent == 0
    assert snd.run_once().mails_retry == 0  # backoff: not again at once
    for _ in range(A.MAX_ATTEMPTS - 1):
        clock[0] += A.RETRY_CAP
        r = snd.run_once()
    assert r.mails_failed == 1 and "mail" in r.errors[0]
    st = snd.status()
    assert st["mail"].get("failed") == 1 and st["mail_failed"][0]["attempts"] == A.MAX_ATTEMPTS and "451" in st["mail_failed"][0]["error"]
    sink.refuse = False
    clock[0] += A.RETRY_CAP
    assert snd.run_once().mails_sent == 0  # given up means given up


KILL_SCRIPT = """
import sys, time
from tongxin.services import Exchange
from tongxin.storage.db import Database
from tongxin.services.alert_sender import Sender
from tongxin.services.mail import SmtpMailer
ex = Exchange(Database(sys.argv[1]), sys.argv[2], background_sync=False)
Sender(ex, SmtpMailer("127.0.0.1", int(sys.argv[3])), secret="s", public_url="http://tx.test").run_once()
"""


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_the_mail_in_flight(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink = AioSink(delay=0.15)
    try:
        n = 30
        with exchange.db.transaction() as s:
            for i in range(n):
                AR.add_mail(s, f"k{i}", None, f"r{i}@test.tongxin.cn", f"主题 {i}", f"正文 {i}")
        url = exchange.db.url
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, url, str(tmp_path / "index"), str(sink.port)],
                                env={**os.environ, "TONGXIN_ENCODER": "none"})
        end = time.monotonic() + 60
        while len(sink.raw) < 8 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = len(sink.raw)
        assert 8 <= first < n, "the sender should have been killed mid-batch"
        time.sleep(0.3)  # the server finishes the message it was receiving, if any
        with exchange.db.transaction(write=False) as s:
            claimed = s.scalar(select(func.count()).select_from(MailRow).where(MailRow.status == "sending"))
        assert claimed and claimed >= 1  # what the dead sender held stays claimed until its lease runs out
        later = AR.now() + AR.LEASE + dt.timedelta(seconds=1)
        sink.delay = 0
        r = Sender(exchange, SmtpMailer("127.0.0.1", sink.port), secret="s", public_url="http://tx.test", now=lambda: later).run_once()
        assert r.mails_failed == 0
        ids = [str(m["Message-ID"]) for m in sink.messages()]
        assert {i.split("@")[0].lstrip("<") for i in ids} == {f"k{i}" for i in range(n)}  # nothing lost
        repeated = {i for i in ids if ids.count(i) > 1}
        assert len(ids) - len(set(ids)) <= 1 and len(repeated) <= 1  # at most the one in flight, under its own Message-ID
        assert count(exchange, MailRow, MailRow.status == "sent") == n
    finally:
        sink.close()


# -- API and webhooks --------------------------------------------------------------------------------

class _Hooks:
    """A loopback HTTP server that records webhook calls (answers `status`)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_subscriptions_api_and_signed_webhooks(w: world.World, sink: AioSink) -> None:
    import hashlib
    import hmac
    import json

    snd = sender_for(w.ex, sink)
    hooks = _Hooks()
    try:
        _, member = w.accounts.create_token(w.viewer("member"), "t")
        _, other = w.accounts.create_token(w.viewer("granted"), "t")
        h = {"Authorization": f"Bearer {member}"}
        app = create_app(w.ex, snd.mailer)
        with TestClient(app, base_url=PUBLIC) as c:
            app.state.alert_sender = snd
            bad = c.post("/api/v1/subscriptions", json={"type": "search", "q": "CBTC", "frequency": "hourly"}, headers=h)
            assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "frequency"
            made = c.post("/api/v1/subscriptions", json={"type": "search", "q": "列车控制系统", "kind": "technology", "filters": {"trl": 5},
                                                         "frequency": "weekly"}, headers=h)
            assert made.status_code == 201, made.text
            sid = made.json()["id"]
            assert c.patch(f"/api/v1/subscriptions/{sid}", json={"frequency": "instant"}, headers=h).json()["frequency"] == "instant"
            assert [s["id"] for s in c.get("/api/v1/subscriptions", headers=h).json()["items"]] == [sid]
            assert c.delete(f"/api/v1/subscriptions/{sid}", headers={"Authorization": f"Bearer {other}"}).status_code == 404  # not theirs
            assert c.delete(f"/api/v1/subscriptions/{sid}", headers=h).status_code == 204
            assert c.put("/api/v1/alerts/preferences", json={"frequency": "instant", "min_band": "possible"}, headers=h).json()["frequency"] == "instant"
            assert c.post("/api/v1/webhooks", json={"url": "ftp://x"}, headers=h).status_code == 422
            hook = c.post("/api/v1/webhooks", json={"url": hooks.url}, headers=h).json()
            assert hook["secret"].startswith("whsec_") and "secret" not in c.get("/api/v1/webhooks", headers=h).json()["items"][0]
            assert c.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers={"Authorization": f"Bearer {other}"}).status_code in (403, 404)
            snd.run_once()
            lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("CBTC列车控制系统（Webhook）"), publish=True)
            snd.run_once()
            calls = [(hd, b) for hd, b in hooks.calls if json.loads(b).get("listing", {}).get("id") == lid]
            assert len(calls) == 1
            hd, body = calls[0]
            t = hd["x-tongxin-signature"].split(",")[0][2:]
            want = hmac.new(hook["secret"].encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert hd["x-tongxin-signature"] == f"t={t},v1={want}" and json.loads(body)["reason"] == "match"
            log = c.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h).json()["items"]
            assert any(d["status"] == "sent" and d["response_status"] == 200 for d in log)
            hooks.status = 500
            tested = c.post(f"/api/v1/webhooks/{hook['id']}/test", headers=h).json()
            assert tested["status"] == "pending" and tested["response_status"] == 500 and tested["attempts"] == 1  # retried later
            notes = c.get("/api/v1/notifications", headers=h).json()["items"]
            assert any("CBTC列车控制系统（Webhook）" in n["zh"] and n["link"] == f"/listings/{lid}" for n in notes)  # in-app too
    finally:
        hooks.close()


def test_the_web_server_sends_due_alerts_itself(w: world.World, sink: AioSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_ALERTS_WORKER", "1")
    monkeypatch.setenv("TONGXIN_ALERTS_INTERVAL", "0.5")
    mailer = SmtpMailer("127.0.0.1", sink.port)
    app = create_app(w.ex, mailer)
    app.state.alert_sender.alerts.set_preferences(w.viewer("member"), {"frequency": "instant"})
    with TestClient(app):  # the lifespan starts the background sender
        Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("后台发送的CBTC列车控制系统"), publish=True)
        end = time.monotonic() + 60
        while time.monotonic() < end and not any("后台发送的" in str(m["Subject"]) for m in sink.to(w.email("member"))):
            time.sleep(0.1)
    assert [m for m in sink.to(w.email("member")) if "后台发送的" in str(m["Subject"])]


def test_a_daily_saved_search_is_evaluated_at_its_digest_and_mailed_then(w: world.World, sink: AioSink) -> None:
    clock = [AR.now()]  # the real time: the outbox stamps events with it
    snd = sender_for(w.ex, sink, now=lambda: clock[0])
    snd.alerts.subscribe(w.viewer("user"), {"type": "search", "q": "CBTC 列车控制系统", "frequency": "daily", "min_band": "weak"})
    settle(w, snd)
    lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("每日汇总的CBTC列车控制系统"), publish=True)
    clock[0] = AR.now()
    assert snd.run_once().searches == 0  # not before the digest
    clock[0] = A.due_at(A.Frequency.DAILY, clock[0]) + dt.timedelta(seconds=1)
    r = snd.run_once()
    assert r.searches == 1 and r.mails_sent >= 1  # (the others' default daily digests go out now too)
    got = sink.to(w.email("user"))
    assert len(got) == 1 and f"{PUBLIC}/listings/{lid}" in text_of(got[0]) and "保存的搜索" in text_of(got[0])


def test_the_search_page_saves_its_search_with_the_filters(w: world.World) -> None:
    session = w.accounts.create_session(w.users["member"])
    token = w.accounts.create_token(w.viewer("member"), "t")[1]
    with TestClient(create_app(w.ex), base_url=PUBLIC) as c:
        anon = c.get("/search", params={"q": "列车控制系统", "kind": "technology", "trl": "5"})
        assert "登录后可保存此搜索" in anon.text and 'action="/my/alerts/subscriptions"' not in anon.text
        c.cookies.set("tx_session", session)
        c.cookies.set("tx_csrf", "CSRFTOKEN")  # (the site's own cookie is Secure: not sent back over this test's http)
        page = c.get("/search", params={"q": "列车控制系统", "kind": "technology", "trl": "5"})
        form = page.text.split('class="row-form save-search"', 1)[1].split("</form>", 1)[0]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        assert fields["q"] == "列车控制系统" and fields["kind"] == "technology" and fields["trl"] == "5" and fields["type"] == "search"
        assert fields["csrf"] == "CSRFTOKEN"
        r = c.post("/my/alerts/subscriptions", data=fields | {"frequency": "weekly"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/my/alerts?saved=1", r.text[:300]
        c.cookies.clear()
        subs = c.get("/api/v1/subscriptions", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    saved = [s for s in subs if s.get("q") == "列车控制系统"]
    assert len(saved) == 1 and saved[0]["kind"] == "technology" and saved[0]["frequency"] == "weekly"
    assert str(saved[0]["filters"].get("trl")) == "5"


def test_a_bulk_import_alerts_like_a_single_publish(w: world.World, sink: AioSink, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Listings a file import publishes enter the outbox in the import's transaction (the bulk path and the
    row-by-row path), become alerts like a single publish; drafts, failed rows and a re-import stay quiet."""
    import json

    from factories import tech

    from tongxin.core.errors import ValidationError
    from tongxin.services.importing import import_file
    from tongxin.storage import repo

    snd = sender_for(w.ex, sink)
    snd.alerts.set_preferences(w.viewer("member"), {"frequency": "instant", "min_band": "possible"})
    settle(w, snd)

    def write(rows: list[dict[str, object]], name: str) -> str:
        p = tmp_path / name
        p.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return str(p)

    def events() -> set[int]:
        with w.ex.db.transaction(write=False) as s:
            return {int(e.payload["listing_id"]) for e in s.scalars(select(OutboxRow).where(OutboxRow.topic == "listing.published"))}

    desc, kw = "自主研发的城轨CBTC列车控制系统，支持全自动运行，实现轨道交通信号系统产业化。", "列车控制系统;CBTC;轨道交通信号"
    old = events()
    rows = [tech("T-IMP-PUB", "导入的全自动运行CBTC列车控制系统", desc, kw, owner="ORG-BJTU"),
            tech("T-IMP-DRAFT", "导入的CBTC列车控制系统草稿", desc, kw, owner="ORG-BJTU", status="draft"),
            tech("T-IMP-BAD", "导入的坏行", desc, kw, owner="ORG-BJTU", trl=12)]
    with pytest.raises(ValidationError):  # all or nothing: one bad row, no listing and no event
        import_file(w.ex.db, w.ex.registry, write(rows, "bad.json"))
    assert events() == old
    rep = import_file(w.ex.db, w.ex.registry, write(rows, "skip.json"), skip_invalid=True, report_path=str(tmp_path / "e.csv"))
    assert rep.listings_created == 2
    with w.ex.db.transaction(write=False) as s:
        ids = {x.external_id: int(x.id or 0) for x in repo.iter_listings(s, w.ex.registry)}
    assert events() - old == {ids["T-IMP-PUB"]}  # the draft is not announced
    w.ex.sync()
    r = snd.run_once()
    assert r.events >= 1 and r.mails_sent == 1, r
    got = sink.messages()[-1]
    assert str(got["To"]) == w.email("member") and "导入的全自动运行CBTC列车控制系统" in text_of(got)
    # re-import: the published one again (quiet), the draft now published (announced, row by row)
    again = [rows[0], dict(rows[1], status="published")]
    assert import_file(w.ex.db, w.ex.registry, write(again, "again.json")).listings_updated == 2
    assert events() - old == {ids["T-IMP-PUB"], ids["T-IMP-DRAFT"]}
    with w.ex.db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.payload["listing_id"].as_integer() == ids["T-IMP-PUB"])) == 1
    w.ex.sync()
    snd.run_once()
    assert count(w.ex, AlertItemRow, AlertItemRow.listing_id == ids["T-IMP-DRAFT"], AlertItemRow.user_id == w.users["member"]) == 1


def test_organisation_defaults_and_ones_own_settings(w: world.World, sink: AioSink) -> None:
    """An organisation administrator sets the defaults its people take (frequency, minimum band, kinds,
    regions); a person's own settings override them and can be dropped again; only administrators
    change them (API and page); the defaults decide delivery for people who set nothing."""
    snd = sender_for(w.ex, sink)
    settle(w, snd)
    tok = {r: w.accounts.create_token(w.viewer(r), "t")[1] for r in ("owner_admin", "owner_member", "member")}

    def h(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tok[role]}"}

    app = create_app(w.ex, snd.mailer)
    with TestClient(app, base_url=PUBLIC) as c:
        app.state.alert_sender = snd
        r = c.get("/api/v1/alerts/preferences", headers=h("owner_member"))
        assert r.json()["source"] == "platform" and r.json()["frequency"] == "daily"
        assert c.get("/api/v1/alerts/org-preferences", headers=h("owner_member")).json()["set"] is False
        defaults = {"frequency": "weekly", "min_band": "strong", "kinds": ["scenario"], "regions": ["12"]}
        assert c.put("/api/v1/alerts/org-preferences", json=defaults, headers=h("owner_member")).status_code == 403  # members read only
        bad = c.put("/api/v1/alerts/org-preferences", json={"email": False, "min_band": "best"}, headers=h("owner_admin"))
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["error"]["errors"]} == {"email"}
        bad = c.put("/api/v1/alerts/org-preferences", json={"min_band": "best"}, headers=h("owner_admin"))
        assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "min_band"
        r = c.put("/api/v1/alerts/org-preferences", json=defaults, headers=h("owner_admin"))
        assert r.status_code == 200 and r.json() == {"org_id": w.orgs["owner"], "set": True, **defaults}
        # people who set nothing take them
        got = c.get("/api/v1/alerts/preferences", headers=h("owner_member")).json()
        assert got == {**defaults, "email": True, "source": "organisation"}
        with w.ex.db.transaction(write=False) as s:
            eff = AR.prefs(s, [w.users["owner_member"], w.users["owner_admin"], w.users["member"]])
        assert eff[w.users["owner_member"]] == eff[w.users["owner_admin"]] == A.Preferences(A.Frequency.WEEKLY, "strong", ("scenario",), ("12",))
        assert eff[w.users["member"]] == A.DEFAULT_PREFERENCES  # another organisation: untouched
        # one's own settings override them, and stay when the defaults change
        mine = c.put("/api/v1/alerts/preferences", json={"min_band": "weak"}, headers=h("owner_member")).json()
        assert mine["source"] == "own" and mine["min_band"] == "weak" and mine["frequency"] == "weekly"
        c.put("/api/v1/alerts/org-preferences", json={"frequency": "off"}, headers=h("owner_admin"))
        assert c.get("/api/v1/alerts/preferences", headers=h("owner_member")).json()["frequency"] == "weekly"
        assert c.get("/api/v1/alerts/preferences", headers=h("owner_admin")).json()["frequency"] == "off"
        back = c.delete("/api/v1/alerts/preferences", headers=h("owner_member")).json()
        assert back["source"] == "organisation" and back["frequency"] == "off" and back["min_band"] == "strong"
        gone = c.delete("/api/v1/alerts/org-preferences", headers=h("owner_admin")).json()
        assert gone["set"] is False and c.get("/api/v1/alerts/preferences", headers=h("owner_member")).json()["source"] == "platform"

        # the page: administrators edit the defaults, members see them
        for role in ("owner_admin", "owner_member"):
            c.cookies.set("tx_session", w.accounts.create_session(w.users[role]))
            c.cookies.set("tx_csrf", "CSRFTOKEN")
            page = c.get("/my/alerts").text
            assert ('data-org-prefs-form' in page) == (role == "owner_admin") and 'id="org"' in page
            r = c.post("/my/alerts/org", data={"csrf": "CSRFTOKEN", "frequency": "instant", "min_band": "possible", "kinds": ["technology"],
                                               "regions": "11,12"}, follow_redirects=False)
            assert r.status_code == (303 if role == "owner_admin" else 403), r.text[:300]
        page = c.get("/my/alerts").text
        assert 'data-org-prefs="set"' in page and 'data-prefs-source="organisation"' in page
        c.cookies.clear()
        assert c.get("/api/v1/alerts/org-preferences", headers=h("owner_member")).json()["regions"] == ["11", "12"]

        # the defaults decide delivery: the member organisation asks for instant mail for everyone, nobody set their own
        assert c.put("/api/v1/alerts/org-preferences", json={"frequency": "instant", "min_band": "possible"}, headers=h("member")).status_code == 200
    before = len(sink.messages())
    lid = Listings(w.ex).save(w.viewer("owner_admin"), "technology", cbtc("全自动运行CBTC列车控制系统（机构默认）"), publish=True)
    r = snd.run_once()
    got = sink.messages()[before:]
    assert r.mails_sent == 1 and [str(m["To"]) for m in got] == [w.email("member")], r
    assert f"{PUBLIC}/listings/{lid}" in text_of(got[0])


def test_cli_saves_lists_and_deletes_searches_and_follows(w: world.World, db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "cli-idx"))
    from tongxin.cli.main import app

    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(app, ["alerts", *args], catch_exceptions=False)

    me = w.email("member")
    r = cli("subscribe", "--user", me, "--q", "列车控制系统", "--kind", "technology", "--filter", "trl=5", "--frequency", "weekly", "--json")
    assert r.exit_code == 0, r.output
    saved = json.loads(r.stdout)
    assert saved["q"] == "列车控制系统" and saved["kind"] == "technology" and str(saved["filters"]["trl"]) == "5" and saved["frequency"] == "weekly"
    r = cli("subscribe", "--user", me, "--follow", "region", "--target", "120000", "--json")
    assert r.exit_code == 0, r.output
    listed = json.loads(cli("subscriptions", "--user", me).stdout)
    assert {s["id"] for s in listed} >= {saved["id"], json.loads(r.stdout)["id"]}
    r = cli("subscribe", "--user", me, "--q", "x", "--filter", "trl5")
    assert r.exit_code == 1 and "key=value" in r.output  # named, nothing written
    assert len(json.loads(cli("subscriptions", "--user", me).stdout)) == len(listed)
    assert cli("unsubscribe", str(saved["id"]), "--user", me).exit_code == 0
    assert saved["id"] not in {s["id"] for s in json.loads(cli("subscriptions", "--user", me).stdout)}
    assert cli("subscriptions", "--user", "nobody@x.cn").exit_code == 3  # no such person
