"""The `tongxin` command line, run in-process with typer's CliRunner on a SQLite data directory."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from factories import LISTINGS, ORGS
from typer.testing import CliRunner

from tongxin.cli.main import app

COMMANDS = ("init", "demo", "import", "export", "listings", "show", "match", "serve", "template", "index")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TONGXIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TONGXIN_INDEX_DIR", raising=False)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def loaded(cli: Any, tmp_path: Path) -> dict[str, int]:
    """Import the fixture organisations and listings; returns external id → listing id."""
    p = tmp_path / "data.json"
    p.write_text(json.dumps({"organisations": ORGS, "listings": LISTINGS}, ensure_ascii=False), encoding="utf-8")
    r = cli("import", str(p))
    assert r.exit_code == 0, r.output
    r = cli("listings", "--json", "--limit", "100")
    return {x["external_id"]: x["id"] for x in json.loads(r.stdout)}


def test_help_lists_commands(cli: Any) -> None:
    r = cli("--help")
    assert r.exit_code == 0
    listed = set(re.findall(r"^\W*(\w+) {2,}\S", r.output.split("Commands")[-1], re.M))
    assert set(COMMANDS) <= listed, set(COMMANDS) - listed
    assert "TONGXIN_DATA_DIR" in r.output


def test_init_creates_the_database(cli: Any, tmp_path: Path) -> None:
    r = cli("init")
    assert r.exit_code == 0, r.output
    assert "database ready" in r.output
    assert (tmp_path / "data" / "tongxin.db").is_file()
    assert cli("init").exit_code == 0  # idempotent


def test_template_xlsx(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    r = cli("template", "technology", "--format", "xlsx", "-o", str(out))
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    header = [c.value for c in wb.worksheets[0][1]]
    assert "技术成熟度(TRL) (trl)" in header and "标题 (title)" in header
    assert wb.worksheets[0].cell(row=2, column=header.index("技术成熟度(TRL) (trl)") + 1).value == "6"


def test_template_unknown_kind(cli: Any, tmp_path: Path) -> None:
    r = cli("template", "spaceship", "-o", str(tmp_path / "x.xlsx"))
    assert r.exit_code == 3
    assert "spaceship" in r.output and not (tmp_path / "x.xlsx").exists()


def test_template_then_import(cli: Any, tmp_path: Path) -> None:
    o, t = tmp_path / "o.csv", tmp_path / "t.csv"
    assert cli("template", "organisation", "--format", "csv", "-o", str(o)).exit_code == 0
    assert cli("template", "technology", "--format", "csv", "-o", str(t)).exit_code == 0
    assert cli("import", str(o)).exit_code == 0
    r = cli("import", str(t))
    assert r.exit_code == 0, r.output
    assert "资源 listings: 新增 1" in r.output
    assert json.loads(cli("listings", "--json").stdout)[0]["external_id"] == "TECHNOLOGY-EX-1"


def test_import_good_file(cli: Any, loaded: dict[str, int]) -> None:
    assert set(loaded) == {x["external_id"] for x in LISTINGS}


def test_import_bad_file_exit_1_and_nothing_written(cli: Any, tmp_path: Path) -> None:
    bad = [dict(LISTINGS[0]), dict(LISTINGS[1], trl=12)]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"organisations": ORGS, "listings": bad}, ensure_ascii=False), encoding="utf-8")
    r = cli("import", str(p))
    assert r.exit_code == 1
    assert "第 2 行" in r.output and "Row 2" in r.output and "trl" in r.output
    assert "未导入任何数据" in r.output
    assert json.loads(cli("listings", "--json").stdout) == []


def test_import_skip_invalid_writes_report(cli: Any, tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"organisations": ORGS, "listings": [LISTINGS[0], dict(LISTINGS[1], trl=12)]}, ensure_ascii=False), encoding="utf-8")
    rep = tmp_path / "report.csv"
    r = cli("import", str(p), "--skip-invalid", "--report", str(rep))
    assert r.exit_code == 0, r.output
    assert "skipped 1 error" in r.output
    assert "trl" in rep.read_text(encoding="utf-8-sig")
    assert [x["external_id"] for x in json.loads(cli("listings", "--json").stdout)] == [LISTINGS[0]["external_id"]]


def test_import_corrupt_file_exit_4(cli: Any, tmp_path: Path) -> None:
    p = tmp_path / "broken.xlsx"
    p.write_bytes(os.urandom(1000))
    r = cli("import", str(p))
    assert r.exit_code == 4
    assert "XLSX" in r.output and "corrupt" in r.output


def test_listings_json(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("listings", "--kind", "technology", "--json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert {x["external_id"] for x in rows} == {x["external_id"] for x in LISTINGS if x["kind"] == "technology"}
    assert all(x["kind"] == "technology" for x in rows)
    r = cli("listings", "--region", "120000", "--json")  # a province-level code covers its districts
    assert {x["external_id"] for x in json.loads(r.stdout)} == {"S-WQ", "S-HOSP"}


def test_listings_table(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("listings", "--kind", "scenario")
    assert r.exit_code == 0
    assert "场景需求" in r.output


def test_show(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("show", str(loaded["T-CBTC"]))
    assert r.exit_code == 0, r.output
    assert "基于通信的列车控制系统" in r.output and "北京交通大学" in r.output
    r = cli("show", str(loaded["T-CBTC"]), "--json")
    d = json.loads(r.stdout)
    assert d["external_id"] == "T-CBTC" and d["attrs"]["trl"] == "7" and d["attrs"]["transfer_modes"] == "许可、合作开发"


def test_show_missing_exit_3(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("show", "99999")
    assert r.exit_code == 3
    assert "99999" in r.output and "does not exist" in r.output


def test_match_listing(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("match", str(loaded["S-WQ"]), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["results"][0]["id"] == loaded["T-CBTC"]
    assert all(m["kind"] == "technology" for m in d["results"])
    r = cli("match", str(loaded["S-WQ"]))
    assert r.exit_code == 0 and "基于通信的列车控制系统" in r.output


def test_match_text(cli: Any, loaded: dict[str, int]) -> None:
    r = cli("match", "--text", "列车控制系统", "--kind", "technology", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["query"] == "列车控制系统"
    assert d["results"] and d["results"][0]["id"] == loaded["T-CBTC"]
    assert all(m["kind"] == "technology" for m in d["results"])
    assert all(m["explanation"] for m in d["results"])
    assert "列车控制系统" in json.dumps(d["results"][0]["explanation"], ensure_ascii=False)


def test_match_missing_listing_exit_3(cli: Any, loaded: dict[str, int]) -> None:
    assert cli("match", "99999").exit_code == 3


def test_match_without_arguments_exit_2(cli: Any) -> None:
    r = cli("match")
    assert r.exit_code == 2
    assert "--text" in r.output


def test_export_and_index(cli: Any, loaded: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = cli("export", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["organisations"]) == len(ORGS) and len(data["listings"]) == len(LISTINGS)
    r = cli("index", "--rebuild")
    assert r.exit_code == 0, r.output
    assert "index: 7" in r.output  # every fixture listing is published


def test_import_missing_file_exit_4(cli: Any, tmp_path: Path) -> None:
    r = cli("import", str(tmp_path / "nope.csv"))
    assert r.exit_code == 4 and "file not found" in r.output


def test_unsupported_formats_exit_4_without_writing(cli: Any, tmp_path: Path) -> None:
    r = cli("export", str(tmp_path / "out.txt"))
    assert r.exit_code == 4 and "unsupported file type '.txt'" in r.output
    r = cli("template", "technology", "--format", "json", "-o", str(tmp_path / "t.json"))
    assert r.exit_code == 4 and "unsupported file type '.json'" in r.output
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "out.txt").exists()


def test_commands_in_one_process_do_not_hold_the_index_lock(cli: Any, loaded: dict[str, int]) -> None:
    # every command closes its exchange: the index writer's lock is released for the next one
    for _ in range(3):
        assert cli("index").exit_code == 0
        assert cli("match", str(loaded["T-AIDX"]), "--json").exit_code == 0
