"""Import and export through the whole stack (SQLite and PostgreSQL): formats, all-or-nothing,
error reports, re-import, bad files, templates and a round-trip property."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import pg_schema_url
from factories import LISTINGS, ORGS, scen, tech
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tongxin.core import credit_code, industries, regions
from tongxin.core.errors import BadFile, ValidationError
from tongxin.core.fields import PATENT_STATUSES, clean_text, patent_check_digit
from tongxin.core.kinds.builtin import TRANSFER_MODES
from tongxin.core.listing import validate_listing
from tongxin.core.organisation import validate_organisation
from tongxin.core.vocab import ORG_TYPES, STATUSES, VISIBILITIES
from tongxin.fileio.columns import listing_columns, organisation_columns
from tongxin.fileio.exporter import export_data, listing_record, org_record, write_template
from tongxin.fileio.readers import read_tables
from tongxin.services import Exchange
from tongxin.services.importing import import_file
from tongxin.storage import repo
from tongxin.storage.db import Database
from tongxin.storage.models import ListingChangeRow, ListingRow, OrganisationRow

# -- helpers -----------------------------------------------------------------------------------


def counts(ex: Exchange) -> tuple[int, int]:
    with ex.db.transaction(write=False) as s:
        return (int(s.scalar(select(func.count()).select_from(OrganisationRow)) or 0),
                int(s.scalar(select(func.count()).select_from(ListingRow)) or 0))


def listings_by_ext(ex: Exchange) -> dict[str, Any]:
    with ex.db.transaction(write=False) as s:
        return {x.external_id: x for x in repo.iter_listings(s, ex.registry)}


def orgs_by_ext(ex: Exchange) -> dict[str, Any]:
    with ex.db.transaction(write=False) as s:
        return {o.external_id: o for o in repo.list_organisations(s)}


def write_json(path: Path, orgs: list[dict[str, Any]], listings: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps({"organisations": orgs, "listings": listings}, ensure_ascii=False, default=str), encoding="utf-8")
    return str(path)


def write_csv(path: Path, rows: list[dict[str, Any]], keys: list[str], encoding: str = "utf-8-sig", headers: list[str] | None = None) -> str:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers or keys)
        for r in rows:
            w.writerow(["" if r.get(k) is None else r.get(k) for k in keys])
    return str(path)


ORG_KEYS = ["external_id", "name", "credit_code", "org_type", "region", "industry"]
TECH_KEYS = ["external_id", "kind", "title", "description", "keywords", "industry", "region", "owner", "trl", "transfer_modes",
             "price_min", "price_max", "valid_from", "valid_until"]
TECHS = [x for x in LISTINGS if x["kind"] == "technology"]


def import_(ex: Exchange, path: str, **kw: Any) -> Any:
    return import_file(ex.db, ex.registry, path, **kw)


def load_orgs(ex: Exchange, tmp_path: Path) -> None:
    import_(ex, write_json(tmp_path / "orgs.json", ORGS, []))


# -- formats -----------------------------------------------------------------------------------


def test_import_xlsx_workbook(exchange: Exchange, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "机构 organisations"
    cols = organisation_columns()
    ws.append([c.zh for c in cols])  # plain Chinese headers
    for o in ORGS:
        ws.append([o.get(c.key) for c in cols])
    ws2 = wb.create_sheet("科技成果 technology")  # the kind comes from the sheet name: no kind column
    ws2.append(["外部编号 (external_id)", "title", "详细描述", "关键词", "所属行业", "所在地区", "发布机构编号", "技术成熟度(TRL)", "转化方式",
                "意向价格下限（万元） (price_min)", "有效期止"])
    ws2.append(["T-X1", "基于通信的列车控制系统", "城轨CBTC列车控制系统。", "CBTC;列车控制", 37, 120114, "ORG-WQ", 7, "许可;合作开发", 120.5,
                dt.datetime(2030, 12, 31)])
    ws2.append([None] * 11)  # blank rows are ignored
    ws2.append(["T-X2", "人工智能辅助诊断软件", "医学影像辅助诊断。", "医学影像", "I65", "海淀区", "ORG-BJTU", "6", "license", None, "2031-01-01"])
    ws3 = wb.create_sheet("场景需求 scenario")
    ws3.append([c.header for c in listing_columns(exchange.registry.get("scenario"), exchange.registry)])  # no rows: skipped
    path = tmp_path / "in.xlsx"
    wb.save(path)

    rep = import_(exchange, str(path))
    assert (rep.organisations_created, rep.listings_created, rep.errors) == (len(ORGS), 2, [])
    assert counts(exchange) == (len(ORGS), 2)
    got = listings_by_ext(exchange)
    x1 = got["T-X1"]
    assert (x1.kind, x1.industry, x1.region, x1.owner) == ("technology", "C37", "120114", "ORG-WQ")
    assert x1.keywords == ["CBTC", "列车控制"] and x1.valid_until == dt.date(2030, 12, 31)
    assert x1.attrs == {"trl": 7, "transfer_modes": ["license", "co_develop"], "price_min": 120.5}
    assert (got["T-X2"].region, got["T-X2"].attrs["trl"]) == ("110108", 6)
    assert orgs_by_ext(exchange)["ORG-WQ"].name == "交控技术装备有限公司"


def test_import_xlsx_with_a_wrong_dimension(exchange: Exchange, tmp_path: Path) -> None:
    """Some tools write <dimension ref="A1"/>; the reader must not trust it and cut the sheet short."""
    wb = openpyxl.Workbook()
    wb.active.title = "机构 organisations"
    cols = organisation_columns()
    wb.active.append([c.header for c in cols])
    for o in ORGS:
        wb.active.append([o.get(c.key) for c in cols])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "dimension.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1"/>', data)
                assert n == 1
            zout.writestr(item, data)
    rep = import_(exchange, str(bad))
    assert rep.organisations_created == len(ORGS)
    assert orgs_by_ext(exchange)["ORG-SJZ"].industry == "C27"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_import_csv_encodings(exchange: Exchange, tmp_path: Path, encoding: str) -> None:
    org_headers = [next(c.zh for c in organisation_columns() if c.key == k) for k in ORG_KEYS]  # Chinese-only headers
    import_(exchange, write_csv(tmp_path / "机构.csv", ORGS, ORG_KEYS, encoding, org_headers))
    if encoding == "gb18030":  # really not UTF-8
        with pytest.raises(UnicodeDecodeError):
            (tmp_path / "机构.csv").read_bytes().decode("utf-8")
    rep = import_(exchange, write_csv(tmp_path / "listings.csv", TECHS, TECH_KEYS, encoding))
    assert rep.listings_created == len(TECHS)
    assert counts(exchange) == (len(ORGS), len(TECHS))
    got = listings_by_ext(exchange)
    assert got["T-CBTC"].title == "基于通信的列车控制系统（CBTC）"
    assert got["T-CBTC"].keywords == ["列车控制系统", "CBTC", "轨道交通信号"]
    assert got["T-PEPT"].owner == "ORG-TIB" and got["T-PEPT"].attrs["trl"] == 5
    assert orgs_by_ext(exchange)["ORG-TIB"].name == "中国科学院天津工业生物技术研究所"


def test_import_json(exchange: Exchange, tmp_path: Path) -> None:
    nested = dict(tech("T-NEST", "海洋活性肽合成", "细胞工厂合成活性肽。", ["活性肽", "合成生物学"], owner="ORG-TIB", industry="M73"))
    nested["attrs"] = {"trl": 4, "transfer_modes": ["equity"], "patents": [{"number": "CN202310123456.6", "status": "granted"}]}
    for k in ("trl", "transfer_modes", "price_min", "price_max"):
        nested.pop(k)
    rep = import_(exchange, write_json(tmp_path / "in.json", ORGS, LISTINGS + [nested]))
    assert (rep.organisations_created, rep.listings_created) == (len(ORGS), len(LISTINGS) + 1)
    got = listings_by_ext(exchange)
    assert got["T-NEST"].attrs == {"trl": 4, "transfer_modes": ["equity"], "patents": [{"number": "CN202310123456.6", "status": "granted"}]}
    assert got["T-NEST"].keywords == ["活性肽", "合成生物学"]
    assert got["S-HOSP"].attrs["required_trl"] == 6 and got["S-HOSP"].owner == "ORG-HOSP"


def test_json_array_means_listings(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    p = tmp_path / "list.json"
    p.write_text(json.dumps(TECHS[:2], ensure_ascii=False), encoding="utf-8")
    assert import_(exchange, str(p)).listings_created == 2


# -- all or nothing, skip invalid --------------------------------------------------------------


def test_one_bad_row_writes_nothing(exchange: Exchange, tmp_path: Path) -> None:
    import_(exchange, write_json(tmp_path / "base.json", ORGS, TECHS[:1]))
    before = counts(exchange)
    rows = [dict(TECHS[0], title="改过的标题"), TECHS[1], dict(TECHS[2], trl=12), dict(TECHS[3], industry="C99", region="火星")]
    path = write_csv(tmp_path / "listings.csv", rows, TECH_KEYS)
    with pytest.raises(ValidationError) as ei:
        import_(exchange, path)
    errs = ei.value.errors
    assert {(e.row, e.field) for e in errs} == {(4, "trl"), (5, "industry"), (5, "region")}  # header is row 1
    assert "未导入任何数据" in ei.value.message.zh and "nothing was imported" in ei.value.message.en
    assert counts(exchange) == before
    assert listings_by_ext(exchange)["T-CBTC"].title == TECHS[0]["title"]  # the good row did not update either


def test_skip_invalid_imports_valid_rows_and_writes_report(exchange: Exchange, tmp_path: Path) -> None:
    load_orgs(exchange, tmp_path)
    rows = [TECHS[0], dict(TECHS[1], trl=0), TECHS[2], dict(TECHS[3], owner="ORG-NOBODY")]
    path = write_csv(tmp_path / "listings.csv", rows, TECH_KEYS)
    rep = import_(exchange, path, skip_invalid=True)
    assert rep.listings_created == 2
    assert set(listings_by_ext(exchange)) == {"T-CBTC", "T-AIDX"}
    assert rep.error_report == str(tmp_path / "listings.errors.csv")
    with open(rep.error_report, encoding="utf-8-sig", newline="") as fh:
        report = list(csv.reader(fh))
    assert report[0][:2] == ["行号 (row)", "列 (field)"]
    by_row = {r[0]: r for r in report[1:]}
    assert set(by_row) == {"3", "5"}
    assert by_row["3"][1] == "trl" and "1–9" in by_row["3"][3] and "between 1 and 9" in by_row["3"][4]
    assert by_row["5"][1] == "owner" and "ORG-NOBODY" in by_row["5"][3] and "does not exist" in by_row["5"][4]


def test_skip_invalid_report_path(exchange: Exchange, tmp_path: Path) -> None:
    bad = dict(ORGS[0], credit_code=ORGS[0]["credit_code"][:17] + ("0" if ORGS[0]["credit_code"][17] != "0" else "1"))
    rep = import_(exchange, write_json(tmp_path / "in.json", [bad] + ORGS[1:], []), skip_invalid=True,
                  report_path=str(tmp_path / "r.csv"))
    assert rep.organisations_created == len(ORGS) - 1 and rep.error_report == str(tmp_path / "r.csv")
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert f"校验位错误：应为 {ORGS[0]['credit_code'][17]}" in text and "credit_code" in text


def test_reimport_updates_not_duplicates(exchange: Exchange, tmp_path: Path) -> None:
    path = write_json(tmp_path / "in.json", ORGS, LISTINGS)
    import_(exchange, path)
    first = counts(exchange)
    ids = {k: v.id for k, v in listings_by_ext(exchange).items()}
    changed = [dict(x, title=x["title"] + "（修订）") for x in LISTINGS]
    rep = import_(exchange, write_json(tmp_path / "in2.json", [dict(o, name=o["name"] + "新") for o in ORGS], changed))
    assert (rep.organisations_created, rep.organisations_updated) == (0, len(ORGS))
    assert (rep.listings_created, rep.listings_updated) == (0, len(LISTINGS))
    assert counts(exchange) == first
    got = listings_by_ext(exchange)
    assert {k: v.id for k, v in got.items()} == ids
    assert all(v.title.endswith("（修订）") for v in got.values())
    assert orgs_by_ext(exchange)["ORG-WQ"].name.endswith("新")


def test_unknown_owner_is_a_row_error(exchange: Exchange, tmp_path: Path) -> None:
    path = write_json(tmp_path / "in.json", ORGS[:1], [TECHS[0], dict(TECHS[1], owner="ORG-GHOST")])
    with pytest.raises(ValidationError) as ei:
        import_(exchange, path)
    (e,) = ei.value.errors
    assert (e.row, e.field) == (2, "owner") and "ORG-GHOST" in e.message.zh
    assert counts(exchange) == (0, 0)  # the organisation and the good listing were rolled back too


def test_too_long_contact_is_a_row_error_not_a_database_error(exchange: Exchange, tmp_path: Path) -> None:
    path = write_json(tmp_path / "in.json", [dict(ORGS[0], contact_phone="1" * 60)], [])
    with pytest.raises(ValidationError) as ei:
        import_(exchange, path)
    assert [(e.row, e.field) for e in ei.value.errors] == [(1, "contact_phone")]
    assert counts(exchange) == (0, 0)


# -- bad files ---------------------------------------------------------------------------------


def _corrupt_xlsx(p: Path) -> None:
    p.write_bytes(os.urandom(2048))


def _zip_not_xlsx(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not a workbook")


def _utf16_csv(p: Path) -> None:
    p.write_bytes("name,credit_code\n北京交通大学,x\n".encode("utf-16-le"))


def _utf16_bom_csv(p: Path) -> None:
    p.write_bytes("机构名称,统一社会信用代码\n北京交通大学,x\n".encode("utf-16"))


def _missing_columns_csv(p: Path) -> None:
    write_csv(p, TECHS, ["external_id", "kind", "title", "trl"])


def _missing_columns_xlsx(p: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "机构 organisations"
    wb.active.append(["机构名称", "机构类型"])
    wb.active.append(["北京交通大学", "高校"])
    wb.save(p)


def _bad_json(p: Path) -> None:
    p.write_text('{"organisations": [{"name": "北京交通大学",}]}', encoding="utf-8")


def _wrong_json_shape(p: Path) -> None:
    p.write_text('{"orgs": 1}', encoding="utf-8")


@pytest.mark.parametrize("name,make,zh,en", [
    ("a.xlsx", _corrupt_xlsx, "已损坏", "corrupt"),
    ("b.xlsx", _zip_not_xlsx, "已损坏", "corrupt"),
    ("c.csv", _utf16_csv, "编码", "decode"),
    ("listings.csv", _missing_columns_csv, "缺少必需的列", "lacks required columns: description, industry, region, owner"),
    ("e.xlsx", _missing_columns_xlsx, "缺少必需的列：统一社会信用代码、所在地区", "credit_code, region"),
    ("f.json", _bad_json, "JSON 格式错误：第 1 行", "invalid JSON at line 1"),
    ("g.json", _wrong_json_shape, "organisations", "'listings' arrays"),
    ("h.txt", lambda p: p.write_text("x"), "不支持的文件类型", "unsupported file type"),
])
def test_bad_files(exchange: Exchange, tmp_path: Path, name: str, make: Any, zh: str, en: str) -> None:
    load_orgs(exchange, tmp_path)
    before = counts(exchange)
    p = tmp_path / name
    make(p)
    with pytest.raises(BadFile) as ei:
        import_(exchange, str(p))
    assert zh in ei.value.message.zh and en in ei.value.message.en
    assert counts(exchange) == before


def test_missing_file(exchange: Exchange, tmp_path: Path) -> None:
    with pytest.raises(BadFile, match="file not found"):
        import_(exchange, str(tmp_path / "nope.csv"))


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_templates_fill_and_import(exchange: Exchange, tmp_path: Path, fmt: str) -> None:
    reg = exchange.registry
    paths = {}
    for name, spec in (("organisation", None), ("technology", reg.get("technology")), ("scenario", reg.get("scenario"))):
        p = tmp_path / f"tongxin-template-{name}.{fmt}"
        write_template(str(p), spec, reg)
        paths[name] = p
    # the technology example's owner (ORG-EX-1) is missing: a row error until the organisation is imported
    with pytest.raises(ValidationError) as ei:
        import_(exchange, str(paths["technology"]))
    assert [(e.row, e.field) for e in ei.value.errors] == [(2, "owner")]
    # a second, filled-in row in each template
    extra = {
        "organisation": dict(ORGS[1]),
        "technology": tech("T-FILLED", "轨道交通信号安全计算机", "二乘二取二安全计算机平台。", "安全计算机", owner="ORG-WQ"),
        "scenario": scen("S-FILLED", "园区智能巡检场景", "需要轨道巡检机器人。", "巡检机器人", owner="ORG-EX-1", deadline="2027-06-30"),
    }
    for name, p in paths.items():
        if fmt == "xlsx":
            wb = openpyxl.load_workbook(p)
            ws = wb.worksheets[0]
            header = [c.value for c in ws[1]]
            assert wb.worksheets[1].title == "说明 help"
            keys = [h[h.rindex("(") + 1 : -1] for h in header]
            ws.append([extra[name].get(k) for k in keys])
            wb.save(p)
        else:
            with open(p, encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh))
            keys = [h[h.rindex("(") + 1 : -1] for h in header]
            with open(p, "a", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh).writerow(["" if extra[name].get(k) is None else extra[name].get(k) for k in keys])
    rep = import_(exchange, str(paths["organisation"]))
    assert rep.organisations_created == 2
    assert {"ORG-EX-1", "ORG-WQ"} == set(orgs_by_ext(exchange))
    assert import_(exchange, str(paths["technology"])).listings_created == 2
    assert import_(exchange, str(paths["scenario"])).listings_created == 2
    got = listings_by_ext(exchange)
    assert set(got) == {"TECHNOLOGY-EX-1", "T-FILLED", "SCENARIO-EX-1", "S-FILLED"}
    ex1 = got["TECHNOLOGY-EX-1"]
    assert ex1.attrs["patents"] == [{"number": "CN202310123456.6", "status": "granted"}]
    assert ex1.attrs["transfer_modes"] == ["license", "co_develop"] and ex1.attrs["trl"] == 6
    assert got["S-FILLED"].attrs["deadline"] == dt.date(2027, 6, 30)


def test_scenario_csv_with_a_neutral_file_name(exchange: Exchange, tmp_path: Path) -> None:
    """A mixed-kind table must not demand technology-only columns from a file of scenarios."""
    reg = exchange.registry
    write_template(str(tmp_path / "o.csv"), None, reg)
    write_template(str(tmp_path / "需求清单.csv"), reg.get("scenario"), reg)
    import_(exchange, str(tmp_path / "o.csv"))
    assert import_(exchange, str(tmp_path / "需求清单.csv")).listings_created == 1


# -- round trips -------------------------------------------------------------------------------


def snapshot(ex: Exchange) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Canonical, id-free view of everything in the database."""
    reg = ex.registry
    cols = listing_columns(None, reg)
    with ex.db.transaction(write=False) as s:
        orgs = sorted((org_record(o) for o in repo.list_organisations(s)), key=lambda r: r["credit_code"])
        lst = sorted((listing_record(x, reg, cols) for x in repo.iter_listings(s, reg)), key=lambda r: json.dumps(r, ensure_ascii=False, default=str))
    return orgs, lst


