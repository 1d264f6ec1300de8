"""Operators import many firms' facts from XLSX, all or nothing (service, CLI `tongxin orgs import-facts`,
the upload on /operator/facts, the API): the template reads back; every problem names its row, column and
fix in Chinese and English and nothing is written; a blank cell keeps the current value; imported facts
count as verified and each firm is told. Both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import test_org_facts
from factories import ORGS
from test_org_facts import CSRF, TODAY, _h
from typer.testing import CliRunner

from tongxin.core.errors import BadFile, Forbidden, ValidationError
from tongxin.fileio.org_facts import FACT_COLUMNS, write_facts_template
from tongxin.services import org_facts as F
from tongxin.storage import accounts_repo as AR
from tongxin.storage import resources_repo as rr

SJZ = next(o for o in ORGS if o["external_id"] == "ORG-SJZ")
WQ = next(o for o in ORGS if o["external_id"] == "ORG-WQ")

site = test_org_facts.site  # the fixture: a firm, its people, an operator and a stranger


def _file(tmp: Path, rows: list[list[Any]], name: str = "facts.xlsx") -> str:
    path = str(tmp / name)
    write_facts_template(path, rows)
    return path


def _facts(site: dict[str, Any], org: int) -> Any:
    with site["ex"].db.transaction(write=False) as s:
        return rr.get_facts(s, org)


GOOD = [[SJZ["credit_code"], SJZ["name"], 120, 3500.5, "2016/3/1", 300, "高企、专精特新"],
        [WQ["credit_code"], "", 80, None, None, None, None]]


def test_the_template_reads_back_and_imports(site: dict[str, Any], tmp_path: Path) -> None:
    ex, op = site["ex"], site["people"]["operator"]["viewer"]
    F.update(ex, site["people"]["stranger"]["viewer"], site["other"], {"revenue": 777}, TODAY)
    rep = F.import_facts(ex, op, _file(tmp_path, GOOD), TODAY)
    assert (rep.organisations, rep.changed, sorted(rep.org_ids)) == (2, 2, sorted([site["org"], site["other"]]))
    f = _facts(site, site["org"])
    assert (f.employees, f.revenue, f.founded, f.rd_spending, f.certifications, f.verified) == (
        120, 3500.5, dt.date(2016, 3, 1), 300.0, ("高新技术企业", "专精特新中小企业"), True)
    g = _facts(site, site["other"])
    assert (g.employees, g.revenue, g.verified) == (80, 777.0, True)  # the blank revenue cell kept the firm's figure
    with ex.db.transaction(write=False) as s:
        assert any("导入并核验" in n.text_zh for n in AR.notifications(s, site["org"]))
    # the template itself: headers "中文 (key)", the example row, a help sheet
    path = str(tmp_path / "t.xlsx")
    write_facts_template(path)
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb.worksheets[0][1]] == [c.header for c in FACT_COLUMNS] and wb.sheetnames[1].startswith("说明")


def test_every_problem_is_named_and_nothing_is_written(site: dict[str, Any], tmp_path: Path) -> None:
    ex, op = site["ex"], site["people"]["operator"]["viewer"]
    bad_check = SJZ["credit_code"][:17] + ("0" if SJZ["credit_code"][17] != "0" else "1")
    rows = [GOOD[0],
            [bad_check, "", 10, None, None, None, None],  # row 3: check character
            ["91110000000000000X"[:17] + "8", "", 10, None, None, None, None],  # row 4: maybe valid, but on no organisation (or bad)
            [WQ["credit_code"], "别的名字有限公司", "很多", None, "2099-01-01", None, "金牌企业"],  # row 5: name, employees, founded, certification
            [SJZ["credit_code"], "", 5, None, None, None, None]]  # row 6: repeats row 2
    with pytest.raises(ValidationError) as e:
        F.import_facts(ex, op, _file(tmp_path, rows), TODAY)
    got = {(x.row, x.field) for x in e.value.errors}
    assert {(3, "credit_code"), (4, "credit_code"), (5, "employees"), (5, "founded"), (5, "certifications"), (5, "name"), (6, "credit_code")} <= got, got
    assert all(x.message.zh and x.message.en for x in e.value.errors)
    assert _facts(site, site["org"]).employees is None  # row 2 was fine, but nothing was written
    with pytest.raises(Forbidden):
        F.import_facts(ex, site["people"]["owner"]["viewer"], _file(tmp_path, GOOD), TODAY)
    wb = openpyxl.Workbook()
    wb.active.append(["机构名称 (name)", "员工人数 (employees)"])
    wb.active.append(["x", 1])
    wb.save(tmp_path / "nocode.xlsx")
    with pytest.raises(BadFile) as b:
        F.import_facts(ex, op, str(tmp_path / "nocode.xlsx"), TODAY)
    assert "统一社会信用代码" in b.value.message.zh


def test_the_console_upload_and_the_api(site: dict[str, Any], tmp_path: Path) -> None:
    c = site["c"]
    page = c.get("/operator/facts", headers=_h(site, "operator"))
    assert page.status_code == 200 and "data-facts-import-form" in page.text and "/operator/facts/template.xlsx" in page.text
    t = c.get("/operator/facts/template.xlsx", headers=_h(site, "operator"))
    assert t.status_code == 200 and t.content[:2] == b"PK"
    assert c.get("/operator/facts/template.xlsx", headers=_h(site, "owner")).status_code == 403
    bad = Path(_file(tmp_path, [[WQ["credit_code"], "", "很多", None, None, None, None]], "bad.xlsx")).read_bytes()
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = c.post("/operator/facts/import", data={"csrf": CSRF}, files={"file": ("bad.xlsx", bad, xlsx)}, headers=_h(site, "operator"))
    assert r.status_code == 422 and 'data-row="2"' in r.text and 'data-field="employees"' in r.text and "第 2 行" in r.text and "员工人数" in r.text
    r = c.post("/operator/facts/import", data={"csrf": CSRF}, files={"file": ("notes.txt", b"hello", "text/plain")}, headers=_h(site, "operator"))
    assert r.status_code == 422 and "xlsx" in r.text and 'data-field="file"' in r.text
    good = Path(_file(tmp_path, GOOD, "good.xlsx")).read_bytes()
    r = c.post("/operator/facts/import", data={"csrf": CSRF}, files={"file": ("good.xlsx", good, xlsx)}, headers=_h(site, "operator"))
    assert r.status_code == 200 and 'data-imported="2"' in r.text
    r = c.post("/api/v1/operator/organisations/facts/import", files={"file": ("good.xlsx", good, xlsx)}, headers=_h(site, "operator"))
    assert r.status_code == 200 and r.json()["organisations"] == 2 and r.json()["changed"] == 0, r.text
    r = c.post("/api/v1/operator/organisations/facts/import", files={"file": ("good.xlsx", good, xlsx)}, headers=_h(site, "owner"))
    assert r.status_code == 403
    r = c.post("/api/v1/operator/organisations/facts/import", files={"file": ("bad.xlsx", bad, xlsx)}, headers=_h(site, "operator"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["row"] == 2


def test_cli(site: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongxin.cli.main import app

    monkeypatch.setenv("TONGXIN_DATABASE_URL", site["ex"].db.url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "idx"))
    runner = CliRunner()
    r = runner.invoke(app, ["orgs", "facts-template", "-o", str(tmp_path / "t.xlsx")], catch_exceptions=False)
    assert r.exit_code == 0 and (tmp_path / "t.xlsx").exists()
    r = runner.invoke(app, ["orgs", "import-facts", _file(tmp_path, [[WQ["credit_code"], "", "很多", None, None, None, None]], "b.xlsx")])
    assert r.exit_code == 1 and "员工人数" in r.output and "employees" in r.output
    r = runner.invoke(app, ["orgs", "import-facts", _file(tmp_path, GOOD)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["organisations"] == 2 and _facts(site, site["org"]).verified
