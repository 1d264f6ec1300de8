"""The result cache (services.result_cache): public search and match answers are reused, never
older than the index they would be computed from (publish, edit and withdraw are seen at once
through the same worker), and never cross viewer classes (a members-only or confidential listing
never reaches an anonymous visitor's entry). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from factories import load, tech
from fastapi.testclient import TestClient

from tongxin.core import access as acc
from tongxin.core.listing import validate_listing
from tongxin.services import Exchange
from tongxin.services.listings import Listings, SearchResult, Shown, parse_filters
from tongxin.services.result_cache import ResultCache
from tongxin.web.app import create_app

pytestmark = pytest.mark.postgres

Q = "海洋活性肽 毕赤酵母"


@pytest.fixture
def site(exchange: Exchange) -> Iterator[tuple[TestClient, Exchange, Listings, dict[str, int]]]:
    ids = load(exchange)
    app = create_app(exchange)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, exchange, app.state.listings, ids


def _ext_ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [x.get("external_id") for x in r.json()["results"]]


def _search(c: TestClient, q: str = Q) -> list[str]:
    return _ext_ids(c.get("/api/v1/search", params={"q": q, "limit": 10}))


def test_repeated_public_search_is_answered_from_the_cache(site) -> None:  # type: ignore[no-untyped-def]
    c, _, ls, _ = site
    first = c.get("/api/v1/search", params={"q": Q})
    hits = ls.results.hits
    again = c.get("/api/v1/search", params={"q": Q})
    assert ls.results.hits == hits + 1
    assert again.content == first.content and again.headers["content-type"] == "application/json"
    assert "T-PEPT" in _ext_ids(again)
    c.get("/api/v1/search", params={"q": Q, "limit": 3})  # another limit: another entry
    assert ls.results.hits == hits + 1


def test_a_publish_is_seen_at_once_through_the_same_worker(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, _, _ = site
    assert "T-PEPT2" not in _search(c)
    assert "T-PEPT2" not in _search(c)  # now cached
    ex.save_listing(validate_listing(tech("T-PEPT2", "海洋活性肽毕赤酵母高密度发酵", "毕赤酵母高密度发酵生产海洋活性肽。",
                                          "海洋活性肽;毕赤酵母", owner="ORG-TIB", industry="M73"), ex.registry))
    assert "T-PEPT2" in _search(c)


def test_a_withdrawn_listing_disappears_from_search_and_matches(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, _, ids = site
    matches = f"/api/v1/listings/{ids['S-WQ']}/matches"
    assert "T-PEPT" in _search(c) and "T-PEPT" in _search(c)
    assert "T-CBTC" in _ext_ids(c.get(matches)) and "T-CBTC" in _ext_ids(c.get(matches))
    ex.set_status(ids["T-PEPT"], "closed")
    ex.set_status(ids["T-CBTC"], "closed")
    assert "T-PEPT" not in _search(c)
    assert "T-CBTC" not in _ext_ids(c.get(matches))


def test_an_edit_is_seen_at_once(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, _, ids = site
    before = c.get("/api/v1/search", params={"q": Q}).json()["results"]
    assert before[0]["external_id"] == "T-PEPT" and "第二代" not in before[0]["title"]
    x, _ = ex.get(ids["T-PEPT"], acc.SYSTEM)
    x.title = "第二代AI筛选海洋活性肽及毕赤酵母细胞工厂合成"
    ex.save_listing(x)
    after = c.get("/api/v1/search", params={"q": Q}).json()["results"]
    assert after[0]["title"] == "第二代AI筛选海洋活性肽及毕赤酵母细胞工厂合成"


def test_a_listing_the_visitor_may_not_see_errs_every_time(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, ls, ids = site
    ex.set_status(ids["S-WQ"], "closed")
    for _ in range(2):
        r = c.get(f"/api/v1/listings/{ids['S-WQ']}/matches")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert len(ls.results) == 0  # errors are never cached


def _members_and_confidential(ex: Exchange) -> dict[str, int]:
    text = "采用毕赤酵母细胞工厂绿色制造海洋活性肽（抗氧化肽），替代传统提取工艺的生物制造技术。"
    words = "海洋活性肽;毕赤酵母;活性肽;生物制造"
    hidden = [tech("T-MEMB", "海洋活性肽会员专享工艺：细胞工厂绿色生物制造", text, words, owner="ORG-TIB", industry="C27",
                   trl=6, visibility="members"),
              tech("T-CONF", "海洋活性肽保密工艺：细胞工厂绿色生物制造", text, words, owner="ORG-TIB", industry="C27",
                   trl=6, visibility="confidential", summary="一项海洋活性肽工艺")]
    for rec in hidden:
        ex.save_listing(validate_listing(rec, ex.registry))
    return ex.ids_by_external(["T-MEMB", "T-CONF"])


def _names(res: SearchResult) -> list[str]:
    return [str(s.listing.external_id) for s in res.items]


def test_hidden_listings_never_reach_an_anonymous_entry(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, ls, _ = site
    _members_and_confidential(ex)
    f = parse_filters({}, ex)
    member = acc.Viewer(org_id=1, org_verified=True, role="member", user_id=7)
    assert acc.cache_class(member) is None and acc.cache_class(acc.SYSTEM) is None
    # staff and members first: they see more, and nothing of theirs is cached
    staff_sees = _names(ls.search(acc.SYSTEM, Q, f, limit=10))
    member_sees = _names(ls.search(member, Q, f, limit=10))
    assert {"T-MEMB", "T-CONF"} <= set(staff_sees) and "T-MEMB" in member_sees
    assert ls.answer_key(member, ("http", "/api/v1/search", b"")) is None and ls.answer_key(acc.SYSTEM, ("x",)) is None
    assert len(ls.results) == 0
    for _ in range(2):  # computed, then cached
        got = _search(c)
        assert "T-PEPT" in got and "T-MEMB" not in got and "T-CONF" not in got
    assert len(ls.results) == 1
    assert _names(ls.search(member, Q, f, limit=10)) == member_sees  # the member still sees theirs
    body = c.get("/api/v1/search", params={"q": Q}).text
    assert "会员专享" not in body and "保密工艺" not in body


def test_the_cache_is_per_viewer_class_for_matches(site) -> None:  # type: ignore[no-untyped-def]
    c, ex, ls, ids = site
    _members_and_confidential(ex)

    def names(ms: list[Shown]) -> list[str]:
        return [str(s.listing.external_id) for s in ms]

    staff = names(ls.matches(acc.SYSTEM, ids["S-PEPT"]))
    assert "T-CONF" in staff and "T-MEMB" in staff
    public = _ext_ids(c.get(f"/api/v1/listings/{ids['S-PEPT']}/matches"))
    assert public and "T-CONF" not in public and "T-MEMB" not in public
    assert len(ls.results) == 1  # the visitor's answer only


def test_the_day_is_part_of_the_key(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tongxin.core.matching.fit as fit

    c, _, ls, _ = site
    with monkeypatch.context() as m:
        m.setattr(fit, "local_today", lambda: dt.date(2019, 6, 1))
        then = _search(c, "列车信号技术")
    now = _search(c, "列车信号技术")
    assert "T-OLD" in then and "T-OLD" not in now  # expired since: the entry of 2019 is not reused
    assert len(ls.results) == 2


def test_off_when_sized_zero(exchange: Exchange) -> None:
    load(exchange)
    app = create_app(exchange)
    app.state.listings.results = ResultCache(size=0)
    calls: list[int] = []
    real = app.state.listings.search
    app.state.listings.search = lambda *a, **k: calls.append(1) or real(*a, **k)
    with TestClient(app) as c:
        assert _search(c) == _search(c)
    assert len(calls) == 2 and len(app.state.listings.results) == 0


def test_signed_in_or_token_requests_never_touch_the_cache(site) -> None:  # type: ignore[no-untyped-def]
    c, _, ls, _ = site
    _search(c)
    _search(c)
    hits, size = ls.results.hits, len(ls.results)
    assert hits >= 1
    bad = c.get("/api/v1/search", params={"q": Q}, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401  # decided by the app, not answered from the visitor's entry
    c.cookies.set("tx_session", "expired-or-forged")
    assert "T-PEPT" in _search(c)  # the app answers (as a visitor: the session is not valid) ...
    assert ls.results.hits == hits and len(ls.results) == size  # ... and nothing was read or stored


def test_a_cached_answer_gets_its_own_csrf_cookie_and_the_security_headers(site) -> None:  # type: ignore[no-untyped-def]
    c, _, ls, _ = site
    first = c.get("/api/v1/search", params={"q": Q})
    c.cookies.clear()
    again = c.get("/api/v1/search", params={"q": Q})
    assert ls.results.hits >= 1 and again.content == first.content
    one, two = first.cookies.get("tx_csrf"), again.cookies.get("tx_csrf")
    assert one and two and one != two  # never the cookie of the request that computed the answer
    for h in ("content-security-policy", "x-frame-options", "x-request-id", "content-length"):
        assert h in again.headers, h
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    c.cookies.set("tx_csrf", "mine")
    third = c.get("/api/v1/search", params={"q": Q})
    assert "set-cookie" not in third.headers and third.content == first.content


def test_cached_answers_are_counted_under_their_route(site) -> None:  # type: ignore[no-untyped-def]
    from tongxin.web.observability import REQUESTS

    c, _, ls, ids = site
    path = f"/api/v1/listings/{ids['S-WQ']}/matches"

    def count() -> float:
        return sum(s.value for m in REQUESTS.collect() for s in m.samples
                   if s.name.endswith("_count") and s.labels.get("route") == "/api/v1/listings/{listing_id}/matches")

    before = count()
    hits = ls.results.hits
    c.get(path)
    c.get(path)
    assert ls.results.hits == hits + 1
    assert count() == before + 2


def test_cache_class() -> None:
    assert acc.cache_class(acc.VISITOR) == "public"
    assert acc.cache_class(acc.Viewer(user_id=3)) is None  # signed in, no organisation
    assert acc.cache_class(acc.Viewer(org_id=2, org_verified=False, role="member", user_id=3)) is None
    assert acc.cache_class(acc.Viewer(role="operator")) is None
    assert acc.cache_class(acc.Viewer(granted=frozenset({5}))) is None


def test_bounded_lru_and_max_age() -> None:
    now = [0.0]
    rc = ResultCache(size=2, max_age=10.0, clock=lambda: now[0])
    rc.put("a", 1)
    rc.put("b", 2)
    assert rc.get("a") == 1  # a is now the most recent
    rc.put("c", 3)
    assert rc.get("b") is None and rc.get("a") == 1 and rc.get("c") == 3 and len(rc) == 2
    now[0] = 10.5
    assert rc.get("a") is None and len(rc) == 1  # too old: dropped
    assert rc.get_or_compute(None, lambda: 9) == 9 and len(rc) == 1  # no key: never cached


def _asgi_get(app: Any, path: str, query: bytes) -> Any:
    """One GET through the ASGI app (no HTTP client): (status, body)."""

    async def call() -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
                 "headers": [(b"host", b"t")], "client": ("127.0.0.1", 1), "server": ("t", 80)}
        out: dict[str, Any] = {"body": b""}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(m: dict[str, Any]) -> None:
            if m["type"] == "http.response.start":
                out["status"] = m["status"]
            elif m["type"] == "http.response.body":
                out["body"] += m.get("body", b"")

        await app(scope, receive, send)
        return out["status"], out["body"]

    return call()


def test_concurrent_requests_for_one_answer_compute_it_once(exchange: Exchange) -> None:
    import asyncio
    import threading
    import urllib.parse

    load(exchange)
    app = create_app(exchange)
    ls = app.state.listings
    calls: list[int] = []
    gate = threading.Event()
    real = ls.search

    def slow_search(*a: Any, **k: Any) -> SearchResult:
        calls.append(1)
        gate.wait(5)  # held until every request has arrived
        return real(*a, **k)

    ls.search = slow_search
    query = urllib.parse.urlencode({"q": Q}).encode()

    async def run() -> list[tuple[int, bytes]]:
        pending = [asyncio.create_task(_asgi_get(app, "/api/v1/search", query)) for _ in range(6)]
        await asyncio.sleep(0.5)
        gate.set()
        return await asyncio.gather(*pending)

    got = asyncio.run(run())
    assert [status for status, _ in got] == [200] * 6 and len({body for _, body in got}) == 1
    assert b"T-PEPT" in got[0][1]
    assert len(calls) == 1 and ls.results.hits == 5


def test_a_session_cookie_behind_a_malformed_one_still_bypasses_the_cache(site) -> None:  # type: ignore[no-untyped-def]
    """The front layer reads cookies as the auth middleware does: a session cookie it cannot see
    would let a signed-in member be served the visitor's answer."""
    c, _, ls, _ = site
    _search(c)
    _search(c)
    hits = ls.results.hits
    c.cookies.clear()  # only the header below
    r = c.get("/api/v1/search", params={"q": Q, "limit": 10}, headers={"Cookie": "odd=a b; tx_session=forged-or-expired"})
    assert r.status_code == 200
    assert ls.results.hits == hits
