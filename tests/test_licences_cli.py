"""`tongxin resources licence …` on SQLite and PostgreSQL: issue, renew, suspend, reinstate, revoke,
list, show, verify (exit 2 when not valid), qr, template and import (all or nothing), remind, claims;
bad input exits non-zero with a bilingual message and writes nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from factories import ORGS, load
from test_kinds_resources import VALID, row
from test_licences import ASSOC
from typer.testing import CliRunner

from tongxin.cli.main import app
from tongxin.core.certification import Mark
from tongxin.core.clock import local_today
from tongxin.fileio.licences import write_licence_template
from tongxin.services import Exchange
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "idx"))
    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    fake = row("CP-FAKE", "certified_product", "小站稻大米（自称）", "自称持小站稻地理标志证明商标的大米。", "小站稻;大米", "ORG-SJZ", "130100", "A01",
               mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=900, price=11)
    load(ex, [*ORGS, ASSOC], [VALID["certified_product"][0], fake])
    with ex.db.transaction() as s:
        rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder=ASSOC["name"], mark_type="gi_certification"))
    ex.close()
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["resources", "licence", *args], catch_exceptions=False)

    return run


def _json(r: Any) -> Any:
    return json.loads(r.stdout)


def test_licence_lifecycle(cli: Any, tmp_path: Path) -> None:
    r = cli("issue", "XZD-GI", "ORG-WQ", "xzd-2025-001", "--from", "2025-01-01", "--until", "2034-12-31", "--products", "小站稻大米")
    assert r.exit_code == 0, r.output
    assert _json(r)["licence_no"] == "XZD-2025-001" and _json(r)["status"] == "active"
    r = cli("issue", "XZD-GI", "ORG-WQ", "XZD-2025-001", "--from", "2025-01-01", "--until", "2026-12-31", "--products", "米")
    assert r.exit_code == 5 and "已存在" in r.output and "already exists" in r.output
    r = cli("issue", "XZD-GI", "无此机构", "XZD-2025-002", "--from", "2025-01-01", "--until", "2026-12-31", "--products", "米")
    assert r.exit_code == 1 and "licensee" in r.output
    r = cli("issue", "XZD-GI", "ORG-SJZ", "XZD-2025-002", "--from", "2025-01-01", "--until", "2026-13-01", "--products", "米")
    assert r.exit_code == 2 and "--until" in r.output  # typer's bad parameter
    r = cli("suspend", "XZD-2025-001", "--reason", " ")
    assert r.exit_code == 1 and "reason" in r.output
    assert cli("suspend", "XZD-2025-001", "--reason", "抽检不合格").exit_code == 0
    r = cli("verify", "--licence-no", "XZD-2025-001")
    assert r.exit_code == 2 and _json(r)["status"] == "suspended"
    assert cli("reinstate", "XZD-2025-001", "--reason", "整改完成").exit_code == 0
    r = cli("verify", "--name", "交控")
    assert r.exit_code == 0 and _json(r)["valid"] is True
    r = cli("verify", "--licence-no", "XZD-2025-999")
    assert r.exit_code == 2 and _json(r)["status"] == "not_found"
    assert cli("verify").exit_code == 1
    assert cli("renew", "XZD-2025-001", "--until", "2030-01-01").exit_code == 1  # not later than now
    assert cli("renew", "XZD-2025-001", "--until", "2050-01-01").exit_code == 1  # more than 10 years at once
    assert cli("renew", "XZD-2025-001", "--until", "2036-12-31", "--reason", "续期").exit_code == 0
    r = cli("list", "--status", "active")
    assert [x["licence_no"] for x in _json(r)] == ["XZD-2025-001"]
    assert cli("list", "--status", "sleeping").exit_code == 1
    svg, png = tmp_path / "q.svg", tmp_path / "q.png"
    assert cli("qr", "XZD-2025-001", "-o", str(svg)).exit_code == 0 and b"<svg" in svg.read_bytes()
    r = cli("qr", "XZD-2025-001", "-o", str(png))
    assert r.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG" and _json(r)["url"].endswith("/marks/verify?licence_no=XZD-2025-001")
    assert cli("qr", "XZD-0000-000", "-o", str(svg)).exit_code == 3
    assert cli("qr", "XZD-2025-001", "-o", str(tmp_path / "q.gif")).exit_code == 2
    r = cli("claims")
    assert [c["title"] for c in _json(r)] == ["小站稻大米（自称）"]
    assert cli("revoke", "XZD-2025-001", "--reason", "违规").exit_code == 0
    r = cli("show", "XZD-2025-001")
    assert [e["action"] for e in _json(r)["history"]] == ["issue", "suspend", "reinstate", "renew", "revoke"]
    assert cli("revoke", "XZD-2025-404", "--reason", "x").exit_code == 3


def test_template_import_and_remind(cli: Any, tmp_path: Path) -> None:
    t = tmp_path / "t.xlsx"
    assert cli("template", "-o", str(t)).exit_code == 0 and t.exists()
    bad = str(tmp_path / "bad.xlsx")
    write_licence_template(bad, [["XZD-2026-001", "XZD-GI", ORGS[4]["credit_code"], "小站稻大米", "2026-01-01", "2026-12-31"],
                                 ["XZD-2026-002", "NOPE", ORGS[0]["credit_code"], "小站稻大米", "2026-01-01", "2026-12-31"]])
    r = cli("import", bad)
    assert r.exit_code == 1 and "第 3 行" in r.output and "Row 3" in r.output
    assert _json(cli("list")) == []  # all or nothing
    good = str(tmp_path / "good.xlsx")
    today = local_today()
    write_licence_template(good, [["XZD-2026-001", "XZD-GI", ORGS[4]["credit_code"], "小站稻大米", (today - dt.timedelta(days=30)).isoformat(),
                                   (today + dt.timedelta(days=20)).isoformat()],
                                  ["XZD-2026-002", "XZD-GI", ORGS[0]["credit_code"], "小站稻大米", today.isoformat(), (today + dt.timedelta(days=900)).isoformat()]])
    r = cli("import", good)
    assert r.exit_code == 0 and _json(r)["created"] == 2
    assert cli("import", str(tmp_path / "missing.xlsx")).exit_code == 4
    r = cli("remind", "--days", "30")
    assert r.exit_code == 0 and _json(r)["reminded"] == ["XZD-2026-001"]
    assert _json(cli("remind", "--days", "30"))["reminded"] == []
