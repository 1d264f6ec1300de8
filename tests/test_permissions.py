"""The permission matrix: every endpoint × role × visibility, declared once below.

For each read endpoint, a listing's secret text appears only for roles with full access, its
title only for roles that may see it at all, and a hidden listing answers exactly like a missing
one. For each write endpoint only the allowed roles succeed and nothing changes otherwise.
The expectations are written out here independently of core/access.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import world
from fastapi.testclient import TestClient
from world import ROLES, VISIBILITIES

from tongxin.core import access as acc
from tongxin.services import Exchange
from tongxin.storage.db import Database
from tongxin.web.app import create_app

STAFF = {"operator", "admin"}
OWNER = {"owner_member", "owner_admin"}
VERIFIED_MEMBERS = {"member", "granted"} | OWNER | STAFF

# Who reads a listing in full / sees only its summary, per visibility (the product rules).
FULL: dict[str, set[str]] = {
    "public": set(ROLES),
    "members": VERIFIED_MEMBERS,
    "confidential": {"granted"} | OWNER | STAFF,
    "draft": OWNER | STAFF,
}
SUMMARY: dict[str, set[str]] = {"public": set(), "members": set(), "confidential": {"member"}, "draft": set()}


def sees(role: str, vis: str) -> bool:
    return role in FULL[vis] | SUMMARY[vis]


@dataclass
class Env:
    w: world.World
    c: TestClient
    tokens: dict[str, str]
    sessions: dict[str, str]
    app: Any = None

    def api(self, role: str) -> dict[str, str]:
        return {} if role == "visitor" else {"Authorization": f"Bearer {self.tokens[role]}"}

    def page(self, role: str) -> dict[str, str]:
        cookie = "tx_csrf=CSRFTOKEN"
        if role != "visitor":
            cookie += f"; tx_session={self.sessions[role]}"
        return {"Cookie": cookie}

    def lid(self, vis: str) -> int:
        return self.w.listings[vis]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    d = tmp_path_factory.mktemp("perm")
    ex = Exchange(Database(f"sqlite:///{d}/p.db"), str(d / "idx"))
    ex.init_db()
    w = world.build(ex)
    app = create_app(ex)
    tokens = {r: w.accounts.create_token(w.viewer(r), "t")[1] for r in w.users}
    sessions = {r: w.accounts.create_session(uid) for r, uid in w.users.items()}
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        c.cookies.clear()
        yield Env(w, c, tokens, sessions, app)
    ex.close()


# -- read endpoints ------------------------------------------------------------------------------------
# name → (request(env, role, vis) -> response, mode)
#   "detail": 200 with the secret iff full access; 200 without the secret iff summary; else 404 like a missing id
#   "list":   the secret only with full access; the title only if the role may see the listing
#   "matched": listed (and explained) only with full access (matching reads the full text)

def _q() -> str:
    return "城轨 列车控制系统 安全计算机"


READS: dict[str, tuple[Callable[[Env, str, str], Any], str]] = {
    "page /listings/{id}": (lambda e, r, v: e.c.get(f"/listings/{e.lid(v)}", headers=e.page(r)), "detail"),
    "api GET /listings/{id}": (lambda e, r, v: e.c.get(f"/api/v1/listings/{e.lid(v)}", headers=e.api(r)), "detail"),
    "api GET /listings/{id}/matches": (lambda e, r, v: e.c.get(f"/api/v1/listings/{e.lid(v)}/matches", headers=e.api(r)), "detail_full"),
    "page /search?q": (lambda e, r, v: e.c.get("/search", params={"q": _q(), "mode": "need"}, headers=e.page(r)), "matched"),
    "api GET /search?q": (lambda e, r, v: e.c.get("/api/v1/search", params={"q": _q(), "kind": "technology", "limit": 50}, headers=e.api(r)), "matched"),
    "page /search (browse)": (lambda e, r, v: e.c.get("/search", params={"mode": "need"}, headers=e.page(r)), "list"),
    "api GET /listings": (lambda e, r, v: e.c.get("/api/v1/listings", params={"kind": "technology", "per_page": 100}, headers=e.api(r)), "list"),
    "api GET /export": (lambda e, r, v: e.c.get("/api/v1/export", headers=e.api(r)), "list"),
    "page / (home)": (lambda e, r, v: e.c.get("/", headers=e.page(r)), "list"),
    "page /orgs/{owner}": (lambda e, r, v: e.c.get(f"/orgs/{e.w.orgs['owner']}", headers=e.page(r)), "list"),
    "page /listings/{scenario} (counterparts)": (lambda e, r, v: e.c.get(f"/listings/{e.w.fixture_ids['S-WQ']}", headers=e.page(r)), "matched"),
    "api GET /listings/{scenario}/matches": (lambda e, r, v: e.c.get(f"/api/v1/listings/{e.w.fixture_ids['S-WQ']}/matches", params={"limit": 50}, headers=e.api(r)), "matched"),
    "page /my/contacts": (lambda e, r, v: e.c.get("/my/contacts", headers=e.page(r)), "list"),
    "api GET /contacts": (lambda e, r, v: e.c.get("/api/v1/contacts", headers=e.api(r)), "list"),
    "api GET /notifications": (lambda e, r, v: e.c.get("/api/v1/notifications", headers=e.api(r)), "list"),
}

READ_CASES = [(name, role, vis) for name in READS for role in ROLES for vis in VISIBILITIES]


@pytest.mark.parametrize("name,role,vis", READ_CASES, ids=[f"{n}|{r}|{v}" for n, r, v in READ_CASES])
def test_read_matrix(env: Env, name: str, role: str, vis: str) -> None:
    call, mode = READS[name]
    r = call(env, role, vis)
    body = r.text
    full, visible = role in FULL[vis], sees(role, vis)
    assert "Traceback" not in body and r.status_code < 500, body[:300]
    if role not in FULL[vis]:
        assert world.secret(vis) not in body, f"{name}: {role} read the full text of a {vis} listing"
    if not visible:
        assert world.title(vis) not in body, f"{name}: {role} saw a {vis} listing"
    if mode in ("detail", "detail_full"):
        allowed = full if mode == "detail_full" else visible
        if allowed:
            assert r.status_code == 200, body[:300]
            if mode == "detail":
                assert world.title(vis) in body
                assert (world.secret(vis) in body) == full
                if not full:
                    assert world.summary(vis) in body
        else:
            assert r.status_code == 404
            missing = call_missing(env, name, role)
            assert _same_error(r, missing, env.lid(vis)), "a hidden listing must answer like a missing one"
    elif mode == "matched" and r.status_code == 200 and world.title(vis) in body:
        assert full, f"{name}: {role} was matched with a {vis} listing it cannot read"


def call_missing(env: Env, name: str, role: str) -> Any:
    missing = 987654
    if name.startswith("page"):
        return env.c.get(f"/listings/{missing}", headers=env.page(role))
    suffix = "/matches" if name.endswith("matches") else ""
    return env.c.get(f"/api/v1/listings/{missing}{suffix}", headers=env.api(role))


def _same_error(r: Any, missing: Any, lid: int) -> bool:
    return r.status_code == missing.status_code and r.text.replace(str(lid), "ID") == missing.text.replace("987654", "ID")


# -- write endpoints -----------------------------------------------------------------------------------

def _edit_body(vis: str) -> dict[str, Any]:
    return world.tech_raw(vis) | {"publish": vis != "draft"}


WRITES: dict[str, tuple[Callable[[Env, str, str], Any], Callable[[str, str], bool]]] = {
    "api PUT /listings/{id}": (lambda e, r, v: e.c.put(f"/api/v1/listings/{e.lid(v)}", json=_edit_body(v), headers=e.api(r)),
                               lambda r, v: r in OWNER),
    "api POST /listings/{id}/close": (lambda e, r, v: e.c.post(f"/api/v1/listings/{e.lid(v)}/close", headers=e.api(r)),
                                      lambda r, v: r in OWNER),
    "page POST /listings/{id}/edit": (lambda e, r, v: e.c.post(f"/listings/{e.lid(v)}/edit", data={**_form(v), "csrf": "CSRFTOKEN"}, headers=e.page(r), follow_redirects=False),
                                      lambda r, v: r in OWNER),
    "page POST /listings/{id}/close": (lambda e, r, v: e.c.post(f"/listings/{e.lid(v)}/close", data={"csrf": "CSRFTOKEN"}, headers=e.page(r), follow_redirects=False),
                                       lambda r, v: r in OWNER),
    "api GET /listings/{id}/grants": (lambda e, r, v: e.c.get(f"/api/v1/listings/{e.lid(v)}/grants", headers=e.api(r)),
                                      lambda r, v: r in OWNER | STAFF),
    "api POST /listings/{id}/grants": (lambda e, r, v: e.c.post(f"/api/v1/listings/{e.lid(v)}/grants", json={"org_id": e.w.orgs["granted"]}, headers=e.api(r)),
                                       lambda r, v: r in OWNER),
    "api DELETE /listings/{id}/grants/{org}": (lambda e, r, v: e.c.delete(f"/api/v1/listings/{e.lid(v)}/grants/{e.w.orgs['member']}", headers=e.api(r)),
                                               lambda r, v: r in OWNER),
    "api POST /listings/{id}/interest": (lambda e, r, v: e.c.post(f"/api/v1/listings/{e.lid(v)}/interest", json={"message": "希望合作", "nda_accepted": True}, headers=e.api(r)),
                                         lambda r, v: r in {"member", "granted"} and v != "draft"),
    "api POST /operator/listings/{id}/hide": (lambda e, r, v: e.c.post(f"/api/v1/operator/listings/{e.lid(v)}/hide", json={"note": "测试"}, headers=e.api(r)),
                                              lambda r, v: r in STAFF),
    "page POST /operator/listings/{id}/hide": (lambda e, r, v: e.c.post(f"/operator/listings/{e.lid(v)}/hide", data={"csrf": "CSRFTOKEN"}, headers=e.page(r), follow_redirects=False),
                                               lambda r, v: r in STAFF),
}


def _form(vis: str) -> dict[str, Any]:
    d = world.tech_raw(vis)
    return d | {"transfer_modes": "license", "action": "publish" if vis != "draft" else "save"}


WRITE_CASES = [(name, role, vis) for name in WRITES for role in ROLES for vis in VISIBILITIES]


def _state(env: Env, vis: str) -> tuple[Any, ...]:
    x, _ = env.w.ex.get(env.lid(vis), acc.SYSTEM)
    g = env.w.ex.db
    from sqlalchemy import func, select

    from tongxin.storage.models_accounts import AccessGrantRow, ContactRequestRow, ListingModerationRow

    with g.transaction(write=False) as s:
        grants = s.scalar(select(func.count()).select_from(AccessGrantRow).where(AccessGrantRow.listing_id == x.id))
        contacts = s.scalar(select(func.count()).select_from(ContactRequestRow).where(ContactRequestRow.listing_id == x.id))
        hidden = s.scalar(select(ListingModerationRow.hidden).where(ListingModerationRow.listing_id == x.id))
    return (x.title, x.description, x.status, x.visibility, grants, contacts, hidden)


def _restore(env: Env, vis: str) -> None:
    """Put the listing back as the world built it (after an allowed write)."""
    from sqlalchemy import delete

    from tongxin.storage.models_accounts import AccessGrantRow, ContactRequestRow, ListingModerationRow

    with env.w.ex.db.transaction() as s:
        s.execute(delete(ContactRequestRow).where(ContactRequestRow.listing_id == env.lid(vis)))
        s.execute(delete(ListingModerationRow).where(ListingModerationRow.listing_id == env.lid(vis)))
        s.execute(delete(AccessGrantRow).where(AccessGrantRow.listing_id == env.lid(vis)))
    env.w.ex.set_status(env.lid(vis), "draft" if vis == "draft" else "published")
    if vis == "confidential":
        with env.w.ex.db.transaction() as s:
            from tongxin.storage import accounts_repo as R

            R.grant(s, env.lid(vis), env.w.orgs["granted"], None, "restore")


@pytest.mark.parametrize("name,role,vis", WRITE_CASES, ids=[f"{n}|{r}|{v}" for n, r, v in WRITE_CASES])
def test_write_matrix(env: Env, name: str, role: str, vis: str) -> None:
    call, allowed = WRITES[name]
    before = _state(env, vis)
    r = call(env, role, vis)
    assert "Traceback" not in r.text and r.status_code < 500, r.text[:300]
    try:
        if allowed(role, vis):
            assert r.status_code in (200, 201, 204, 303), f"{name}: {role} should be allowed on {vis}: {r.status_code} {r.text[:300]}"
        else:
            assert r.status_code in (303, 401, 403, 404, 409), r.text[:200]
            if r.status_code == 303:  # a page redirects a visitor to the sign-in page
                assert r.headers["location"].startswith("/login")
            assert _state(env, vis) == before, f"{name}: {role} changed a {vis} listing"
            assert world.secret(vis) not in r.text
    finally:
        if allowed(role, vis) or _state(env, vis) != before:
            _restore(env, vis)


# -- CSRF on every page form, and on cookie-authenticated API writes -----------------------------------

def test_every_page_form_needs_csrf(env: Env) -> None:
    from fastapi.routing import APIRoute

    from tongxin.web.routers import all_routers

    routes = [rt for router in all_routers() for rt in router.routes]
    from test_csrf_and_redirects import TOKEN_AUTHORISED  # authorised by a signed token in the URL (RFC 8058), not the session

    posts = [rt for rt in routes if isinstance(rt, APIRoute) and "POST" in rt.methods and not rt.path.startswith("/api/")
             and rt.path not in TOKEN_AUTHORISED]
    assert len(posts) >= 20
    for rt in posts:
        path = rt.path
        for p in rt.param_convertors:
            path = path.replace("{" + p + "}", "1")
        for data in ({}, {"csrf": "WRONG"}):
            r = env.c.post(path, data=data, headers=env.page("owner_admin"), follow_redirects=False)
            assert r.status_code == 403 and "表单已过期" in r.text, f"{rt.path} accepted a form without a valid CSRF token"


def test_api_with_session_cookie_needs_csrf_header(env: Env) -> None:
    h = env.page("owner_admin")
    r = env.c.post(f"/api/v1/listings/{env.lid('public')}/close", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = env.c.get("/api/v1/me", headers=h)
    assert r.status_code == 200 and r.json()["role"] == "org_admin"


def test_operator_pages_and_api_are_staff_only(env: Env) -> None:
    for role in ROLES:
        r = env.c.get("/operator", headers=env.page(role), follow_redirects=False)
        ra = env.c.get("/api/v1/operator/summary", headers=env.api(role))
        if role in STAFF:
            assert r.status_code == 200 and ra.status_code == 200
        else:
            assert r.status_code in (303, 403) and ra.status_code in (401, 403)
            assert ra.json()["error"]["code"] in ("unauthorized", "forbidden")


def test_matrix_size() -> None:
    n = len(READ_CASES) + len(WRITE_CASES)
    print(f"\npermission matrix: ({len(READS)} read + {len(WRITES)} write endpoints) × {len(ROLES)} roles × {len(VISIBILITIES)} visibilities = {n} cases")
    assert n == (len(READS) + len(WRITES)) * len(ROLES) * len(VISIBILITIES)