def file_data(path: str) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(t.name, [dict(zip(t.headers, cells, strict=False)) for _, cells in t.rows]) for t in read_tables(path)]


def export_all(ex: Exchange, path: str, what: str = "all") -> None:
    with ex.db.transaction(write=False) as s:
        export_data(path, repo.list_organisations(s), list(repo.iter_listings(s, ex.registry)), ex.registry, what=what)


def clear(ex: Exchange) -> None:
    with ex.db.transaction() as s:
        for m in (ListingChangeRow, ListingRow, OrganisationRow):
            s.execute(delete(m))


def round_trip(a: Exchange, b: Exchange, d: Path) -> None:
    """Export a → import into an empty b → export b: same data at every step, in every format."""
    d.mkdir(parents=True, exist_ok=True)
    want = snapshot(a)
    for fmt in ("json", "xlsx", "csv"):
        clear(b)
        if fmt == "csv":
            export_all(a, str(d / "orgs-1.csv"), "organisations")
            export_all(a, str(d / "listings-1.csv"), "listings")
            import_(b, str(d / "orgs-1.csv"))
            import_(b, str(d / "listings-1.csv"))
            export_all(b, str(d / "orgs-2.csv"), "organisations")
            export_all(b, str(d / "listings-2.csv"), "listings")
            assert file_data(str(d / "orgs-1.csv"))[0][1] == file_data(str(d / "orgs-2.csv"))[0][1]
            assert file_data(str(d / "listings-1.csv"))[0][1] == file_data(str(d / "listings-2.csv"))[0][1]
        else:
            export_all(a, str(d / f"out-1.{fmt}"))
            import_(b, str(d / f"out-1.{fmt}"))
            export_all(b, str(d / f"out-2.{fmt}"))
            assert file_data(str(d / f"out-1.{fmt}")) == file_data(str(d / f"out-2.{fmt}")), fmt
        assert snapshot(b) == want, fmt


