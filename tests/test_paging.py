"""Lists that grow are paged (50 a page, the total said, previous/next): the mark licence registry
(/operator/marks, GET /api/v1/marks/licences) and a mark's public licensee list (/certifications/{code}), notifications (/my/notifications, GET /api/v1/notifications),
contact requests (/my/contacts, GET /api/v1/contacts), recommendations sent
(/operator/recommendations; /my/recommendations and GET /api/v1/recommendations page the same way),
deals (/my/deals), organisations waiting for verification (/operator) and the facts to verify
(/operator/facts). Each item appears on exactly one page. Both databases."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import world
from fastapi.testclient import TestClient

from tongxin.core.certification import Mark
from tongxin.services import Exchange
from tongxin.storage import accounts_repo as AR
from tongxin.storage import resources_repo as rr
from tongxin.storage.models_accounts import ContactRequestRow
from tongxin.storage.models_deals import DealRow
from tongxin.storage.models_recommendations import RecommendationItemRow, RecommendationRow
from tongxin.web.app import create_app

N = 123  # more than two pages of 50


@pytest.fixture
def site(exchange: Exchange) -> Iterator[tuple[world.World, TestClient, dict[str, str]]]:
    w = world.build(exchange)
    owner, other = w.orgs["owner"], w.orgs["member"]
    now = dt.datetime.now(dt.UTC)
    with exchange.db.transaction() as s:
        mark_id = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="天津市小站稻产业协会", mark_type="gi_certification"))
        for i in range(N):
            rr.add_licence(s, mark_id, owner, f"XZD-2026-{i:03d}", dt.date(2026, 1, 1), dt.date(2027, 1, 1) + dt.timedelta(days=i), "小站稻大米")
            AR.notify(s, owner, f"通知第 NOTE{i:03d}X 条", f"notice NOTE{i:03d}X")
            s.add(DealRow(title=f"洽谈 DEAL{i:03d}X", seller_org_id=owner, buyer_org_id=other, listing_ids=[], stage="contact" if i % 2 else "proposal",
                          last_activity_at=now - dt.timedelta(minutes=i)))
            o = AR.org_row(s, owner)
            code = world.org_raw(f"待审核机构{i:03d}", f"9111010{i:03d}PG")["credit_code"]
            pend = type(o)(name=f"待审核机构 PEND{i:03d}X", credit_code=code, org_type="enterprise", region="110108", verified=False)
            s.add(pend)
            s.add(ContactRequestRow(listing_id=w.listings["public"], from_org_id=other, to_org_id=owner, message=f"合作 MSG{i:03d}X"))
            rec = RecommendationRow(author_name="运营", note=f"推荐 REC{i:03d}X", listing_ids=[w.listings["public"]], created_at=now)
            s.add(rec)
            s.flush()
            # an organisation hears of a listing once: each recommendation goes to another one
            s.add(RecommendationItemRow(recommendation_id=rec.id, org_id=pend.id, listing_id=w.listings["public"], created_at=now))
        s.flush()
    sessions = {r: w.accounts.create_session(w.users[r]) for r in ("owner_admin", "operator", "member")}
    with TestClient(create_app(exchange), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield w, c, sessions


def _walk(c: TestClient, url: str, cookie: str, word: str) -> tuple[list[str], list[str]]:
    """Follow rel=next from the first page; every `word` found on each page, in order, and the pages visited."""
    seen: list[str] = []
    pages: list[str] = []
    nxt: str | None = url
    while nxt is not None:
        r = c.get(nxt, headers={"Cookie": f"tx_session={cookie}"})
        assert r.status_code == 200, (nxt, r.status_code)
        pages.append(nxt)
        seen += re.findall(word if "(" in word else rf"{word}(\d+)X", r.text)
        m = re.search(r'<a href="([^"]+)" rel="next"', r.text)
        nxt = m.group(1).replace("&amp;", "&") if m else None
        assert len(pages) <= 10
    return seen, pages


@pytest.mark.parametrize(("url", "role", "word", "expected"), [
    ("/my/notifications", "owner_admin", "NOTE", N),
    ("/my/deals", "owner_admin", "DEAL", N),
    ("/operator", "operator", "PEND", N),
    ("/my/contacts", "owner_admin", "MSG", N),
    ("/operator/recommendations", "operator", r'data-rec="(\d+)"', N),
])
def test_pages_show_every_item_once(site: Any, url: str, role: str, word: str, expected: int) -> None:
    _, c, sessions = site
    seen, pages = _walk(c, url, sessions[role], word)
    assert len(pages) == 3 and len(seen) == expected and len(set(seen)) == expected, (len(pages), len(seen), len(set(seen)))


def test_the_licence_registry_is_paged_on_the_page_and_the_api(site: Any) -> None:
    w, c, sessions = site
    r = c.get("/operator/marks", headers={"Cookie": f"tx_session={sessions['operator']}"})
    assert r.text.count("data-licence=") == 50 and f'data-total="{N}"' in r.text and 'rel="next"' in r.text
    seen = []
    for page in (1, 2, 3):
        r = c.get("/operator/marks", params={"page": page, "status": "active"}, headers={"Cookie": f"tx_session={sessions['operator']}"})
        seen += re.findall(r'data-licence="(XZD-2026-\d+)"', r.text)
        assert page == 3 or f'href="/operator/marks?status=active&amp;page={page + 1}" rel="next"' in r.text  # the filter stays
    assert len(seen) == N and len(set(seen)) == N
    public = []  # the public list of the mark's licensees, for anyone
    nxt: str | None = "/certifications/XZD-GI?date=2026-06-01"
    while nxt:
        r = c.get(nxt)
        public += re.findall(r"<td>(XZD-2026-\d+)</td>", r.text)
        m = re.search(r'<a href="([^"]+)" rel="next"', r.text)
        nxt = m.group(1).replace("&amp;", "&") if m else None
    assert len(public) == N and len(set(public)) == N
    token = w.accounts.create_token(w.viewer("operator"), "paging")[1]
    got = [c.get("/api/v1/marks/licences", params={"page": p}, headers={"Authorization": f"Bearer {token}"}).json() for p in (1, 2, 3)]
    assert [len(g["items"]) for g in got] == [50, 50, N - 100] and {g["total"] for g in got} == {N}
    assert len({x["licence_no"] for g in got for x in g["items"]}) == N


def test_deal_stage_counts_and_notifications_api_count_everything(site: Any) -> None:
    w, c, sessions = site
    r = c.get("/my/deals", params={"stage": "proposal"}, headers={"Cookie": f"tx_session={sessions['owner_admin']}"})
    assert len(re.findall(r"DEAL(\d+)X", r.text)) == 50 and "rel=\"next\"" in r.text and "stage=proposal" in r.text
    token = w.accounts.create_token(w.viewer("owner_admin"), "paging")[1]
    got = c.get("/api/v1/notifications", params={"page": 3}, headers={"Authorization": f"Bearer {token}"}).json()
    # the world's own notices come on top of the N made here
    assert got["total"] >= N and got["page"] == 3 and len(got["items"]) == got["total"] - 100


def test_the_facts_queue_is_paged(site: Any) -> None:
    w, c, sessions = site
    now = dt.datetime.now(dt.UTC)
    with w.ex.db.transaction() as s:
        ids = [o.id for o in AR.orgs(s, verified=False, limit=N)]
        for i, oid in enumerate(ids):
            rr.update_facts(s, oid, {"employees": 10 + i}, now + dt.timedelta(seconds=i))
    r = c.get("/operator/facts", headers={"Cookie": f"tx_session={sessions['operator']}"})
    assert r.text.count("data-org=") == 50 and f'data-total="{N}"' in r.text
    seen, pages = _walk(c, "/operator/facts", sessions["operator"], r'data-org="(\d+)"')
    assert len(pages) == 3 and len(seen) == N and len(set(seen)) == N


def test_the_policy_overview_is_paged_and_evaluates_only_its_page(exchange: Exchange) -> None:
    from factories import ORGS, load
    from test_kinds_resources import row

    from tongxin.services import policy_qualifiers as Q

    w = world.build(exchange)
    load(exchange, ORGS, [row(f"PL-P{i:02d}", "policy", f"研发奖励政策 POL{i:02d}X", "按研发投入给予奖励。", "研发;奖励", "ORG-HOSP", "130000", "S92",
                              issuing_body="河北省科技厅", benefit_type="subsidy", benefit="奖励 10 万元", eligibility="employees <= 500",
                              valid_until="2099-12-31") for i in range(55)])
    items, total = Q.policies_overview_page(exchange, w.viewer("operator"), None, 2, 50)
    assert total == 55 and len(items) == 5
    with TestClient(create_app(exchange), base_url="https://testserver") as c:
        cookie = {"Cookie": f"tx_session={w.accounts.create_session(w.users['operator'])}"}
        seen, pages = _walk(c, "/operator/policies", cookie["Cookie"].split("=", 1)[1], "POL")
    assert len(pages) == 2 and sorted(seen) == [f"{i:02d}" for i in range(55)]
