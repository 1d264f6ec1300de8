"""One match path: for a listing of every kind that has counterparts, `tongxin match ID --json`
(the CLI, as the system viewer), `GET /api/v1/listings/{id}/matches` and the listing's page (as
an operator, who like the system viewer sees every public listing) give the same listings in
the same order, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from factories import LISTINGS, ORGS, load
from fastapi.testclient import TestClient
from test_kinds_resources import _pair_listings
from typer.testing import CliRunner
from world import fast_hasher

from tongxin.cli.main import app as cli_app
from tongxin.core.certification import Mark
from tongxin.core.kinds import default_registry
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app


def _setup(db_url: str, index_dir: str) -> tuple[dict[str, int], int]:
    """The fixtures of every kind, the mark licence the certified product needs, an operator."""
    ex = Exchange(Database(db_url), index_dir)
    ex.init_db()
    try:
        rows = LISTINGS + _pair_listings()
        ids = load(ex, ORGS, rows)
        with ex.db.transaction() as s:
            mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="天津市小站稻产业协会", mark_type="gi_certification"))
            rr.add_licence(s, mid, rr.resolve_org(s, "ORG-WQ").id, "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2030, 12, 31), "小站稻大米")
        accounts = Accounts(ex, hasher=fast_hasher())
        uid = accounts.sign_up("operator@test.tongxin.cn", "tongxin-parity-1", "运营人员")
        with ex.db.transaction() as s:
            R.get_user(s, uid).role = "operator"
        return ids, uid
    finally:
        ex.close()


def _one_per_kind(ids: dict[str, int]) -> dict[str, int]:
    kind_of = {r["external_id"]: r["kind"] for r in LISTINGS + _pair_listings()}
    reg = default_registry()
    out: dict[str, int] = {}
    for ext, lid in sorted(ids.items(), key=lambda t: t[1]):
        k = kind_of[ext]
        if reg.counterparts(k) and k not in out:
            out[k] = lid
    return out


def _page_ids(html: str) -> list[int]:
    section = html.split("最佳匹配", 1)[1].split("</section>", 1)[0]
    return [int(i) for i in re.findall(r'<h3><a href="/listings/(\d+)"', section)]


def test_cli_api_and_page_agree_for_every_kind(db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    index_dir = str(tmp_path / "idx")
    ids, uid = _setup(db_url, index_dir)
    queries = _one_per_kind(ids)
    assert set(queries) == set(default_registry().names())  # every built-in kind has counterparts and a fixture

    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_INDEX_DIR", index_dir)
    runner = CliRunner()
    cli: dict[str, list[int]] = {}
    for kind, lid in queries.items():
        r = runner.invoke(cli_app, ["match", str(lid), "--json"], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        cli[kind] = [x["id"] for x in json.loads(r.stdout)["results"]]

    ex = Exchange(Database(db_url), index_dir)
    try:
        accounts = Accounts(ex, hasher=fast_hasher())
        token = accounts.create_token(accounts.viewer(uid), "parity")[1]
        cookie = f"tx_csrf=CSRFTOKEN; tx_session={accounts.create_session(uid)}"
        with TestClient(create_app(ex), base_url="https://testserver", raise_server_exceptions=False) as c:
            for kind, lid in queries.items():
                api = c.get(f"/api/v1/listings/{lid}/matches", headers={"Authorization": f"Bearer {token}"})
                assert api.status_code == 200, api.text
                page = c.get(f"/listings/{lid}", headers={"Cookie": cookie})
                assert page.status_code == 200
                api_ids = [x["id"] for x in api.json()["results"]]
                assert cli[kind] == api_ids == _page_ids(page.text), kind
    finally:
        ex.close()
    found = {k for k, v in cli.items() if v}
    assert len(found) >= len(queries) - 1, f"kinds without any match: {set(queries) - found}"