@pytest.fixture
def second(db_url: str, tmp_path: Path) -> Iterator[Exchange]:
    """A second, empty database on the same backend."""
    with ExitStack() as stack:
        url = "sqlite:///" + str(tmp_path / "second.db") if db_url.startswith("sqlite") else stack.enter_context(pg_schema_url())
        ex = Exchange(Database(url), str(tmp_path / "index2"))
        ex.init_db()
        yield ex
        ex.close()


def test_round_trip_fixture_data(exchange: Exchange, second: Exchange, tmp_path: Path) -> None:
    odd = tech("T-ODD", "=1+1 公式样的标题", "含逗号,引号\"和\n换行的描述", "CBTC", patents="CN202310123456.6(审查中)", team="张三、李四\n王五")
    import_(exchange, write_json(tmp_path / "in.json", ORGS, LISTINGS + [odd]))
    round_trip(exchange, second, tmp_path / "rt")
    got = listings_by_ext(second)
    assert got["T-ODD"].title == "=1+1 公式样的标题" and got["T-ODD"].description == "含逗号,引号\"和\n换行的描述"


# hypothesis strategies ------------------------------------------------------------------------

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ASCII = st.sampled_from(list("abcXYZ019 -_.()（）：=+\"'\t\x0b\x07"))
WORD = st.text(alphabet=HAN | st.sampled_from(list("abcXYZ0- ;、\x0b")), min_size=1, max_size=8)


