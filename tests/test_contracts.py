"""Technology contracts: row-level validation, all-or-nothing import, registration package (XLSX + PDF)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from factories import ORGS, load
from pdf_support import assert_font_as_chosen, pdf_text

from tongxin.core.contracts import validate_contract
from tongxin.core.errors import ValidationError
from tongxin.fileio.contracts import contract_columns, write_contracts_xlsx
from tongxin.services import Exchange
from tongxin.services import contracts as C
from tongxin.services.contracts import contract_rows
from tongxin.services.importing import import_contracts
from tongxin.storage import deals_repo as R

BJTU, WQ, TIB = (o["credit_code"] for o in ORGS[:3])
TODAY = dt.date(2025, 12, 31)


def row(no: str, **over: object) -> dict[str, object]:
    d: dict[str, object] = {"contract_no": no, "title": "CBTC列车控制系统技术许可合同", "contract_type": "技术许可", "seller": BJTU, "buyer": WQ,
                            "amount": 1200, "tech_amount": 1100, "signed_on": "2025-06-30", "park": "武清京津产业新城", "industry": "C37",
                            "listings": "T-CBTC", "registration_no": "20251201140001", "registered_on": "2025-07-15"}
    d.update(over)
    return d


def test_validation_names_the_fix() -> None:
    c = validate_contract(row("A-1"), today=TODAY)
    assert (c.amount_yuan, c.tech_amount_yuan, c.contract_type, c.listing_refs) == (12_000_000, 11_000_000, "licence", ["T-CBTC"])
    assert validate_contract(row("A-2", tech_amount=""), today=TODAY).tech_amount_yuan == 12_000_000
    with pytest.raises(ValidationError) as e:
        validate_contract(row("A-3", tech_amount=1500, contract_type="技术买卖", buyer=BJTU, signed_on="2026-01-05"), row=7, today=TODAY)
    errs = {x.field: x for x in e.value.errors}
    assert set(errs) == {"contract_type", "buyer", "tech_amount", "signed_on", "registered_on"}
    assert str(errs["tech_amount"]) == ("第 7 行 ‘tech_amount’ 技术交易额 1500 万元大于合同成交额 1200 万元，应不超过合同成交额 / "
                                        "Row 7, tech_amount: technology-transaction amount 1500 exceeds the contract amount 1200; it must not")
    assert errs["contract_type"].message.zh == "合同类型 ‘技术买卖’ 无效，可选：技术开发、技术转让、技术许可、技术咨询、技术服务"
    assert errs["buyer"].message.en == "buyer and seller must be different organisations"


def _xlsx(path: str, rows: list[dict[str, object]]) -> str:
    keys = [c.key for c in contract_columns()]
    write_contracts_xlsx(path, [[r.get(k, "") for k in keys] for r in rows])
    return path


def _count(ex: Exchange) -> int:
    with ex.db.transaction(write=False) as s:
        return len(R.list_contracts(s))


def test_import_is_all_or_nothing_with_row_errors(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load(exchange)
    bad = _xlsx(str(tmp_path / "c.xlsx"), [row("A-1"), row("A-2", seller="91110000MA00000000", registration_no="", registered_on=""),
                                           row("A-3", listings="T-NONE", registration_no="20251201140001"), row("A-1", registration_no="", registered_on="")])
    with pytest.raises(ValidationError) as e:
        import_contracts(exchange.db, bad, today=TODAY)
    got = [(x.row, x.field) for x in e.value.errors]
    assert got == [(3, "seller"), (4, "registration_no"), (5, "contract_no")]
    assert e.value.message.zh == "文件中有 3 处错误，未导入任何合同"
    assert _count(exchange) == 0
    rep = import_contracts(exchange.db, bad, skip_invalid=True, today=TODAY)
    assert (rep.created, len(rep.errors)) == (1, 3) and rep.error_report
    with open(rep.error_report, encoding="utf-8-sig") as fh:
        assert fh.read().count("\n") == 4
    # the unknown listing shows when the duplicate registration number is gone
    with pytest.raises(ValidationError) as e:
        import_contracts(exchange.db, _xlsx(str(tmp_path / "d.xlsx"), [row("A-3", listings="T-NONE", registration_no="", registered_on="")]), today=TODAY)
    assert e.value.errors[0].message.zh == "关联资源不存在：T-NONE。请填写平台上资源的外部编号或 ID"


def test_export_round_trips_and_reimport_updates(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load(exchange)
    src = _xlsx(str(tmp_path / "c.xlsx"), [row("A-1"), row("A-2", seller=TIB, buyer=WQ, contract_type="development", amount=88.5, tech_amount="",
                                                        listings="", registration_no="", registered_on="", park="")])
    assert import_contracts(exchange.db, src, today=TODAY).created == 2
    with exchange.db.transaction(write=False) as s:
        rows = contract_rows(s, list(reversed(R.list_contracts(s))))
    assert rows[0][:5] == ["A-1", "CBTC列车控制系统技术许可合同", "licence", BJTU, WQ] and rows[0][10] == "T-CBTC"
    out = str(tmp_path / "out.xlsx")
    write_contracts_xlsx(out, rows)
    rep = import_contracts(exchange.db, out, today=TODAY)
    assert (rep.created, rep.updated) == (0, 2)
    with exchange.db.transaction(write=False) as s:
        assert contract_rows(s, list(reversed(R.list_contracts(s)))) == rows


def test_registration_package_xlsx_and_pdf(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load(exchange)
    import_contracts(exchange.db, _xlsx(str(tmp_path / "c.xlsx"), [row("A-1")]), today=TODAY)
    with exchange.db.transaction(write=False) as s:
        cid = R.contract_by_no(s, "A-1").id  # type: ignore[union-attr]
        no, sections = C.package_sections(s, cid)
    flat = {zh: v for _, _, rows in sections for zh, _, v in rows}
    assert flat["合同类型"] == "技术许可" and flat["合同成交额（万元）"] == "1200.00" and flat["技术交易额（万元）"] == "1100.00"
    assert flat["名称"] in ("北京交通大学", "交控技术装备有限公司") and flat["登记编号"] == "20251201140001"
    assert flat["是否跨省市交易"] == "是" and "T-CBTC" in flat["关联资源"]
    ws = openpyxl.load_workbook(io.BytesIO(C.package_xlsx(sections, no))).active
    values = [c for r in ws.iter_rows(values_only=True) for c in r if c]
    assert "北京交通大学" in values and "交控技术装备有限公司" in values and "20251201140001" in values
    pdf = C.package_pdf(sections, no)
    assert_font_as_chosen(pdf, tmp_path)  # embedded TrueType CJK font if installed, else the built-in STSong-Light
    text = pdf_text(pdf, tmp_path)
    assert "技术合同认定登记材料" in text and "北京交通大学" in text
