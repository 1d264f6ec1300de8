"""Import and export technology contracts (技术合同) with the same row-level validation as listings:
every problem reported with row, column, value, problem and fix (Chinese and English); all or
nothing by default, `skip_invalid` imports the valid rows and writes an error report."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..core.contracts import CONTRACT_COLUMNS, ContractInput, validate_contract, yuan_to_wan
from ..core.errors import BadFile, FieldError, Message, ValidationError
from ..storage import deals_repo as R
from ..storage.db import Database
from ..storage.models_deals import DealRow, TechContractRow
from .columns import Column, header_map
from .importer import write_error_report
from .readers import read_tables
from .safe_cells import csv_row, xlsx_row


def contract_columns() -> list[Column]:
    return [Column(k, zh, h, r) for k, zh, h, r in CONTRACT_COLUMNS]


@dataclass
class ContractImportReport:
    created: int = 0
    updated: int = 0
    errors: list[FieldError] = field(default_factory=list)
    error_report: str | None = None

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _err(row: int, key: str, value: Any, zh: str, en: str) -> FieldError:
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
                errors.append(_err(rownum, "contract_no", c.contract_no, f"合同编号 {c.contract_no} 与第 {seen[c.contract_no]} 行重复，请删除重复行或更正编号",
                                   f"contract number {c.contract_no} repeats row {seen[c.contract_no]}; remove the duplicate or correct the number"))
                continue
            if c.registration_no and c.registration_no in seen_reg:
                errors.append(_err(rownum, "registration_no", c.registration_no,
                                   f"登记编号 {c.registration_no} 与第 {seen_reg[c.registration_no]} 行重复，请更正",
                                   f"registration number {c.registration_no} repeats row {seen_reg[c.registration_no]}; correct it"))
                continue
            seen[c.contract_no] = rownum
            if c.registration_no:
                seen_reg[c.registration_no] = rownum
            out.append((rownum, c))
    return out, errors


def resolve(s: Session, rows: list[tuple[int, ContractInput]]) -> tuple[list[tuple[int, ContractInput, R.OrgBrief, R.OrgBrief, list[int]]], list[FieldError]]:
    """Check the references against the database: parties, listings, deal, registration number."""
    orgs = R.orgs_by_credit_code(s, [c.seller_code for _, c in rows] + [c.buyer_code for _, c in rows])
    listing_ids = R.listing_ids_by_ref(s, [ref for _, c in rows for ref in c.listing_refs])
    deal_ids = {c.deal_id for _, c in rows if c.deal_id is not None}
    deals = {i for (i,) in s.execute(DealRow.__table__.select().with_only_columns(DealRow.id).where(DealRow.id.in_(list(deal_ids))))} if deal_ids else set()
    regs = [c.registration_no for _, c in rows if c.registration_no]
    taken: dict[str, str] = {}
    if regs:
        t = TechContractRow.__table__
        for reg, no in s.execute(t.select().with_only_columns(t.c.registration_no, t.c.contract_no).where(t.c.registration_no.in_(regs))):
            taken[reg] = no
    ok = []
    errors: list[FieldError] = []
    for rownum, c in rows:
        row_errors = []
        for key, zh, code in (("seller", "卖方", c.seller_code), ("buyer", "买方", c.buyer_code)):
            if code not in orgs:
                row_errors.append(_err(rownum, key, code, f"{zh}统一社会信用代码 {code} 不在平台机构名录中：请先导入该机构（tongxin import）或更正代码",
                                       f"{key} credit code {code} is not an organisation on the platform: import it first (tongxin import) or correct the code"))
        missing = [ref for ref in c.listing_refs if ref not in listing_ids]
        if missing:
            row_errors.append(_err(rownum, "listings", "；".join(missing), "关联资源不存在：" + "、".join(missing) + "。请填写平台上资源的外部编号或 ID",
                                   "linked listings not found: " + ", ".join(missing) + ". Use the external id or id of a listing on the platform"))
        if c.deal_id is not None and c.deal_id not in deals:
            row_errors.append(_err(rownum, "deal_id", c.deal_id, f"关联洽谈 {c.deal_id} 不存在，请更正或留空",
                                   f"deal {c.deal_id} does not exist; correct it or leave it empty"))
        if c.registration_no and taken.get(c.registration_no, c.contract_no) != c.contract_no:
            row_errors.append(_err(rownum, "registration_no", c.registration_no,
                                   f"登记编号 {c.registration_no} 已用于合同 {taken[c.registration_no]}，请更正",
                                   f"registration number {c.registration_no} is already used by contract {taken[c.registration_no]}; correct it"))
        if row_errors:
            errors.extend(row_errors)
        else:
            ok.append((rownum, c, orgs[c.seller_code], orgs[c.buyer_code], [listing_ids[ref] for ref in c.listing_refs]))
    return ok, errors


def _nothing(n: int) -> ValidationError:
    return ValidationError(Message(f"文件中有 {n} 处错误，未导入任何合同", f"{n} error(s) in the file; no contract was imported"), [])


def import_contracts(db: Database, path: str, skip_invalid: bool = False, report_path: str | None = None,
                     today: dt.date | None = None) -> ContractImportReport:
    rows, errors = parse_contract_file(path, today)
    if errors and not skip_invalid:
        e = _nothing(len(errors))
        e.errors = errors
        raise e
    rep = ContractImportReport()
    with db.transaction() as s:
        ok, ref_errors = resolve(s, rows)
        errors = sorted(errors + ref_errors, key=lambda fe: (fe.row or 0, fe.field))
        if errors and not skip_invalid:
            e = _nothing(len(errors))
            e.errors = errors
            raise e
        for _rownum, c, seller, buyer, lids in ok:
            _, created = R.upsert_contract(s, c, seller, buyer, lids)
            rep.created += created
            rep.updated += not created
    rep.errors = errors
    if errors:
        rep.error_report = report_path or (os.path.splitext(path)[0] + ".errors.csv")
        write_error_report(errors, rep.error_report)
    return rep


def contract_rows(s: Session, contracts: list[TechContractRow]) -> list[list[Any]]:
    """Rows in the import layout (round-trips through `import_contracts`)."""
    orgs = R.orgs_by_id(s, [c.seller_org_id for c in contracts] + [c.buyer_org_id for c in contracts])
    links = R.contract_listing_ids(s, [c.id for c in contracts])
    titles = R.listing_titles(s, sorted({i for v in links.values() for i in v}))
    out = []
    for c in contracts:
        refs = [titles[i][1] or str(i) for i in links.get(c.id, []) if i in titles]
        out.append([c.contract_no, c.title, c.contract_type, orgs[c.seller_org_id].credit_code, orgs[c.buyer_org_id].credit_code,
                    yuan_to_wan(c.amount_yuan), yuan_to_wan(c.tech_amount_yuan), c.signed_on.isoformat(), c.park, c.industry or "",
                    ";".join(refs), "" if c.deal_id is None else c.deal_id, c.registration_no or "",
                    c.registered_on.isoformat() if c.registered_on else ""])
    return out


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