def text(max_size: int = 30, newlines: bool = False) -> st.SearchStrategy[str]:
    alpha = HAN | ASCII | st.sampled_from(["\n", "\r", "；", ","]) if newlines else HAN | ASCII | st.sampled_from(["；", ","])
    return st.text(alphabet=alpha, min_size=1, max_size=max_size).filter(clean_text)


def optional(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


REGION_CODES = sorted(regions.REGIONS)
INDUSTRY_CODES = sorted(industries.INDUSTRIES)
DATES = st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))
# 万元 to the yuan (4 decimals): Excel and openpyxl keep only 15–16 significant digits of a float
MONEY = st.integers(0, 10**11).map(lambda n: n / 10**4) | st.integers(0, 100000)


@st.composite
def patent(draw: Any) -> dict[str, str]:
    digits = f"{draw(st.integers(1985, 2030))}{draw(st.sampled_from('123'))}{draw(st.integers(0, 9999999)):07d}"
    return {"number": f"CN{digits}.{patent_check_digit(digits)}", "status": draw(st.sampled_from([c.value for c in PATENT_STATUSES]))}


@st.composite
def price_range(draw: Any, lo: str, hi: str) -> dict[str, Any]:
    a, b = draw(optional(MONEY)), draw(optional(MONEY))
    if a is not None and b is not None and a > b:
        a, b = b, a
    return {k: v for k, v in ((lo, a), (hi, b)) if v is not None}


