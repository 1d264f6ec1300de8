"""/openapi.json tells the truth (issue #11): every operation documents its typed error answers,
the most used routes document their response shape, and the typed routes answer exactly what the
serializer returned before (a key a viewer may not see stays absent, not null). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import world
from factories import LISTINGS, ORGS, load, tech
from fastapi.testclient import TestClient

from tongxin.core.access import VISITOR
from tongxin.core.listing import ListingFilter
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.listings import Listings, listing_dict
from tongxin.services.mail import LogMailer
from tongxin.storage import accounts_repo as R
from tongxin.web.app import create_app

TYPED = ["/api/v1/listings", "/api/v1/search", "/api/v1/export", "/api/v1/listings/{listing_id}", "/api/v1/listings/{listing_id}/matches",
         "/api/v1/organisations/{org_id}", "/api/v1/instruments", "/api/v1/instruments/{instrument_id}"]


@pytest.fixture
def setup(exchange: Exchange) -> Iterator[tuple[TestClient, Any, dict[str, str], Exchange]]:
    load(exchange, ORGS, [*LISTINGS, tech("T-SECRET", "保密的列车控制技术", "保密正文：列车控制核心算法。", "列车控制系统", visibility="confidential")])
    exchange.rebuild_index()
    app = create_app(exchange, LogMailer())
    app.state.accounts = accounts = Accounts(exchange, LogMailer(), hasher=world.fast_hasher())
    uid = accounts.sign_up("root@example.cn", "good-pass-1", "管理员", role="admin")
    _, token = accounts.create_token(accounts.viewer(uid), "docs")
    mid = accounts.sign_up("member@example.cn", "good-pass-1", "成员")
    with exchange.db.transaction() as s:  # a member of a verified organisation other than the owner: sees T-SECRET's summary
        org = s.connection().exec_driver_sql("SELECT id FROM organisations WHERE external_id = 'ORG-HOSP'").scalar()
        R.add_membership(s, mid, int(org), "member")
        R.org_row(s, int(org)).verified = True
    _, member_token = accounts.create_token(accounts.viewer(mid), "docs")
    with TestClient(app, base_url="https://testserver") as c:
        c.member = (accounts.viewer(mid), {"Authorization": f"Bearer {member_token}"})  # type: ignore[attr-defined]
        yield c, accounts.viewer(uid), {"Authorization": f"Bearer {token}"}, exchange


def plain(x: object) -> object:
    return json.loads(json.dumps(x, ensure_ascii=False))


def test_every_operation_documents_its_error_answers(setup: tuple[TestClient, Any, dict[str, str], Exchange]) -> None:
    c = setup[0]
    spec = c.get("/openapi.json").json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) > 100
    for path, method, op in ops:
        for code in ("401", "403", "404", "422", "429"):
            content = op["responses"][code]["content"]
            if path.startswith("/api/"):
                assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, code)
            else:
                assert "text/html" in content, (method, path, code)
                assert "content" not in op["responses"]["303"] and "Location" in op["responses"]["303"]["headers"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    assert spec["paths"]["/contracts/template.xlsx"]["get"]["responses"]["200"]["content"].keys() == {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_the_most_used_routes_document_their_shape(setup: tuple[TestClient, Any, dict[str, str], Exchange]) -> None:
    spec = setup[0].get("/openapi.json").json()
    for path in TYPED:
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema.get("$ref", "").startswith("#/components/schemas/"), path
    listing = spec["components"]["schemas"]["ListingOut"]
    assert {"id", "kind", "title", "visibility", "access"} <= set(listing["required"])


def test_an_error_answer_matches_the_documented_envelope(setup: tuple[TestClient, Any, dict[str, str], Exchange]) -> None:
    from tongxin.web.openapi_docs import ErrorEnvelope

    c = setup[0]
    for url in ("/api/v1/listings/999999", "/api/v1/listings?per_page=x", "/api/v1/me"):
        r = c.get(url)
        assert r.status_code in (401, 404, 422), url
        ErrorEnvelope.model_validate(r.json())


def test_typed_routes_answer_what_the_serializer_returns(setup: tuple[TestClient, Any, dict[str, str], Exchange]) -> None:
    c, admin, auth, ex = setup
    service = Listings(ex)
    secret = ex.db.engine.connect().exec_driver_sql("SELECT id FROM listings WHERE external_id = 'T-SECRET'").scalar()
    member, member_auth = c.member  # type: ignore[attr-defined]
    for headers, who in ((auth, admin), (member_auth, member), ({}, VISITOR)):
        items, nxt = service.page(who, ListingFilter(status="published"), 0, 100)
        got = c.get("/api/v1/listings?per_page=100", headers=headers).json()
        assert got == plain({"items": [listing_dict(s, ex) for s in items], "next_cursor": nxt})
        if who is not VISITOR:
            one = c.get(f"/api/v1/listings/{secret}", headers=headers).json()
            assert one == plain(listing_dict(service.show(who, secret), ex))
    assert c.get(f"/api/v1/listings/{secret}").status_code == 404
    summary = c.get(f"/api/v1/listings/{secret}", headers=member_auth).json()
    assert summary["access"] == "summary" and "description" not in summary and "attrs" not in summary
    full = c.get(f"/api/v1/listings/{secret}", headers=auth).json()
    assert "核心算法" in full["description"] and full["attrs"]


def test_search_matches_and_organisation_keep_their_keys(setup: tuple[TestClient, Any, dict[str, str], Exchange]) -> None:
    c, _, auth, ex = setup
    found = c.get("/api/v1/search?q=列车控制系统").json()
    assert found["total"] >= 1 and found["results"] and all("description" in r or r["access"] != "full" for r in found["results"])
    assert {"query", "terms", "total", "facets", "results"} <= found.keys()
    lid = found["results"][0]["id"]
    matches = c.get(f"/api/v1/listings/{lid}/matches").json()
    assert matches["listing_id"] == lid and all("score" in m and "explanation" in m for m in matches["results"])
    with ex.db.transaction() as s:
        oid = int(s.connection().exec_driver_sql("SELECT id FROM organisations WHERE external_id = 'ORG-BJTU'").scalar())
        R.org_row(s, oid).verified = True
    anon = c.get(f"/api/v1/organisations/{oid}").json()
    staff = c.get(f"/api/v1/organisations/{oid}", headers=auth).json()
    assert "contact_name" not in anon and "contact_name" in staff and anon["name"] == staff["name"]
