"""Technology-contract (技术合同) files: read and validate the rows of an import (the same row-level
validation as listings: every problem reported with row, column, value, problem and fix, in
Chinese and English) and write exports and the import template.

Checking the rows against the database and writing them (all or nothing by default) is a service:
`services.importing.import_contracts`."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from ..core.contracts import CONTRACT_COLUMNS, ContractInput, validate_contract
from ..core.errors import BadFile, FieldError, Message, ValidationError
from .columns import Column, header_map
from .readers import read_tables
from .safe_cells import csv_row, xlsx_row


def contract_columns() -> list[Column]:
    return [Column(k, zh, h, r) for k, zh, h, r in CONTRACT_COLUMNS]


def row_error(row: int, key: str, value: Any, zh: str, en: str) -> FieldError:
    return FieldError(key, Message(zh, en), value, row)


def parse_contract_file(path: str, today: dt.date | None = None) -> tuple[list[tuple[int, ContractInput]], list[FieldError]]:
    """Read and validate every row of every sheet (no database needed)."""
    cols = contract_columns()
    out: list[tuple[int, ContractInput]] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    seen_reg: dict[str, int] = {}
    for t in read_tables(path):
        if not t.rows:
            continue
        keys, _unknown = header_map(t.headers, cols)
        need = [c for c in cols if c.required and c.key not in keys.values()]
        if need:
            raise BadFile(Message(
                f"工作表 ‘{t.name}’ 缺少必需的列：" + "、".join(c.zh for c in need) + "。请使用 tongxin contracts template 生成的模板",
                f"sheet '{t.name}' lacks required columns: " + ", ".join(c.key for c in need) + ". Use the template from `tongxin contracts template`"))
        for rownum, cells in t.rows:
            rec = {key: (cells[i].strip() if isinstance(cells[i], str) else cells[i]) for i, key in keys.items() if i < len(cells)}
            try:
                c = validate_contract(rec, row=rownum, today=today)
            except ValidationError as e:
                errors.extend(e.errors)
                continue
            if c.contract_no in seen:
                errors.append(row_error(rownum, "contract_no", c.contract_no, f"合同编号 {c.contract_no} 与第 {seen[c.contract_no]} 行重复，请删除重复行或更正编号",
                                   f"contract number {c.contract_no} repeats row {seen[c.contract_no]}; remove the duplicate or correct the number"))
                continue
            if c.registration_no and c.registration_no in seen_reg:
                errors.append(row_error(rownum, "registration_no", c.registration_no,
                                   f"登记编号 {c.registration_no} 与第 {seen_reg[c.registration_no]} 行重复，请更正",
                                   f"registration number {c.registration_no} repeats row {seen_reg[c.registration_no]}; correct it"))
                continue
            seen[c.contract_no] = rownum
            if c.registration_no:
                seen_reg[c.registration_no] = rownum
            out.append((rownum, c))
    return out, errors


def check_contracts_path(path: str) -> str:
    """The export format from the file name: 'csv' or 'xlsx'; any other suffix is a clear error."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise BadFile(Message(f"不支持的文件类型 ‘{ext or path}’：技术合同可导出为 .xlsx 或 .csv（例如 contracts.xlsx）",
                              f"unsupported file type '{ext or path}': contracts export to .xlsx or .csv (e.g. contracts.xlsx)"))
    return ext[1:]


def write_contracts(path: str, rows: list[list[Any]]) -> None:
    """Write contracts in the import layout: real CSV (UTF-8 with BOM, so Excel reads the Chinese) or XLSX."""
    if check_contracts_path(path) == "xlsx":
        write_contracts_xlsx(path, rows)
        return
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.header for c in contract_columns()])
        w.writerows(csv_row(r) for r in rows)


def write_contracts_xlsx(path: str, rows: list[list[Any]], template: bool = False) -> None:
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    cols = contract_columns()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "技术合同"
    ws.append([c.header for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for r in rows:
        ws.append(xlsx_row(ws, r))
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = max(12, min(40, len(c.header) * 2))
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("说明 help")
    help_ws.append(["列 column", "必填 required", "说明 help"])
    for c in cols:
        help_ws.append(xlsx_row(help_ws, [c.header, "是 yes" if c.required else "", c.help]))
    if template:
        help_ws.append([])
        help_ws.append(["金额单位为万元；卖方/买方填写平台上已有机构的统一社会信用代码", "", "amounts in 10,000 yuan; parties by credit code"])
    wb.save(path)