@st.composite
def organisation(draw: Any, i: int, with_ext: bool) -> dict[str, Any]:
    prefix = draw(st.sampled_from(["91", "12", "52", "11"])) + draw(st.sampled_from(REGION_CODES[:60]))
    prefix += draw(st.text(alphabet=credit_code.CHARSET, min_size=8, max_size=8)) + f"{i % 10}"
    return {
        "external_id": f"ORG-{i}" if with_ext else None,
        "name": draw(text(40)),
        "credit_code": credit_code.make(prefix),
        "org_type": draw(st.sampled_from([c.value for c in ORG_TYPES] + [c.zh for c in ORG_TYPES])),
        "region": draw(st.sampled_from(REGION_CODES)),
        "industry": draw(optional(st.sampled_from(INDUSTRY_CODES))),
        "description": draw(optional(text(60, newlines=True))),
        "contact_name": draw(optional(text(10))),
        "contact_phone": draw(optional(st.from_regex(r"0\d{2,3}-\d{7,8}|1\d{10}", fullmatch=True))),
        "website": draw(optional(st.just("https://example.cn/") | st.just(""))),
    }


@st.composite
def listing(draw: Any, i: int, owners: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["technology", "scenario"]))
    start = draw(optional(DATES))
    end = draw(optional(DATES))
    if start and end and end < start:
        start, end = end, start
    attrs: dict[str, Any]
    if kind == "technology":
        attrs = {"trl": draw(st.integers(1, 9)),
                 "transfer_modes": draw(st.lists(st.sampled_from([c.value for c in TRANSFER_MODES]), min_size=1, max_size=3, unique=True)),
                 "patents": draw(st.lists(patent(), max_size=3)),
                 "team": draw(optional(text(40, newlines=True))), "contact": draw(optional(text(20)))}
        attrs.update(draw(price_range("price_min", "price_max")))
    else:
        attrs = {"problem": draw(optional(text(60, newlines=True))), "expected_outcome": draw(optional(text(40))),
                 "required_trl": draw(optional(st.integers(1, 9))), "deadline": draw(optional(DATES.map(dt.date.isoformat))),
                 "site": draw(optional(text(20)))}
        attrs.update(draw(price_range("budget_min", "budget_max")))
    return {
        "external_id": draw(st.sampled_from([f"L-{i}", None])),
        "kind": kind,
        "title": draw(text(40)),
        "description": draw(text(80, newlines=True)),
        "keywords": draw(st.lists(WORD, max_size=5)),
        "industry": draw(st.sampled_from(INDUSTRY_CODES)),
        "region": draw(st.sampled_from(REGION_CODES)),
        "owner": draw(st.sampled_from(owners)),
        "visibility": draw(st.sampled_from([c.value for c in VISIBILITIES])),
        "status": draw(st.sampled_from([c.value for c in STATUSES])),
        "valid_from": start.isoformat() if start else None,
        "valid_until": end.isoformat() if end else None,
        "summary": draw(optional(text(30))),
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }


