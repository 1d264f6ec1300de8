"""Organisation facts: owners set headcount, revenue, founding date, R&D spending and certifications on
/my/org/facts and through PATCH /api/v1/organisations/{id} (unknown keys are a 422, never dropped; bad
values name the field; nothing is written); operators verify; a change clears the verification and
re-checks the policies (a newly met one is announced). Private to the firm and staff.
Runs on SQLite and, when TONGXIN_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import world
from factories import ORGS, load
from fastapi.testclient import TestClient
from test_kinds_resources import row

from tongxin.core import access as acc
from tongxin.core.errors import Forbidden, NotFound, ValidationError
from tongxin.core.org_facts import check_facts
from tongxin.services import Exchange
from tongxin.services import org_facts as F
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app

CSRF = "CSRFTOKEN"
TODAY = dt.date(2026, 5, 1)
POLICY = row("PL-HT", "policy", "高新技术企业研发奖励", "按研发投入给予奖励。", "研发;奖励", "ORG-HOSP", "130000", "S92", issuing_body="河北省科技厅",
             benefit_type="subsidy", benefit="奖励 10 万元", eligibility="employees <= 500; rd_spending >= 100; certifications has 高新技术企业",
             valid_until="2099-12-31")


def test_check_facts_names_each_problem() -> None:
    ok = check_facts({"employees": "120", "revenue": 3500.5, "founded": "2016-03-01", "rd_spending": "300", "certifications": "高企、专精特新"}, TODAY)
    assert ok.errors == [] and ok.changes == {"employees": 120, "revenue": 3500.5, "founded": dt.date(2016, 3, 1), "rd_spending": 300.0,
                                              "certifications": ["高新技术企业", "专精特新中小企业"]}
    bad = check_facts({"employees": 12.5, "revenue": "很多", "founded": "2030-01-01", "rd_spending": -1, "certifications": ["金牌企业"]}, TODAY)
    assert [e.field for e in bad.errors] == ["employees", "revenue", "founded", "rd_spending", "certifications"]
    assert all(e.message.zh and e.message.en for e in bad.errors)
    assert check_facts({"employees": True}, TODAY).errors  # a boolean is not a headcount
    assert check_facts({"revenue": 100, "rd_spending": 200}, TODAY).errors[0].field == "rd_spending"
    assert check_facts({"employees": None, "certifications": ""}, TODAY).changes == {"employees": None, "certifications": []}


@pytest.fixture
def site(db_url: str, tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    load(ex, ORGS, [POLICY])
    app = create_app(ex)
    accounts = app.state.accounts
    accounts._ph = world.fast_hasher()
    with ex.db.transaction() as s:
        orgs = {o: rr.resolve_org(s, o).id for o in ("ORG-SJZ", "ORG-WQ")}
    people: dict[str, dict[str, Any]] = {}
    for who, org, platform, role in (("operator", None, "operator", ""), ("owner", "ORG-SJZ", "user", "org_admin"),
                                     ("member", "ORG-SJZ", "user", "member"), ("stranger", "ORG-WQ", "user", "org_admin")):
        uid = accounts.sign_up(f"{who}@facts.tongxin.cn", world.PASSWORD, f"{who}用户")
        with ex.db.transaction() as s:
            R.get_user(s, uid).role = platform
            if org:
                R.add_membership(s, uid, orgs[org], role)
        people[who] = {"session": accounts.create_session(uid), "viewer": accounts.viewer(uid)}
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"c": c, "ex": ex, "people": people, "org": orgs["ORG-SJZ"], "other": orgs["ORG-WQ"]}
    ex.close()


def _h(site: dict[str, Any], who: str) -> dict[str, str]:
    cookie = f"tx_csrf={CSRF}" + (f"; tx_session={site['people'][who]['session']}" if who != "visitor" else "")
    return {"Cookie": cookie, "X-CSRF-Token": CSRF}


def _facts(site: dict[str, Any]) -> Any:
    with site["ex"].db.transaction(write=False) as s:
        return rr.get_facts(s, site["org"])


def test_patch_organisation_sets_facts_and_refuses_unknown_keys(site: dict[str, Any]) -> None:
    c, org = site["c"], site["org"]
    url = f"/api/v1/organisations/{org}"
    r = c.patch(url, json={"employees": 120, "colour": "red"}, headers=_h(site, "owner"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["error"]["errors"]] == ["colour"]
    r = c.patch(url, json={"employees": 120, "revenue": "lots", "credit_code": "91110000000000000X"}, headers=_h(site, "owner"))
    assert r.status_code == 422 and {e["field"] for e in r.json()["error"]["errors"]} == {"revenue", "credit_code"}
    r = c.patch(url, json={"description": "新的简介", "employees": 10**9}, headers=_h(site, "owner"))
    assert r.status_code == 422
    assert _facts(site).employees is None  # nothing written: neither the facts nor the profile
    assert "新的简介" not in c.get(url, headers=_h(site, "owner")).text
    for who in ("member", "stranger", "visitor"):
        assert c.patch(url, json={"employees": 5}, headers=_h(site, who)).status_code in (401, 403)
    body = {"employees": 120, "revenue": 3500, "founded": "2016-03-01", "rd_spending": 300, "certifications": ["高新技术企业"],
            "id": org, "description": "石家庄的药企"}
    r = c.patch(url, json=body, headers=_h(site, "owner"))
    assert r.status_code == 200, r.text
    facts = r.json()["facts"]
    assert {k: facts[k] for k in ("employees", "revenue", "founded", "rd_spending", "certifications", "verified")} == {
        "employees": 120, "revenue": 3500.0, "founded": "2016-03-01", "rd_spending": 300.0, "certifications": ["高新技术企业"], "verified": False}
    assert r.json()["description"] == "石家庄的药企"
    # the policy that now holds is announced once
    with site["ex"].db.transaction(write=False) as s:
        texts = [n.text_zh for n in R.notifications(s, org)]
    assert sum("高新技术企业研发奖励" in t for t in texts) == 1
    # private: others never see the figures
    assert "facts" in c.get(url, headers=_h(site, "member")).json()
    for who in ("stranger", "visitor"):
        got = c.get(url, headers=_h(site, who))
        assert "facts" not in got.json() and "3500" not in got.text
        assert c.get(f"/api/v1/organisations/{org}/facts", headers=_h(site, who)).status_code == 404
    assert c.get(f"/api/v1/organisations/{org}/facts", headers=_h(site, "operator")).json()["employees"] == 120
    r = c.patch(f"/api/v1/organisations/{org}/facts", json={"employees": None, "extra": 1}, headers=_h(site, "owner"))
    assert r.status_code == 422 and _facts(site).employees == 120


def test_operators_verify_and_a_change_clears_it(site: dict[str, Any]) -> None:
    ex, org, owner, op = site["ex"], site["org"], site["people"]["owner"]["viewer"], site["people"]["operator"]["viewer"]
    F.update(ex, owner, org, {"employees": 80, "revenue": 900}, TODAY)
    assert [r.org_id for r in F.to_verify(ex, op)[0]] == [org]
    with pytest.raises(Forbidden):
        F.verify(ex, owner, org)
    with pytest.raises(NotFound):
        F.verify(ex, op, site["other"])  # nothing entered
    assert F.verify(ex, op, org).verified and F.to_verify(ex, op) == ([], 0)
    F.update(ex, owner, org, {"employees": 80}, TODAY)  # the same value: still verified
    assert _facts(site).verified
    F.update(ex, owner, org, {"employees": 81}, TODAY)
    assert not _facts(site).verified
    with pytest.raises(ValidationError):
        F.update(ex, owner, org, {"founded": "yesterday"}, TODAY)
    with pytest.raises(NotFound):
        F.facts(ex, acc.Viewer(org_id=site["other"], org_verified=True, role="org_admin", user_id=1), org)


def test_pages(site: dict[str, Any]) -> None:
    c, org = site["c"], site["org"]
    r = c.get("/my/org/facts", headers=_h(site, "owner"))
    assert r.status_code == 200 and "data-facts-form" in r.text and "高新技术企业" in r.text
    r = c.post("/my/org/facts", data={"csrf": CSRF, "employees": "十二", "revenue": "", "founded": "2016-03-01", "rd_spending": "",
                                      "certifications": ["科技型中小企业"]}, headers=_h(site, "owner"), follow_redirects=False)
    assert r.status_code == 422 and 'data-field="employees"' in r.text and "员工人数" in r.text and 'value="十二"' in r.text
    assert _facts(site).founded is None
    r = c.post("/my/org/facts", data={"csrf": CSRF, "employees": "120", "revenue": "3500", "founded": "2016-03-01", "rd_spending": "300",
                                      "certifications": ["科技型中小企业", "高新技术企业"]}, headers=_h(site, "owner"), follow_redirects=False)
    assert r.status_code == 303
    f = _facts(site)
    assert (f.employees, f.founded, set(f.certifications)) == (120, dt.date(2016, 3, 1), {"科技型中小企业", "高新技术企业"})
    r = c.get("/my/org/facts", headers=_h(site, "member"))
    assert r.status_code == 200 and "data-facts-form" not in r.text and "3500" in r.text  # members read, admins edit
    assert c.post("/my/org/facts", data={"csrf": CSRF, "employees": "1"}, headers=_h(site, "member"), follow_redirects=False).status_code == 403
    assert c.get(f"/operator/orgs/{org}/facts", headers=_h(site, "stranger")).status_code == 403
    r = c.get("/operator/facts", headers=_h(site, "operator"))
    assert r.status_code == 200 and f'data-org="{org}"' in r.text
    r = c.post(f"/operator/orgs/{org}/facts/verify", data={"csrf": CSRF}, headers=_h(site, "operator"), follow_redirects=False)
    assert r.status_code == 303 and _facts(site).verified
    assert 'data-verified="yes"' in c.get("/my/org/facts", headers=_h(site, "owner")).text
    r = c.post("/my/org/profile", data={"csrf": CSRF, "name": "石家庄药业集团有限公司", "description": "简介"}, headers=_h(site, "owner"),
               follow_redirects=False)
    assert r.status_code == 303  # the profile form still saves (its CSRF field is not an unknown key)


def test_a_facts_change_rechecks_the_policies_at_once(site: dict[str, Any]) -> None:
    """免申即享 at once when a firm's facts change: the same keyed notice as the policy save and the hourly
    scan (in-app now, a mail event in the same transaction), so the scan after it adds nothing."""
    from sqlalchemy import select

    from tongxin.services import notices
    from tongxin.storage.models_alerts import OutboxRow, SentNoticeRow
    from tongxin.storage.repo import ListingRow

    ex, org, owner = site["ex"], site["org"], site["people"]["owner"]["viewer"]
    with ex.db.transaction() as s:
        assert rr.org_row(s, org).verified  # the scan's rule: verified organisations only
    with ex.db.transaction(write=False) as s:
        pid = int(s.scalar(select(ListingRow.id).where(ListingRow.title == "高新技术企业研发奖励")))
    _, newly = F.update(ex, owner, org, {"employees": 120, "rd_spending": 50, "certifications": ["高新技术企业"]}, TODAY)
    assert newly == []  # R&D spending too low: not yet
    with ex.db.transaction(write=False) as s:
        assert s.get(SentNoticeRow, f"policy{pid}-o{org}") is None
    _, newly = F.update(ex, owner, org, {"rd_spending": 300}, TODAY)
    assert newly == [pid]
    with ex.db.transaction(write=False) as s:
        assert s.get(SentNoticeRow, f"policy{pid}-o{org}") is not None
        events = [e.payload for e in s.scalars(select(OutboxRow).where(OutboxRow.topic == notices.TOPIC_NOTICE))]
        assert [e["key"] for e in events if e["org_id"] == org] == [f"policy{pid}-o{org}"]
        assert sum("高新技术企业研发奖励" in n.text_zh for n in R.notifications(s, org)) == 1
    with ex.db.transaction() as s:  # the hourly scan and a second change find it already told
        assert notices.policy_eligibility(s, ex.registry, TODAY) == []
    F.update(ex, owner, org, {"employees": 130}, TODAY)
    with ex.db.transaction(write=False) as s:
        assert sum("高新技术企业研发奖励" in n.text_zh for n in R.notifications(s, org)) == 1
