"""Mark licence files: the XLSX a mark owner keeps (one licence a row) read into checked rows, and
the template to fill in. Parsing only: writing the licences is `services.licences.import_licences`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..core.certification import licence_problems, normalise_licence_no
from ..core.errors import BadFile, FieldError, Message
from .columns import Column, header_map, suggest, write_template
from .readers import read_tables

LICENCE_COLUMNS = [
    Column("licence_no", "许可编号", "licence number printed on the packaging, e.g. XZD-2026-001 (unique)", True),
    Column("mark", "认证标志", "the mark's code or name, e.g. XZD-GI", True),
    Column("licensee", "被许可机构", "the licensee: its unified social credit code (统一社会信用代码) or exact name on the platform", True),
    Column("products", "许可产品范围", "the products the licence covers, e.g. 小站稻大米", True),
    Column("valid_from", "起始日期", "first day, e.g. 2026-01-01", True),
    Column("valid_until", "截止日期", "last day, e.g. 2028-12-31", True),
]
EXAMPLE = ["XZD-2026-101", "XZD-GI", "91120112MA05XXXX0X", "小站稻大米", "2026-01-01", "2028-12-31"]


@dataclass(frozen=True)
class LicenceInput:
    row: int
    licence_no: str
    mark: str
    licensee: str
    products: str
    valid_from: dt.date | None  # None only on a row with errors
    valid_until: dt.date | None
    ok: bool = True  # False: the row has errors of its own (its mark and licensee are still checked)


def _date(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw or "").strip().replace("/", "-").replace(".", "-")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in " T" else text)
    except ValueError:
        raise ValueError(text) from None


def parse_licence_file(path: str) -> tuple[list[LicenceInput], list[FieldError]]:
    """Every row of every sheet checked (no database needed): (rows, errors naming row, field and fix). Rows with
    errors come back too (ok=False), so that their mark and licensee can be checked against the database as well."""
    out: list[LicenceInput] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    any_rows = False
    for t in read_tables(path, is_header=lambda h: bool(header_map([h], LICENCE_COLUMNS)[0])):
        if not t.rows or t.name.startswith("说明"):
            continue
        keys, unknown = header_map(t.headers, LICENCE_COLUMNS)
        need = [c for c in LICENCE_COLUMNS if c.required and c.key not in keys.values()]
        if need:
            raise BadFile(Message(
                f"工作表 ‘{t.name}’ 缺少必需的列：" + "、".join(c.zh for c in need) + "。请使用许可导入模板（tongxin resources licence template）",
                f"sheet '{t.name}' lacks required columns: " + ", ".join(c.key for c in need) + ". Use the licence template (tongxin resources licence template)"))
        for h in unknown:
            c = suggest(h, LICENCE_COLUMNS)
            hint_zh, hint_en = (f"，是否为 ‘{c.zh}’", f"; did you mean '{c.zh}' ({c.key})") if c is not None else ("", "")
            errors.append(FieldError(h, Message(f"不是许可模板中的列{hint_zh}？请改为模板列名或删除此列",
                                                f"is not a column of the licence template{hint_en}? Rename it as in the template or remove it"), h, t.header_row))
        for rownum, cells in t.rows:
            rec = {key: cells[i] for i, key in keys.items() if i < len(cells)}
            if all(v is None or str(v).strip() == "" for v in rec.values()):
                continue
            any_rows = True
            row_errors: list[FieldError] = []
            dates: dict[str, dt.date | None] = {}
            for k in ("valid_from", "valid_until"):
                try:
                    dates[k] = _date(rec.get(k))
                except ValueError as e:
                    dates[k] = None
                    row_errors.append(FieldError(k, Message(f"日期应为 2026-01-01 的形式，实际为 ‘{e}’", f"a date looks like 2026-01-01; got '{e}'"), str(e), rownum))
            no = normalise_licence_no(rec.get("licence_no"))
            products = str(rec.get("products") or "").strip()
            row_errors.extend(e for e in licence_problems(no, dates["valid_from"], dates["valid_until"], products, rownum)
                              if not (e.field in dates and any(x.field == e.field for x in row_errors)))
            mark, licensee = str(rec.get("mark") or "").strip(), str(rec.get("licensee") or "").strip()
            if not mark:
                row_errors.append(FieldError("mark", Message("请填写‘认证标志’编码，如 XZD-GI", "give the mark's code, e.g. XZD-GI"), None, rownum))
            if not licensee:
                row_errors.append(FieldError("licensee", Message("请填写‘被许可机构’的统一社会信用代码或全称", "give the licensee's credit code or full name"),
                                             None, rownum))
            if no and no in seen:
                row_errors.append(FieldError("licence_no", Message(f"许可编号 {no} 与第 {seen[no]} 行重复，请删除重复行或更正编号",
                                                                   f"licence number {no} repeats row {seen[no]}; remove the duplicate or correct the number"), no, rownum))
            errors.extend(row_errors)
            seen.setdefault(no, rownum)
            out.append(LicenceInput(rownum, no, mark, licensee, products, dates["valid_from"], dates["valid_until"], not row_errors))
    if not any_rows and not errors:
        raise BadFile(Message("文件中没有许可数据行，请在模板表头下逐行填写", "the file holds no licence rows; fill one licence a row under the template headers"))
    return out, errors


def write_licence_template(path: str, rows: list[list[Any]] | None = None) -> None:
    """The import template (.xlsx): headers "中文 (key)", an example row, and a help sheet."""
    write_template(path, "许可 licences", LICENCE_COLUMNS, rows if rows is not None else [EXAMPLE],
                   "整份文件全部通过核验才会导入；已有的许可编号按本行更新有效期与产品范围",
                   "the whole file is checked before anything is written; an existing licence number is updated from its row")