@st.composite
def dataset(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    n = draw(st.integers(1, 4))
    orgs = [draw(organisation(i, with_ext=i == 0 or draw(st.booleans()))) for i in range(n)]
    codes = [o["credit_code"] for o in orgs]
    if len(set(codes)) != len(codes):  # two drawn codes can coincide: keep the first
        orgs = [o for i, o in enumerate(orgs) if o["credit_code"] not in codes[:i]]
    owners = [o["external_id"] for o in orgs if o["external_id"]]
    listings = [draw(listing(i, owners)) for i in range(draw(st.integers(0, 6)))]
    return orgs, listings


@settings(max_examples=int(os.environ.get("TX_EXAMPLES", "15")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=dataset())
def test_round_trip_property(exchange: Exchange, second: Exchange, tmp_path: Path, data: Any) -> None:
    orgs, listings = data
    clear(exchange)
    d = tmp_path / uuid.uuid4().hex[:8]
    d.mkdir()
    rep = import_(exchange, write_json(d / "in.json", orgs, listings))
    assert (rep.organisations_created, rep.listings_created) == (len(orgs), len(listings))
    # what landed in the database is what was generated, after validation
    want = sorted(
        json.dumps(listing_record(validate_listing(x, exchange.registry), exchange.registry, listing_columns(None, exchange.registry)),
                    ensure_ascii=False, sort_keys=True, default=str) for x in listings)
    got_orgs, got_listings = snapshot(exchange)
    assert sorted(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in got_listings) == want
    assert got_orgs == sorted((org_record(validate_organisation(o)) for o in orgs), key=lambda r: r["credit_code"])
    round_trip(exchange, second, d)


def test_credit_code_of_another_organisation_is_a_row_error(exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Re-importing org A with org B's credit code is refused with the row, not a database crash."""
    import json as _json

    from factories import ORGS

    from tongxin.core.errors import ValidationError as _VE
    from tongxin.services.importing import import_file as _import

    path = str(tmp_path / "clash.json")
    with open(path, "w", encoding="utf-8") as fh:
        _json.dump({"organisations": ORGS[:2]}, fh, ensure_ascii=False)
    _import(exchange.db, exchange.registry, path)
    clash = dict(ORGS[0], credit_code=ORGS[1]["credit_code"])
    with open(path, "w", encoding="utf-8") as fh:
        _json.dump({"organisations": [clash]}, fh, ensure_ascii=False)
    with pytest.raises(_VE) as e:
        _import(exchange.db, exchange.registry, path)
    assert e.value.errors[0].row == 1 and e.value.errors[0].field == "credit_code"
    assert "ORG-WQ" in e.value.errors[0].message.zh and "already belongs" in e.value.errors[0].message.en
    rep = _import(exchange.db, exchange.registry, path, skip_invalid=True)
    assert rep.organisations_updated == 0 and len(rep.errors) == 1
