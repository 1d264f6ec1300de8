"""Typed 4xx, never 500 (issue #11): every route with a path id of 2**63, extreme dates on the
instrument routes, malformed bodies on the deal stage route, a huge year. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import world
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.mail import LogMailer
from tongxin.web import routers
from tongxin.web.app import create_app

HUGE = 2**63


def every_route() -> list[tuple[str, str]]:
    out = []
    for router in routers.all_routers():
        for r in router.routes:
            for m in sorted(getattr(r, "methods", None) or ()):
                out.append((m, r.path))
    return out


def fill(path: str, value: object) -> str:
    return re.sub(r"\{([a-z_]+)(:[a-z]+)?\}", lambda m: str(value) if m.group(1).endswith("id") else "x", path)


@pytest.fixture
def client(exchange: Exchange) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(exchange, LogMailer())
    app.state.accounts = accounts = Accounts(exchange, LogMailer(), hasher=world.fast_hasher())
    uid = accounts.sign_up("root@example.cn", "good-pass-1", "管理员", role="admin")
    _, token = accounts.create_token(accounts.viewer(uid), "walk")
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c, {"Authorization": f"Bearer {token}"}


def test_every_route_answers_a_huge_id_with_4xx(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    routes = [(m, p) for m, p in every_route() if "{" in p]
    assert len(routes) > 50
    failures = []
    for method, path in routes:
        for headers in (auth, {}):
            url = fill(path, HUGE)
            r = c.request(method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)
            if r.status_code >= 500:
                failures.append((method, url, r.status_code))
    assert not failures, failures
    r = c.get(f"/api/v1/listings/{HUGE}", headers=auth)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "listing_id"


def test_query_ids_and_numbers_out_of_range(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    for url in (f"/api/v1/listings?cursor={HUGE}", f"/api/v1/listings?per_page={HUGE}", f"/api/v1/search?q=x&limit={HUGE}",
                "/contracts?year=99999999999999999999", f"/contracts?page={HUGE}", f"/api/v1/listings/1/matches?limit={HUGE}"):
        r = c.get(url, headers=auth)
        assert r.status_code < 500, (url, r.status_code)


def test_extreme_dates_on_instrument_routes(client: tuple[TestClient, dict[str, str]], exchange: Exchange) -> None:
    c, auth = client
    from factories import load

    load(exchange)
    iid = exchange.db.engine.connect().exec_driver_sql("SELECT id FROM listings WHERE kind = 'instrument' ORDER BY id LIMIT 1").scalar()
    urls = [p for m, p in every_route() if m == "GET" and ("instrument" in p)]
    assert urls
    failures = []
    for path in urls:
        for date in ("0001-01-01", "9999-12-31"):
            for q in (f"date={date}", f"date={date}&view=month", f"start={date}&end={date}", f"since={date}&until={date}",
                      f"period={date[:4]}"):
                r = c.get(fill(path, iid) + "?" + q, headers=auth)
                if r.status_code >= 500:
                    failures.append((path, q, r.status_code))
    for date in ("0001-01-01", "9999-12-31"):
        body = {"start": f"{date}T09:00:00", "end": f"{date}T10:00:00", "purpose": "x"}
        r = c.post(f"/api/v1/instruments/{iid}/bookings", json=body, headers=auth)
        if r.status_code >= 500:
            failures.append(("bookings", date, r.status_code))
    assert not failures, failures


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe\xfa", b"", b'"stage"', b"null", b'{"stage": ["a"]}'])
def test_deal_stage_with_malformed_bodies(client: tuple[TestClient, dict[str, str]], body: bytes) -> None:
    c, auth = client
    r = c.post("/api/v1/deals/1/stage", content=body, headers=auth | {"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and "error" in r.json()


def test_undecodable_bodies_get_a_typed_400_saying_what_to_send(client: tuple[TestClient, dict[str, str]]) -> None:
    """Invalid UTF-8 and JSON nested past Python's recursion limit (benchmarks/security_probe_inputs.py)."""
    c, auth = client
    json_auth = auth | {"Content-Type": "application/json"}
    for body in (b'{"kind": "technology", "title": "\xff\xfe\x80"}', b"[" * 100_000 + b"]" * 100_000):
        r = c.post("/api/v1/listings", content=body, headers=json_auth)
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == "bad_request" and "UTF-8" in err["message_zh"] and "UTF-8 encoded JSON" in err["message_en"]
    r = c.post("/api/v1/listings", content=b'{"kind": "technology", "title": ', headers=json_auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
