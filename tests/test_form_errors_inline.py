"""Forms that used to land on a bare 4xx page on bad input now answer with the same page, the problem
beside the form, the field named in Chinese (English on English pages), and what was typed kept; nothing
is written. The organisation profile and invitation forms (/my/org), and the interest, report and grant
forms of a listing page. (The facts, evidence, facts import and contract check forms have theirs in
tests/test_org_facts_evidence.py, tests/test_org_facts_import.py and tests/test_contract_verify.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import world
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.storage import accounts_repo as AR
from tongxin.web.app import create_app

CSRF = "CSRFTOKEN"


class Site:
    def __init__(self, w: world.World, c: TestClient) -> None:
        self.w, self.c = w, c
        self.sessions = {r: w.accounts.create_session(w.users[r]) for r in ("owner_admin", "member", "granted")}

    def post(self, role: str, url: str, data: dict[str, Any], lang: str = "") -> Any:
        cookie = f"tx_csrf={CSRF}; tx_session={self.sessions[role]}" + (f"; lang={lang}" if lang else "")
        return self.c.post(url, data={"csrf": CSRF} | data, headers={"Cookie": cookie}, follow_redirects=False)


@pytest.fixture
def site(exchange: Exchange) -> Iterator[Site]:
    w = world.build(exchange)
    with TestClient(create_app(exchange), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield Site(w, c)


def _inline(r: Any, field: str, label: str) -> None:
    assert r.status_code == 422, r.status_code
    assert 'class="error-page"' not in r.text and f'data-field="{field}"' in r.text and label in r.text, r.text[:2000]


def test_profile_and_invitation_forms(site: Site) -> None:
    r = site.post("owner_admin", "/my/org/profile", {"name": "", "contact_name": "张工", "contact_phone": "abc", "description": "新的简介 KEEPTHIS"})
    _inline(r, "name", "名称")
    assert "data-profile-form" in r.text and "KEEPTHIS" in r.text  # what was typed stays in the form
    with site.w.ex.db.transaction(write=False) as s:
        assert "KEEPTHIS" not in (AR.org_row(s, site.w.orgs["owner"]).description or "")
    r = site.post("owner_admin", "/my/org/invitations", {"email": "not-an-address", "role": "member"})
    _inline(r, "email", "邮箱")
    assert 'value="not-an-address"' in r.text and "data-invite-form" in r.text
    assert site.post("owner_admin", "/my/org/invitations", {"email": "new@test.tongxin.cn", "role": "member"}).status_code == 303


def test_listing_page_forms(site: Site) -> None:
    lid = site.w.listings["public"]
    r = site.post("member", f"/listings/{lid}/report", {"reason": "nonsense", "note": "NOTEKEPT"})
    _inline(r, "reason", "原因")
    assert 'data-problem="report"' in r.text
    conf = site.w.listings["confidential"]
    r = site.post("member", f"/listings/{conf}/interest", {"message": "我们想合作 MESSAGEKEPT"})
    _inline(r, "nda_accepted", "保密承诺")
    assert 'data-problem="interest"' in r.text and "MESSAGEKEPT" in r.text
    assert site.post("member", f"/listings/{lid}/interest", {"message": "我们想合作"}).status_code == 303
    r = site.post("member", f"/listings/{lid}/interest", {"message": "再发一次"})  # already sent: a conflict, said at the form
    assert r.status_code == 409 and 'data-problem="interest"' in r.text and "已就此资源发出意向" in r.text
    r = site.post("owner_admin", f"/listings/{conf}/grants", {"org_id": "十二", "note": "NDA-9"})
    _inline(r, "org_id", "机构编号")
    assert 'value="十二"' in r.text and 'data-problem="grant"' in r.text
    r = site.post("owner_admin", f"/listings/{conf}/grants", {"org_id": "999999", "note": "NDA-9"})
    assert r.status_code in (404, 422) and 'data-problem="grant"' in r.text and 'data-field="org_id"' in r.text
    en = site.post("member", f"/listings/{lid}/report", {"reason": "nonsense"}, lang="en")
    assert en.status_code == 422 and "choose a reason" in en.text


def test_declining_a_contact_request(site: Site) -> None:
    from tongxin.services.contacts import Contacts

    cid = Contacts(site.w.ex).express_interest(site.w.viewer("member"), site.w.listings["public"], "我们想合作")
    r = site.post("owner_admin", f"/contacts/{cid}/decline", {"reason": "other", "note": ""})
    _inline(r, "note", "说明")
    assert f'data-problem="{cid}"' in r.text and '<option value="other" selected>' in r.text
    assert site.post("owner_admin", f"/contacts/{cid}/decline", {"reason": "other", "note": "暂无需求"}).status_code == 303
    r = site.post("owner_admin", f"/contacts/{cid}/accept", {})  # already answered: said at the request
    assert r.status_code == 409 and f'data-problem="{cid}"' in r.text and "已处理过" in r.text
