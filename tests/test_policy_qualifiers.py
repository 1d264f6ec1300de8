"""Per policy, who qualifies and who misses which fact: the operator pages (with paging), the CSV
(formula-safe), the API and the CLI; staff only. SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import world
from factories import ORGS, load
from fastapi.testclient import TestClient
from test_org_facts import CSRF, POLICY, TODAY
from typer.testing import CliRunner

from tongxin.cli.main import app as cli_app
from tongxin.core import access as acc
from tongxin.core import credit_code
from tongxin.core.errors import Forbidden
from tongxin.services import Exchange
from tongxin.services import org_facts as F
from tongxin.services import policy_qualifiers as Q
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app

EVIL = {"external_id": "ORG-EVIL", "name": "=HYPERLINK(\"http://x\")科技有限公司", "credit_code": credit_code.make("91130100MA0E7X101"),
        "org_type": "enterprise", "region": "130100", "industry": "C27"}
ADMIN = acc.Viewer(role="admin", user_id=1)


@pytest.fixture
def ex(db_url: str, tmp_path: Path) -> Iterator[Exchange]:
    e = Exchange(Database(db_url), str(tmp_path / "idx"))
    e.init_db()
    load(e, [*ORGS, EVIL], [POLICY])
    with e.db.transaction(write=False) as s:
        ids = {o: rr.resolve_org(s, o).id for o in ("ORG-SJZ", "ORG-WQ", "ORG-TIB", "ORG-EVIL")}
    F.update(e, ADMIN, ids["ORG-SJZ"], {"employees": 120, "rd_spending": 300, "revenue": 5000, "certifications": ["高新技术企业"]}, TODAY)
    F.update(e, ADMIN, ids["ORG-TIB"], {"employees": 900, "rd_spending": 50, "certifications": []}, TODAY)
    F.update(e, ADMIN, ids["ORG-WQ"], {"employees": 120}, TODAY)  # no R&D figure, no certifications: it fails on certifications
    F.update(e, ADMIN, ids["ORG-EVIL"], {"employees": 10, "certifications": ["高新技术企业"]}, TODAY)  # only R&D missing
    yield e
    e.close()


def _pid(ex: Exchange) -> int:
    return ex.ids_by_external(["PL-HT"])["PL-HT"]


def test_groups_and_csv(ex: Exchange) -> None:
    q = Q.qualifiers(ex, ADMIN, _pid(ex), TODAY)
    by = {r.name: r for r in q.rows}
    assert by["石家庄药业集团有限公司"].group == "qualifies"
    assert by["北京交通大学"].group == "missing" and by["北京交通大学"].missing == ["employees", "rd_spending", "certifications"]
    assert by[EVIL["name"]].group == "missing" and by[EVIL["name"]].missing == ["rd_spending"]
    tib = by["中国科学院天津工业生物技术研究所"]
    assert tib.group == "fails" and [r.condition.field for r in tib.failed] == ["employees", "rd_spending", "certifications"]
    assert "900" in tib.failed[0].zh  # operators see the figure that failed
    assert by["交控技术装备有限公司"].group == "fails"
    assert "天津市第一中心医院" not in by  # the policy's own issuer
    assert q.counts == {"qualifies": 1, "missing": 2, "fails": 2} and q.missing_counts["rd_spending"] == 2
    rows = list(csv.reader(io.StringIO(Q.qualifiers_csv(q).lstrip("\ufeff"))))
    assert rows[0] == Q.CSV_HEADER and len(rows) == 6
    evil = next(r for r in rows if "HYPERLINK" in r[1])
    assert evil[1].startswith("'=") and evil[5] == "年研发投入(万元)"
    with pytest.raises(Forbidden):
        Q.qualifiers(ex, acc.Viewer(org_id=1, org_verified=True, role="org_admin", user_id=2), _pid(ex), TODAY)


def test_pages_api_and_cli(ex: Exchange, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    web = create_app(ex)
    accounts = web.state.accounts
    accounts._ph = world.fast_hasher()
    sessions = {}
    for who, role in (("operator", "operator"), ("user", "user")):
        uid = accounts.sign_up(f"{who}@q.tongxin.cn", world.PASSWORD, who)
        with ex.db.transaction() as s:
            R.get_user(s, uid).role = role
        sessions[who] = accounts.create_session(uid)
    pid = _pid(ex)
    with TestClient(web, raise_server_exceptions=False) as c:
        def get(who: str, path: str, **params: Any) -> Any:
            return c.get(path, params=params, headers={"Cookie": f"tx_csrf={CSRF}; tx_session={sessions[who]}"}, follow_redirects=False)

        r = get("operator", "/operator/policies")
        assert r.status_code == 200 and f'data-policy="{pid}"' in r.text
        r = get("operator", f"/operator/policies/{pid}", group="missing", date=TODAY.isoformat())
        assert r.status_code == 200 and 'data-missing="rd_spending"' in r.text and "北京交通大学" in r.text and "石家庄药业" not in r.text
        assert get("operator", f"/operator/policies/{pid}", group="nope").status_code == 422
        r = get("operator", f"/operator/policies/{pid}/qualifiers.csv", date=TODAY.isoformat())
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and "'=HYPERLINK" in r.text
        for path in ("/operator/policies", f"/operator/policies/{pid}", f"/operator/policies/{pid}/qualifiers.csv",
                     f"/api/v1/operator/policies/{pid}/qualifiers"):
            assert get("user", path).status_code == 403
        body = get("operator", f"/api/v1/operator/policies/{pid}/qualifiers", group="qualifies", date=TODAY.isoformat()).json()
        assert [x["name"] for x in body["items"]] == ["石家庄药业集团有限公司"] and body["counts"]["fails"] == 2
        assert get("operator", "/api/v1/operator/policies/999999/qualifiers").status_code == 404
    ex.close()
    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "idx2"))
    out = tmp_path / "q.csv"
    r = CliRunner().invoke(cli_app, ["resources", "qualifiers", str(pid), "--group", "fails", "--csv", str(out), "--date", TODAY.isoformat()],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert sorted(x["name"] for x in json.loads(r.stdout)["items"]) == ["中国科学院天津工业生物技术研究所", "交控技术装备有限公司"]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6
    assert CliRunner().invoke(cli_app, ["resources", "qualifiers", str(pid), "--group", "x"]).exit_code == 2
    assert CliRunner().invoke(cli_app, ["resources", "qualifiers", "999999"]).exit_code == 3
