"""Imports of real-world files never drop data silently: near-miss and unknown headers, title rows,
merged cells, Excel date serials, full-width input, county-level regions, zip bombs and CSV
encodings (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from factories import ORGS, tech
from sqlalchemy import func, select
from typer.testing import CliRunner

from tongxin.cli.main import app
from tongxin.core.errors import BadFile, ValidationError
from tongxin.fileio.columns import listing_columns
from tongxin.fileio.readers import Limits, read_tables
from tongxin.services import Exchange
from tongxin.services.importing import import_file
from tongxin.storage import repo
from tongxin.storage.models import ListingRow, OrganisationRow

KEYS = ["external_id", "kind", "title", "description", "industry", "region", "owner", "trl", "transfer_modes"]
ROWS = [tech("T-A", "城轨列车控制系统", "全自动运行的列车控制系统。", "列车控制"),
        tech("T-B", "医学影像辅助诊断软件", "深度学习识别肺结节。", "医学影像", industry="I65", trl=6)]


def zh_of(ex: Exchange, key: str) -> str:
    return next(c.zh for c in listing_columns(ex.registry.get("technology"), ex.registry) if c.key == key)


def counts(ex: Exchange) -> tuple[int, int]:
    with ex.db.transaction(write=False) as s:
        return (int(s.scalar(select(func.count()).select_from(OrganisationRow)) or 0),
                int(s.scalar(select(func.count()).select_from(ListingRow)) or 0))


def listings(ex: Exchange) -> dict[str, Any]:
    with ex.db.transaction(write=False) as s:
        return {x.external_id: x for x in repo.iter_listings(s, ex.registry)}


def load_orgs(ex: Exchange, tmp_path: Path) -> None:
    p = tmp_path / "orgs.json"
    p.write_text(json.dumps({"organisations": ORGS, "listings": []}, ensure_ascii=False), encoding="utf-8")
    import_file(ex.db, ex.registry, str(p))


def sheet(path: Path, rows: list[list[Any]], title: str = "科技成果 technology", merges: tuple[str, ...] = ()) -> str:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return str(path)


def tech_rows(ex: Exchange, extra: dict[str, list[Any]] | None = None) -> list[list[Any]]:
    """Chinese template headers, then the rows; `extra` adds columns: header → one value per row."""
    extra = extra or {}
    head = [zh_of(ex, k) for k in KEYS] + list(extra)
    body = [[r[k] for k in KEYS] + [v[i] for v in extra.values()] for i, r in enumerate(ROWS)]
    return [head, *body]


# -- headers -----------------------------------------------------------------------------------


def test_near_miss_headers_are_errors_naming_the_template_column(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    before = counts(exchange)
    rows = tech_rows(exchange, {"意向价格下限(万元)": [120, 80], "专利号": ["CN202310123456.X", ""],
                                "团队": ["张三", "李四"], "有效期至": ["2030-12-31", "2031-01-01"]})
    p = sheet(tmp_path / "near.xlsx", rows)
    with pytest.raises(ValidationError) as ei:
        import_file(exchange.db, exchange.registry, p)
    got = {e.field: e for e in ei.value.errors}
    assert set(got) == {"专利号", "团队", "有效期至"}  # a width-only difference is the same column
    assert "是否为 ‘专利’" in got["专利号"].message.zh and "did you mean '专利'" in got["专利号"].message.en
    assert "‘研发团队’" in got["团队"].message.zh and "‘有效期止’" in got["有效期至"].message.zh
    assert all(e.row == 1 for e in got.values())
    assert str(got["团队"]).startswith("第 1 行 ‘团队’ 不是模板中的列")
    assert "--ignore-unknown-columns" in got["团队"].message.en
    assert counts(exchange) == before


def test_ignore_unknown_columns_imports_and_lists_them(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    rows = tech_rows(exchange, {"意向价格下限（万元）": [120, 80], "备注": ["内部", "内部"], "团队": ["张三", "李四"]})
    rows[0][-3] = " 意向价格下限(万元) "  # half-width brackets and spaces: still the template column
    rep = import_file(exchange.db, exchange.registry, sheet(tmp_path / "extra.xlsx", rows), ignore_unknown_columns=True)
    assert rep.listings_created == 2
    assert rep.ignored_columns == ["科技成果 technology: 备注", "科技成果 technology: 团队"]
    assert listings(exchange)["T-A"].attrs["price_min"] == 120 and listings(exchange)["T-B"].attrs["price_min"] == 80


def test_the_same_column_twice_is_an_error(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    rows = tech_rows(exchange, {"title": ["甲", "乙"]})
    with pytest.raises(ValidationError) as ei:
        import_file(exchange.db, exchange.registry, sheet(tmp_path / "dup.xlsx", rows))
    assert [(e.field, e.row) for e in ei.value.errors] == [("title", 1)]
    assert "‘标题’" in ei.value.errors[0].message.zh


# -- layout: title rows, merged cells -----------------------------------------------------------


def test_title_rows_and_merged_headers(exchange: Exchange, tmp_path: Path) -> None:
    """A merged title row above the header, and header cells merged down over two rows."""
    load_orgs(exchange, tmp_path)
    rows = tech_rows(exchange)
    head, body = rows[0], rows[1:]
    width = len(head)
    grid = [["2025 年科技成果征集表（北京交通大学）"] + [None] * (width - 1), [None] * width,
            head, [None] * width, *body]
    last = openpyxl.utils.get_column_letter(width)
    # row 1: the title merged across; rows 3-4: every header merged downwards
    merges = (f"A1:{last}1", *(f"{openpyxl.utils.get_column_letter(i)}3:{openpyxl.utils.get_column_letter(i)}4" for i in range(1, width + 1)))
    body[1][KEYS.index("trl")] = 42  # a bad value: the error must name spreadsheet row 6
    p = sheet(tmp_path / "titled.xlsx", grid, merges=merges)
    with pytest.raises(ValidationError) as ei:
        import_file(exchange.db, exchange.registry, p)
    assert [(e.row, e.field) for e in ei.value.errors] == [(6, "trl")]
    body[1][KEYS.index("trl")] = 6
    rep = import_file(exchange.db, exchange.registry, sheet(tmp_path / "titled2.xlsx", grid, merges=merges))
    assert rep.listings_created == 2
    assert listings(exchange)["T-B"].attrs["trl"] == 6


def test_merged_data_cells_fill_every_row(exchange: Exchange, tmp_path: Path) -> None:
    """An owner cell merged over the rows it applies to belongs to each of them."""
    load_orgs(exchange, tmp_path)
    rows = tech_rows(exchange)
    col = openpyxl.utils.get_column_letter(KEYS.index("owner") + 1)
    rows[1][KEYS.index("owner")] = "ORG-TIB"
    rows[2][KEYS.index("owner")] = None
    import_file(exchange.db, exchange.registry, sheet(tmp_path / "merged.xlsx", rows, merges=(f"{col}2:{col}3",)))
    got = listings(exchange)
    assert (got["T-A"].owner, got["T-B"].owner) == ("ORG-TIB", "ORG-TIB")


# -- values: serials, full width, counties ------------------------------------------------------


def test_excel_serials_full_width_and_county_regions(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    rows = tech_rows(exchange, {zh_of(exchange, "valid_from"): [45658, "２０２５年３月１日"],
                                zh_of(exchange, "valid_until"): ["46023", "2030.1.1"]})
    rows[1][KEYS.index("region")] = "１１０１０８"
    rows[1][KEYS.index("trl")] = "７"
    rows[2][KEYS.index("region")] = "130203"  # 唐山市路北区
    import_file(exchange.db, exchange.registry, sheet(tmp_path / "values.xlsx", rows))
    got = listings(exchange)
    a, b = got["T-A"], got["T-B"]
    assert (a.region, a.attrs["trl"], str(a.valid_from), str(a.valid_until)) == ("110108", 7, "2025-01-01", "2026-01-01")
    assert (b.region, str(b.valid_from), str(b.valid_until)) == ("130203", "2025-03-01", "2030-01-01")


# -- size limits -------------------------------------------------------------------------------


def _bomb(path: Path, rows: int, dimension: str | None = None) -> str:
    """A workbook whose one sheet inflates to many highly compressible rows: small on disk."""
    base = tmp = path.with_suffix(".base.xlsx")
    sheet(tmp, [["标题"], ["x"]])
    body = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * rows  # rows and cells may omit r=
    dim = (dimension or f"A1:A{rows}").encode()
    xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b'<dimension ref="' + dim + b'"/><sheetData>' + body + b"</sheetData></worksheet>")
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, xml if item.filename == "xl/worksheets/sheet1.xml" else zin.read(item.filename))
    return str(path)


def test_zip_bomb_is_refused_before_parsing(exchange: Exchange, tmp_path: Path) -> None:
    p = _bomb(tmp_path / "bomb.xlsx", 600_000)
    assert Path(p).stat().st_size < 200_000 < 20_000_000 < zipfile.ZipFile(p).getinfo("xl/worksheets/sheet1.xml").file_size
    with pytest.raises(BadFile) as ei:
        import_file(exchange.db, exchange.registry, p)
    assert "600,000" in ei.value.message.zh and "100,000" in ei.value.message.zh and "limit of 100,000" in ei.value.message.en
    assert counts(exchange) == (0, 0)


def test_unpacked_size_and_lying_dimension_limits(tmp_path: Path) -> None:
    p = _bomb(tmp_path / "big.xlsx", 60_000, dimension="A1")  # ~4 MB of XML that claims one cell
    assert Path(p).stat().st_size < 100_000
    with pytest.raises(BadFile) as ei:
        read_tables(p, limits=Limits(max_unzipped_mb=2))
    assert "超过 2 MB 的上限" in ei.value.message.zh and "over the limit of 2 MB" in ei.value.message.en
    with pytest.raises(BadFile) as ei:  # the declared dimension lies: rows are counted while streaming
        read_tables(p, limits=Limits(max_rows=1000))
    assert "1,000" in ei.value.message.zh and "split it" in ei.value.message.en
    assert len(read_tables(p)[0].rows) == 60_000 - 1


# -- CSV encodings -----------------------------------------------------------------------------


def _csv_bytes(ex: Exchange, encoding: str) -> bytes:
    lines = [",".join(zh_of(ex, k) for k in KEYS)] + [",".join(str(r[k]) for k in KEYS) for r in ROWS]
    return ("\n".join(lines) + "\n").encode(encoding)


def test_csv_with_a_bad_byte_names_the_row(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    before = counts(exchange)
    good = _csv_bytes(exchange, "utf-8")
    lines = good.split(b"\n")
    for name, bad in (("mixed.csv", lines[0] + b"\n" + lines[1] + b"\n" + lines[2].decode().encode("gbk") + b"\n"),
                      ("broken.csv", lines[0] + b"\n" + lines[1] + b"\n" + lines[2] + b"\x80\n")):
        p = tmp_path / name
        p.write_bytes(bad)
        with pytest.raises(BadFile) as ei:
            import_file(exchange.db, exchange.registry, str(p))
        assert "第 3 行" in ei.value.message.zh and "row 3" in ei.value.message.en and "CSV UTF-8" in ei.value.message.en
    assert counts(exchange) == before


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16"])
def test_csv_saved_by_chinese_excel(exchange: Exchange, tmp_path: Path, encoding: str) -> None:
    load_orgs(exchange, tmp_path)
    p = tmp_path / "成果.csv"
    p.write_bytes(_csv_bytes(exchange, encoding))
    assert import_file(exchange.db, exchange.registry, str(p)).listings_created == 2
    assert listings(exchange)["T-B"].title == "医学影像辅助诊断软件"


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_ignore_unknown_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TONGXIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TONGXIN_INDEX_DIR", raising=False)
    run = CliRunner().invoke
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps({"organisations": ORGS, "listings": []}, ensure_ascii=False), encoding="utf-8")
    assert run(app, ["import", str(orgs)]).exit_code == 0
    head = ["外部编号", "资源类型", "标题", "详细描述", "所属行业", "所在地区", "发布机构编号", "技术成熟度(TRL)", "转化方式", "专利号"]
    p = sheet(tmp_path / "t.xlsx", [head] + [[r[k] for k in KEYS] + [""] for r in ROWS])
    r = run(app, ["import", p])
    assert r.exit_code == 1
    assert "第 1 行 ‘专利号’ 不是模板中的列，是否为 ‘专利’？" in r.output and "did you mean '专利'" in r.output
    r = run(app, ["import", p, "--ignore-unknown-columns"])
    assert r.exit_code == 0, r.output
    assert "未导入的列" in r.output and "专利号" in r.output and "资源 listings: 新增 2" in r.output
