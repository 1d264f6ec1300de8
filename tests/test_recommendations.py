"""Curated recommendations (issue #14) on SQLite and PostgreSQL: an operator sends listings with a
note to chosen organisations and to everyone verified in a region; each organisation receives
only what it may read in full, never its own listing, never the same listing twice; the in-app
notification at once and one e-mail per person through the outbox (a real SMTP server on
loopback); recipients answer 感兴趣 / 不相关 on the page and the API; the operator sees counts and
who; a member cannot send and a recipient cannot see others' answers. The CLI too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import world
from aiosmtp_sink import AioSink, html_of, text_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tongxin.core import access as acc
from tongxin.core import recommendations as C
from tongxin.core.errors import Forbidden, NotFound, ValidationError
from tongxin.core.listing import Listing
from tongxin.services import Exchange
from tongxin.services.alert_sender import Sender
from tongxin.services.listings import Listings
from tongxin.services.mail import SmtpMailer
from tongxin.services.recommendations import Recommendations
from tongxin.storage.models_accounts import NotificationRow
from tongxin.storage.models_recommendations import RecommendationItemRow
from tongxin.web.app import create_app

PUBLIC = "http://tx.test"
NOTE = "该成果已在京津冀多条线路示范应用，适合贵单位的城轨信号改造。"


# -- pure rules -----------------------------------------------------------------------------------

def _listing(lid: int, owner: int, vis: str = "public", status: str = "published") -> Listing:
    return Listing(kind="technology", side="offer", title=f"L{lid}", description="d", keywords=[], industry="C37", region="110108", owner=str(owner),
                   visibility=vis, status=status, id=lid, owner_id=owner)


def test_parse_draft_names_every_field_in_both_languages() -> None:
    with pytest.raises(ValidationError) as e:
        C.parse_draft({})
    fields = {fe.field for fe in e.value.errors}
    assert fields == {"listing_ids", "note"}
    with pytest.raises(ValidationError) as e:
        C.parse_draft({"listing_ids": "1, x", "note": "n" * (C.NOTE_MAX + 1), "industry": "Z9", "region": "99"})
    got = {fe.field: fe.message for fe in e.value.errors}
    assert set(got) == {"listing_ids", "note", "industry", "region"}
    assert "不是有效编号" in got["listing_ids"].zh and "not a valid id" in got["listing_ids"].en
    assert "GB/T 4754" in got["industry"].zh and "GB/T 2260" in got["region"].en
    with pytest.raises(ValidationError) as e:
        C.parse_draft({"listing_ids": [1], "note": "x"})
    assert [fe.field for fe in e.value.errors] == ["org_ids"] and "industry or a region" in e.value.errors[0].message.en
    d = C.parse_draft({"listing_ids": "3，3、5", "note": " why ", "org_ids": [7, "7"], "industry": "制造业", "region": "天津市"})
    assert d == C.Draft((3, 5), "why", (7,), "C", "12")
    assert C.parse_draft({"listing_ids": [1], "note": "x", "region": "1201"}).region == "1201"
    assert C.parse_response("感兴趣") == "interested" and C.parse_response("Not_Relevant") == "not_relevant"
    with pytest.raises(ValidationError) as e:
        C.parse_response("maybe")
    assert e.value.errors[0].field == "response"


def test_plan_never_an_invisible_listing_never_the_owner_never_twice() -> None:
    pub, mem, conf = _listing(1, owner=9), _listing(2, owner=9, vis="members"), _listing(3, owner=9, vis="confidential")
    closed = _listing(4, owner=9, status="closed")
    xs = {1: pub, 2: mem, 3: conf, 4: closed}
    verified = C.Recipient(1, "A", "C37", "120114", True)
    granted = C.Recipient(2, "B", "M73", "120116", True, frozenset({3}))
    pending = C.Recipient(3, "P", "", "120101", False)
    owner = C.Recipient(9, "O", "P83", "110108", True)
    elsewhere = C.Recipient(5, "S", "C27", "130100", True)
    d = C.Draft((1, 2, 3, 4), "n", org_ids=(1, 9), region="12")
    p = C.plan(d, [verified, granted, pending, owner, elsewhere, verified], xs, already={(2, 2)})
    assert p.deliveries == {1: (1, 2), 2: (1, 3)}  # pending: not verified, so not in the region's audience
    assert p.left_out_counts() == {"owner": 4, "not_visible": 3, "already_sent": 1}  # 1: conf + closed; 2: closed
    # chosen by id, an organisation awaiting verification receives what it may read: the public listing only
    p = C.plan(C.Draft((1, 2, 3), "n", org_ids=(3,)), [pending], xs)
    assert p.deliveries == {3: (1,)} and p.orgs_without_anything() == []
    assert C.tally(["interested", None, "not_relevant", "interested"]) == {"interested": 2, "not_relevant": 1, "unanswered": 1}


# -- the service, mail and in-app notifications (both databases) ----------------------------------------

@pytest.fixture
def w(exchange: Exchange) -> world.World:
    return world.build(exchange)


@pytest.fixture
def sink() -> Iterator[AioSink]:
    s = AioSink()
    yield s
    s.close()


def _org(ex: Exchange, ext: str) -> int:
    from tongxin.storage.models import OrganisationRow

    with ex.db.transaction(write=False) as s:
        return int(s.scalar(select(OrganisationRow.id).where(OrganisationRow.external_id == ext)) or 0)


def _notes(ex: Exchange, org_id: int, rec_id: int) -> int:
    with ex.db.transaction(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(NotificationRow).where(
            NotificationRow.org_id == org_id, NotificationRow.link == f"/my/recommendations#rec{rec_id}")) or 0)


def _items(ex: Exchange) -> set[tuple[int, int]]:
    with ex.db.transaction(write=False) as s:
        return {(int(o), int(x)) for o, x in s.execute(select(RecommendationItemRow.org_id, RecommendationItemRow.listing_id))}


def test_who_receives_what_once_in_app_and_by_mail(w: world.World, sink: AioSink) -> None:
    snd = Sender(w.ex, SmtpMailer("127.0.0.1", sink.port, "alerts@tongxin.test"), secret="test-secret", public_url=PUBLIC)
    snd.run_once()  # what the world's own publications caused
    before = len(sink.messages())
    recs = Recommendations(w.ex)
    L, orgs = w.listings, w.orgs
    hosp = _org(w.ex, "ORG-HOSP")
    sent = recs.send(w.viewer("operator"), {"listing_ids": [L["public"], L["members"], L["confidential"]], "note": NOTE,
                                            "org_ids": [orgs["member"], orgs["pending"], orgs["owner"]], "region": "12"})
    # Tianjin (region 12) adds the verified granted organisation and the hospital; Hebei's firm is not in it
    expected = {(orgs["member"], L["public"]), (orgs["member"], L["members"]),
                (orgs["granted"], L["public"]), (orgs["granted"], L["members"]), (orgs["granted"], L["confidential"]),
                (orgs["pending"], L["public"]),
                (hosp, L["public"]), (hosp, L["members"])}
    assert _items(w.ex) == expected
    assert sent.recipients == 4 and sent.counts == {"interested": 0, "not_relevant": 0, "unanswered": 8}
    assert sent.left_out == {"owner": 3, "not_visible": 4, "already_sent": 0}
    assert [x.id for x in sent.listings] == [L["public"], L["members"], L["confidential"]]
    for org in (orgs["member"], orgs["granted"], orgs["pending"], hosp):
        assert _notes(w.ex, org, sent.id) == 1
    assert _notes(w.ex, orgs["owner"], sent.id) == 0

    # the mail: one per person of each recipient organisation, with the note, the titles it may read and the link
    snd.run_once()
    got = sink.messages()[before:]
    assert sorted(str(m["To"]) for m in got) == sorted([w.email("member"), w.email("granted"), w.email("pending")])
    mine = next(m for m in got if str(m["To"]) == w.email("member"))
    body = text_of(mine)
    assert NOTE in body and world.title("public") in body and world.title("members") in body
    assert world.title("confidential") not in body and "SECRETDETAIL" not in body
    assert f"{PUBLIC}/my/recommendations#rec{sent.id}" in body and f'href="{PUBLIC}/my/recommendations#rec{sent.id}"' in html_of(mine)
    assert "平台向贵单位推荐" in str(mine["Subject"]) and "Recommended to your organisation" in str(mine["Subject"])
    assert world.title("confidential") in text_of(next(m for m in got if str(m["To"]) == w.email("granted")))

    # never twice: the same listings again reach nobody (refused, nothing written), and no mail follows
    with pytest.raises(ValidationError) as e:
        recs.send(w.viewer("admin"), {"listing_ids": [L["public"], L["members"]], "note": "再推一次", "org_ids": [orgs["member"]]})
    assert "以前已推荐过 2 项" in e.value.errors[0].message.zh and "recommended to it before: 2" in e.value.errors[0].message.en
    # a new listing with an old one: only the new one goes, only to those who may read it
    new = Listings(w.ex).save(w.viewer("owner_admin"), "technology", dict(world.tech_raw("public"), title="新的列车控制成果"), publish=True)
    again = recs.send(w.viewer("operator"), {"listing_ids": [L["public"], new], "note": "补充推荐", "org_ids": [orgs["member"]]})
    assert again.recipients == 1 and again.left_out["already_sent"] == 1
    assert {p for p in _items(w.ex) if p not in expected} == {(orgs["member"], new)}
    snd.run_once()
    assert len(sink.messages()) == before + 4
    assert snd.run_once().mails_sent == 0  # and never again, however often the sender runs


def test_answers_are_the_recipients_own_and_only_staff_see_them(w: world.World) -> None:
    recs = Recommendations(w.ex)
    L, orgs = w.listings, w.orgs
    sent = recs.send(w.viewer("operator"), {"listing_ids": [L["public"], L["members"]], "note": NOTE, "org_ids": [orgs["member"], orgs["granted"]]})
    recs.respond(w.viewer("member"), sent.id, L["public"], "interested")
    recs.respond(w.viewer("member"), sent.id, L["members"], "不相关")
    item = recs.respond(w.viewer("granted"), sent.id, L["public"], "not_relevant")
    assert item.response == "not_relevant" and item.responded_by == "granted 用户"
    recs.respond(w.viewer("granted"), sent.id, L["public"], "interested")  # the latest answer counts

    card = recs.inbox(w.viewer("member"))
    assert [c.id for c in card] == [sent.id]
    assert {i.listing_id: i.response for i in card[0].items} == {L["public"]: "interested", L["members"]: "not_relevant"}
    assert recs.unanswered(w.viewer("member")) == 0 and recs.unanswered(w.viewer("owner_admin")) == 0

    r = recs.responses(w.viewer("operator"), sent.id)
    per = {x.id: c for x, c in r.per_listing}
    assert per[L["public"]] == {"interested": 2, "not_relevant": 0, "unanswered": 0}
    assert per[L["members"]] == {"interested": 0, "not_relevant": 1, "unanswered": 1}
    assert {(a.org_id, a.listing_id, a.response, a.responded_by) for a in r.answers} == {
        (orgs["member"], L["public"], "interested", "member 用户"), (orgs["member"], L["members"], "not_relevant", "member 用户"),
        (orgs["granted"], L["public"], "interested", "granted 用户"), (orgs["granted"], L["members"], None, None)}
    assert r.recommendation.counts == {"interested": 2, "not_relevant": 1, "unanswered": 1}

    # a recipient sees neither the others' answers nor the sender's views; a member cannot send
    for role in ("member", "granted", "owner_admin", "user"):
        with pytest.raises(Forbidden):
            recs.responses(w.viewer(role), sent.id)
        with pytest.raises(Forbidden):
            recs.sent(w.viewer(role))
        with pytest.raises(Forbidden):
            recs.send(w.viewer(role), {"listing_ids": [L["public"]], "note": "x", "org_ids": [orgs["member"]]})
    # only a recipient organisation answers, and only about what it received
    with pytest.raises(NotFound):
        recs.respond(w.viewer("owner_admin"), sent.id, L["public"], "interested")
    with pytest.raises(NotFound):
        recs.respond(w.viewer("member"), sent.id, L["confidential"], "interested")
    with pytest.raises(ValidationError):
        recs.respond(w.viewer("member"), sent.id, L["public"], "maybe")
    assert recs.inbox(w.viewer("owner_admin")) == []
    # a draft or a missing listing cannot be recommended; a missing organisation is named
    with pytest.raises(ValidationError) as e:
        recs.send(w.viewer("operator"), {"listing_ids": [L["draft"], 10**9], "note": "x", "org_ids": [10**9]})
    assert any(fe.field == "listing_ids" and "not published" in fe.message.en and str(L["draft"]) in fe.message.en for fe in e.value.errors)
    assert any(fe.field == "listing_ids" and "does not exist" in fe.message.en for fe in e.value.errors)
    assert any(fe.field == "org_ids" and "does not exist" in fe.message.en for fe in e.value.errors)


# -- web pages and API (both databases) ----------------------------------------------------------------

@pytest.fixture
def site(w: world.World) -> Iterator[tuple[world.World, TestClient, dict[str, str], dict[str, str]]]:
    tokens = {r: w.accounts.create_token(w.viewer(r), "t")[1] for r in ("operator", "member", "granted", "owner_admin")}
    sessions = {r: w.accounts.create_session(uid) for r, uid in w.users.items()}
    with TestClient(create_app(w.ex), base_url="https://testserver") as c:
        c.cookies.clear()
        yield w, c, tokens, sessions


def _api(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def _page(sessions: dict[str, str], role: str) -> dict[str, str]:
    return {"Cookie": f"tx_csrf=CSRFTOKEN; tx_session={sessions[role]}"}


def test_api_create_list_respond_responses(site: tuple[world.World, TestClient, dict[str, str], dict[str, str]]) -> None:
    w, c, tokens, _ = site
    L, orgs = w.listings, w.orgs
    body = {"listing_ids": [L["public"], L["confidential"]], "note": NOTE, "org_ids": [orgs["member"], orgs["granted"]]}
    r = c.post("/api/v1/recommendations", json=body, headers=_api(tokens, "member"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.post("/api/v1/recommendations", json=body).status_code == 401
    r = c.post("/api/v1/recommendations", json={**body, "note": ""}, headers=_api(tokens, "operator"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "note"
    r = c.post("/api/v1/recommendations", json=body, headers=_api(tokens, "operator"))
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["recipients"] == 2 and rec["counts"] == {"interested": 0, "not_relevant": 0, "unanswered": 3}
    assert rec["left_out"] == {"owner": 0, "not_visible": 1, "already_sent": 0} and rec["audience"]["org_ids"] == [orgs["member"], orgs["granted"]]

    r = c.get("/api/v1/recommendations", headers=_api(tokens, "operator"))
    assert r.status_code == 200 and r.json()["box"] == "sent" and [x["id"] for x in r.json()["items"]] == [rec["id"]]
    r = c.get("/api/v1/recommendations", headers=_api(tokens, "member"))
    assert r.json()["box"] == "inbox" and [i["listing_id"] for i in r.json()["items"][0]["items"]] == [L["public"]]
    assert c.get("/api/v1/recommendations?box=sent", headers=_api(tokens, "member")).status_code == 403

    url = f"/api/v1/recommendations/{rec['id']}/responses"
    r = c.post(url, json={"listing_id": L["public"], "response": "interested"}, headers=_api(tokens, "member"))
    assert r.status_code == 200 and r.json()["response"] == "interested" and r.json()["responded_by"] == "member 用户"
    r = c.post(url, json={"listing_id": L["confidential"], "response": "interested"}, headers=_api(tokens, "member"))
    assert r.status_code == 404  # not recommended to this organisation
    r = c.post(url, json={"listing_id": L["confidential"], "response": "nope"}, headers=_api(tokens, "granted"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "response"
    r = c.post(url, json={"response": "interested"}, headers=_api(tokens, "granted"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "listing_id"
    c.post(url, json={"listing_id": L["confidential"], "response": "not_relevant"}, headers=_api(tokens, "granted"))

    for role in ("member", "granted", "owner_admin"):  # recipients never see the others' answers
        r = c.get(url, headers=_api(tokens, role))
        assert r.status_code == 403 and "member 用户" not in r.text
    r = c.get(url, headers=_api(tokens, "operator"))
    assert r.status_code == 200
    got = r.json()
    assert {x["listing_id"]: x["counts"] for x in got["per_listing"]} == {
        L["public"]: {"interested": 1, "not_relevant": 0, "unanswered": 1}, L["confidential"]: {"interested": 0, "not_relevant": 1, "unanswered": 0}}
    assert {(a["org_name"], a["response"]) for a in got["answers"] if a["response"]} == {("交控技术装备有限公司", "interested"),
                                                                                       ("中国科学院天津工业生物技术研究所", "not_relevant")}
    schemas = c.get("/openapi.json").json()["components"]["schemas"]
    assert {"RecommendationOut", "RecommendationsOut", "InboxCardOut", "ResponsesOut"} <= set(schemas)


def test_pages_compose_inbox_and_responses(site: tuple[world.World, TestClient, dict[str, str], dict[str, str]]) -> None:
    w, c, _, sessions = site
    L, orgs = w.listings, w.orgs
    op = _page(sessions, "operator")
    # the listing page offers staff the way in; the compose page has the listing ticked
    assert f"/operator/recommendations/new?listing_ids={L['public']}" in c.get(f"/listings/{L['public']}", headers=op).text
    assert "/operator/recommendations/new" not in c.get(f"/listings/{L['public']}", headers=_page(sessions, "member")).text
    r = c.get(f"/operator/recommendations/new?listing_ids={L['public']}", headers=op)
    assert r.status_code == 200 and f'name="listing_ids" value="{L["public"]}" checked' in r.text
    # 查找: words find listings, a name finds organisations, what is ticked stays ticked
    r = c.post("/operator/recommendations/new", headers=op, data={"csrf": "CSRFTOKEN", "action": "search", "listing_ids": str(L["public"]),
                                                                    "q": "列车控制系统", "orgq": "交控"})
    assert r.status_code == 200 and f'name="org_ids" value="{orgs["member"]}"' in r.text and world.title("members") in r.text
    # an empty note: the form again, naming the field
    r = c.post("/operator/recommendations/new", headers=op, data={"csrf": "CSRFTOKEN", "action": "send", "listing_ids": str(L["public"]),
                                                                    "org_ids": str(orgs["member"]), "note": ""})
    assert r.status_code == 422 and 'data-field="note"' in r.text
    # every form needs its CSRF token
    for url in ("/operator/recommendations/new", f"/my/recommendations/{L['public']}/respond"):
        r = c.post(url, headers=op, data={"action": "send", "listing_ids": str(L["public"]), "org_ids": str(orgs["member"]), "note": "x"})
        assert r.status_code == 403 and "表单已过期" in r.text
    # a member may not open or send
    assert c.get("/operator/recommendations/new", headers=_page(sessions, "member")).status_code == 403
    r = c.post("/operator/recommendations/new", headers=_page(sessions, "member"),
               data={"csrf": "CSRFTOKEN", "action": "send", "listing_ids": str(L["public"]), "org_ids": str(orgs["member"]), "note": "x"})
    assert r.status_code == 403 and not _items(w.ex)
    r = c.post("/operator/recommendations/new", headers=op, follow_redirects=False,
               data={"csrf": "CSRFTOKEN", "action": "send", "listing_ids": [str(L["public"]), str(L["members"])], "more_org_ids": f"{orgs['member']}, {orgs['granted']}",
                     "note": NOTE})
    assert r.status_code == 303, r.text
    rec_id = int(r.headers["location"].split("/")[-1].split("?")[0])

    # the recipient: the notification links to the inbox card; 感兴趣 / 不相关 per listing
    mem = _page(sessions, "member")
    assert f"/my/recommendations#rec{rec_id}" in c.get("/my/org", headers=mem).text
    page = c.get("/my/recommendations", headers=mem).text
    assert f'id="rec{rec_id}"' in page and NOTE in page and world.title("members") in page and 'value="interested"' in page and 'value="not_relevant"' in page
    r = c.post(f"/my/recommendations/{rec_id}/respond", headers=mem, follow_redirects=False,
               data={"csrf": "CSRFTOKEN", "listing_id": str(L["members"]), "response": "interested"})
    assert r.status_code == 303 and r.headers["location"] == f"/my/recommendations#rec{rec_id}"
    c.post(f"/my/recommendations/{rec_id}/respond", headers=_page(sessions, "granted"),
           data={"csrf": "CSRFTOKEN", "listing_id": str(L["public"]), "response": "not_relevant"})
    page = c.get("/my/recommendations", headers=mem).text
    assert "member 用户" in page and "granted 用户" not in page  # its own answers only
    assert c.get(f"/operator/recommendations/{rec_id}", headers=mem).status_code == 403

    # the operator: counts and who
    r = c.get(f"/operator/recommendations/{rec_id}", headers=op)
    assert r.status_code == 200 and NOTE in r.text and "交控技术装备有限公司" in r.text and "member 用户" in r.text and "granted 用户" in r.text
    listing_rows = {row.split('data-listing="')[1].split('"')[0]: row for row in r.text.split("<tr")[1:] if 'data-listing="' in row and "data-org" not in row}
    assert "<td>1</td><td>0</td><td>1</td>" in listing_rows[str(L["members"])] and "<td>0</td><td>1</td><td>1</td>" in listing_rows[str(L["public"])]
    r = c.get("/operator/recommendations", headers=op)
    assert f'data-rec="{rec_id}"' in r.text and "/operator/recommendations" in c.get("/operator", headers=op).text


# -- the command line (both databases) -------------------------------------------------------------------

def test_cli_send_list_responses(w: world.World, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "cli-idx"))
    from tongxin.cli.main import app

    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(app, ["recommend", *args], catch_exceptions=False)

    L, orgs = w.listings, w.orgs
    r = cli("send", "--listing", str(L["public"]), "-l", str(L["confidential"]), "--note", NOTE, "--region", "天津市", "--json")
    assert r.exit_code == 0, r.output
    sent = json.loads(r.stdout)
    assert sent["recipients"] == 3 and sent["audience"]["region"] == "12"  # the member and granted firms, the hospital
    assert sent["author"].startswith("平台运营") and sent["left_out"]["not_visible"] == 2
    r = cli("send", "--listing", str(L["public"]), "--note", NOTE, "--org", str(orgs["member"]))
    assert r.exit_code == 1 and "以前已推荐过" in r.output and "recommended to it before" in r.output
    r = cli("send", "--listing", str(L["public"]), "--note", NOTE)
    assert r.exit_code == 1 and "org_ids" in r.output
    Recommendations(w.ex).respond(w.viewer("member"), sent["id"], L["public"], "interested")
    r = cli("list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["counts"] == {"interested": 1, "not_relevant": 0, "unanswered": 3}
    r = cli("list")
    assert r.exit_code == 0 and f"│ {sent['id']} " in r.output and "城轨" in r.output  # a table (narrow here: titles wrap)
    r = cli("responses", str(sent["id"]))
    assert r.exit_code == 0 and "交控" in r.output and "感兴趣" in r.output and "member" in r.output
    r = cli("responses", str(sent["id"]), "--json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)["answers"]) == 4
    assert cli("responses", "999999").exit_code == 3


def test_a_recipient_org_as_viewer_sees_what_its_people_see(w: world.World) -> None:
    """The rule the plan uses for an organisation is the one its people meet on the listing page."""
    from tongxin.storage import recommendations_repo as RR

    with w.ex.db.transaction(write=False) as s:
        rows = RR.orgs_by_id(s, [w.orgs["member"], w.orgs["granted"], w.orgs["pending"]])
        grants = RR.grants(s, list(rows), list(w.listings.values()))
        as_org = {k: RR.recipient(rows[w.orgs[k]], grants.get(w.orgs[k], frozenset())).viewer() for k in ("member", "granted", "pending")}
    for role, v in as_org.items():
        person = w.viewer(role)
        for vis, lid in w.listings.items():
            x, _ = w.ex.get(lid, acc.SYSTEM)
            assert acc.access(v, x) == acc.access(person, x), (role, vis)


def test_recipients_webhooks_hear_of_a_recommendation_once(w: world.World, sink: AioSink) -> None:
    """Each recipient organisation's webhooks get one signed call with what that organisation received
    (queued in the send's transaction, sent by the alert sender); others' webhooks get nothing."""
    import hashlib
    import hmac

    from test_alerts import _Hooks

    from tongxin.services.webhooks import Webhooks
    from tongxin.storage.models_alerts import WebhookDeliveryRow

    snd = Sender(w.ex, SmtpMailer("127.0.0.1", sink.port, "alerts@tongxin.test"), secret="test-secret", public_url=PUBLIC)
    snd.run_once()
    hooks = _Hooks()
    try:
        wh = Webhooks(snd)
        made = {who: wh.create(w.viewer(who), hooks.url + f"/{who}") for who in ("member", "granted", "owner_admin")}
        L, orgs = w.listings, w.orgs
        sent = Recommendations(w.ex).send(w.viewer("operator"), {"listing_ids": [L["public"], L["confidential"]], "note": NOTE,
                                                                 "org_ids": [orgs["member"], orgs["granted"], orgs["owner"]]})
        with w.ex.db.transaction(write=False) as s:  # queued with the recommendation
            keys = set(s.scalars(select(WebhookDeliveryRow.key).where(WebhookDeliveryRow.event == "recommendation")))
        assert keys == {f"wh{made['member']['id']}-rec{sent.id}", f"wh{made['granted']['id']}-rec{sent.id}"}  # never the owner
        r = snd.run_once()
        assert r.webhooks_sent == 2, r
        by_path = {h.get("x-tongxin-delivery", ""): (h, json.loads(b)) for h, b in hooks.calls}
        assert len(hooks.calls) == 2 and set(by_path) == keys
        for who in ("member", "granted"):
            h, body = by_path[f"wh{made[who]['id']}-rec{sent.id}"]
            assert body["event"] == "recommendation" and body["recommendation_id"] == sent.id and body["note"] == NOTE
            assert body["path"] == f"/my/recommendations#rec{sent.id}"
            t, v1 = (p.split("=", 1)[1] for p in h["x-tongxin-signature"].split(","))
            raw = next(b for hh, b in hooks.calls if hh is h)
            assert hmac.compare_digest(v1, hmac.new(made[who]["secret"].encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest())
        titles = {who: [x["title"] for x in by_path[f"wh{made[who]['id']}-rec{sent.id}"][1]["listings"]] for who in ("member", "granted")}
        assert titles == {"member": [world.title("public")], "granted": [world.title("public"), world.title("confidential")]}
        assert snd.run_once().webhooks_sent == 0 and len(hooks.calls) == 2  # never twice
    finally:
        hooks.close()
