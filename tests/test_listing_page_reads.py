"""Issue #12: a listing page reads its listing once and decides access to it once.

The page (GET /listings/{id}) is one service call (`Listings.listing_page`) that loads the
listing, decides what the viewer may see and do, and reads what the page shows (moderation,
a lapsed mark claim, grants, counterparts) in one unit of work. Counted here for a page view
by an anonymous visitor and by the owner: reads of that listing from the database (wrapped
repository functions), access decisions about it (wrapped `core.access.access`, which every
permission check calls) and database transactions (SQLAlchemy "begin" events). SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import world
from fastapi.testclient import TestClient
from sqlalchemy import event

from tongxin.core import access as acc
from tongxin.core.listing import Listing
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.mail import LogMailer
from tongxin.storage import repo
from tongxin.storage.db import Database
from tongxin.web.app import create_app

# the index's background thread is off and its query-path check spaced out: what is counted is the request's own work


@dataclass
class Counts:
    reads: int = 0  # repository reads that return the page's listing
    decisions: int = 0  # access decisions about the page's listing
    transactions: int = 0


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch, ex: Exchange, lid: int) -> Iterator[Counts]:
    c = Counts()
    lock = threading.Lock()

    def bump(name: str) -> None:
        with lock:
            setattr(c, name, getattr(c, name) + 1)

    real_fetch, real_find, real_get = repo.fetch_listings, repo.find_listings, repo.get_listing

    def fetch_listings(s: Any, ids: Any, registry: Any, memo: Any = None) -> dict[int, Listing]:
        got = real_fetch(s, ids, registry, memo)
        if lid in got:
            bump("reads")
        return got

    def find_listings(s: Any, f: Any, registry: Any) -> list[Listing]:
        got = real_find(s, f, registry)
        if any(x.id == lid for x in got):
            bump("reads")
        return got

    def get_listing(s: Any, listing_id: int, registry: Any) -> Listing:
        if listing_id == lid:
            bump("reads")
        return real_get(s, listing_id, registry)

    real_access = acc.access

    def access(viewer: acc.Viewer, listing: Listing) -> acc.Access:
        if listing.id == lid:
            bump("decisions")
        return real_access(viewer, listing)

    def on_begin(_conn: Any) -> None:
        bump("transactions")

    monkeypatch.setattr(repo, "fetch_listings", fetch_listings)
    monkeypatch.setattr(repo, "find_listings", find_listings)
    monkeypatch.setattr(repo, "get_listing", get_listing)
    monkeypatch.setattr(acc, "access", access)
    event.listen(ex.db.engine, "begin", on_begin)
    try:
        yield c
    finally:
        event.remove(ex.db.engine, "begin", on_begin)
        monkeypatch.undo()


@pytest.fixture
def site(db_url: str, tmp_path: Any) -> Iterator[tuple[Exchange, world.World, TestClient]]:
    ex = Exchange(Database(db_url), str(tmp_path / "index"), sync_interval=3600.0, background_sync=False)
    ex.init_db()
    w = world.build(ex, Accounts(ex, LogMailer(), hasher=world.fast_hasher()))
    app = create_app(ex, LogMailer())
    app.state.accounts = w.accounts
    with TestClient(app, base_url="https://testserver") as c:
        yield ex, w, c
    ex.close()


def _sign_in(c: TestClient, w: world.World, role: str) -> None:
    c.get("/login")
    r = c.post("/login", data={"email": w.email(role), "password": world.PASSWORD, "csrf": c.cookies["tx_csrf"]}, follow_redirects=False)
    assert r.status_code == 303 and "tx_session" in c.cookies


@pytest.mark.parametrize("who", ["visitor", "owner_admin"])
def test_a_listing_page_reads_the_listing_once_and_decides_access_once(site: Any, monkeypatch: pytest.MonkeyPatch, who: str) -> None:
    ex, w, c = site
    if who != "visitor":
        _sign_in(c, w, who)
    lid = w.listings["public"]
    c.get(f"/listings/{lid}")  # warm: the index opened, terms learned
    with counting(monkeypatch, ex, lid) as n:
        r = c.get(f"/listings/{lid}")
    assert r.status_code == 200
    assert world.title("public") in r.text and world.secret("public") in r.text
    assert "最佳匹配" in r.text and "城轨列车控制系统产业化场景" in r.text  # counterparts were matched
    owner_only = f"/listings/{lid}/edit"
    assert (owner_only in r.text) == (who == "owner_admin")
    assert n.reads == 1, n
    assert n.decisions == 1, n
    assert n.transactions == (1 if who == "visitor" else 2), n  # the page's one unit of work (+ the signed-in session)


def test_the_owner_s_confidential_page_reads_its_grants_in_the_same_unit_of_work(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ex, w, c = site
    _sign_in(c, w, "owner_admin")
    lid = w.listings["confidential"]
    c.get(f"/listings/{lid}")
    with counting(monkeypatch, ex, lid) as n:
        r = c.get(f"/listings/{lid}")
    assert r.status_code == 200 and "已授权查看全文的机构" in r.text and "NDA-1" in r.text
    assert (n.reads, n.decisions) == (1, 1), n
    assert n.transactions == 2, n  # the session, the page


def test_a_page_the_viewer_may_not_see_is_refused_after_one_read(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ex, w, c = site
    lid = w.listings["members"]
    with counting(monkeypatch, ex, lid) as n:
        r = c.get(f"/listings/{lid}")
    assert r.status_code == 404 and world.secret("members") not in r.text and world.title("members") not in r.text
    assert (n.reads, n.decisions) == (1, 1), n
