"""Organisation-facts files: the XLSX operators fill for many firms at once (one organisation a row,
named by its credit code), read into checked rows, and the template to fill in. Parsing only: writing
the facts is `services.org_facts.import_facts`.

A blank cell leaves that fact as it is (the file adds or corrects figures; it never clears one)."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..core import credit_code as cc
from ..core.errors import BadFile, FieldError, Message
from ..core.fields import parse_date
from ..core.org_facts import CERTIFICATIONS, FACT_FIELDS, check_facts
from .columns import Column, header_map, suggest, write_template
from .readers import read_tables

FACT_COLUMNS = [
    Column("credit_code", "统一社会信用代码", "the organisation's unified social credit code (18 characters); it must be registered on the platform", True),
    Column("name", "机构名称", "the organisation's name as on the platform (optional; checked when given)", False),
    Column("employees", "员工人数", "headcount (people), a whole number, e.g. 120", False),
    Column("revenue", "上年营业收入", "last year's revenue in 万元 (10k CNY), e.g. 3500.5", False),
    Column("founded", "成立日期", "founding date, e.g. 2016-03-01", False),
    Column("rd_spending", "上年研发投入", "last year's R&D spending in 万元 (10k CNY), e.g. 300", False),
    Column("certifications", "资质认定", "certifications separated by 、 e.g. 高新技术企业、专精特新中小企业; one of: " + "、".join(CERTIFICATIONS), False),
]
EXAMPLE = ["91130100MA0XXXXXXX", "石家庄药业集团有限公司", 120, 3500.5, "2016-03-01", 300, "高新技术企业、专精特新中小企业"]
_FACT_KEYS = [k for k in FACT_FIELDS]


@dataclass(frozen=True)
class FactsInput:
    row: int
    credit_code: str
    name: str
    changes: dict[str, Any]  # checked fact values (core.org_facts keys); blank cells are absent


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def parse_facts_file(path: str, today: dt.date) -> tuple[list[FactsInput], list[FieldError]]:
    """Every row checked (no database needed): (rows, errors naming row, column and fix in Chinese and English)."""
    out: list[FactsInput] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    any_rows = False
    for t in read_tables(path, is_header=lambda h: bool(header_map([h], FACT_COLUMNS)[0])):
        if not t.rows or t.name.startswith("说明"):
            continue
        keys, unknown = header_map(t.headers, FACT_COLUMNS)
        if "credit_code" not in keys.values():
            raise BadFile(Message(
                f"工作表 ‘{t.name}’ 缺少必需的列：统一社会信用代码。请使用机构基本情况导入模板（tongxin orgs facts-template）",
                f"sheet '{t.name}' lacks the required column credit_code. Use the facts template (tongxin orgs facts-template)"))
        for h in unknown:
            c = suggest(h, FACT_COLUMNS)
            hint_zh, hint_en = (f"，是否为 ‘{c.zh}’", f"; did you mean '{c.zh}' ({c.key})") if c is not None else ("", "")
            errors.append(FieldError(h, Message(f"不是机构基本情况模板中的列{hint_zh}？请改为模板列名或删除此列",
                                                f"is not a column of the facts template{hint_en}? Rename it as in the template or remove it"), h, t.header_row))
        for rownum, cells in t.rows:
            rec = {key: cells[i] for i, key in keys.items() if i < len(cells)}
            if all(_blank(v) for v in rec.values()):
                continue
            any_rows = True
            row_errors: list[FieldError] = []
            code = cc.normalise(str(rec.get("credit_code") or ""))
            if not code:
                row_errors.append(FieldError("credit_code", Message("请填写‘统一社会信用代码’（18 位）", "give the credit code (18 characters)"), None, rownum))
            elif (p := cc.problem(code)) is not None:
                row_errors.append(FieldError("credit_code", Message(f"‘统一社会信用代码’ {p.zh}", f"credit code: {p.en}"), code, rownum))
            elif code in seen:
                row_errors.append(FieldError("credit_code", Message(f"统一社会信用代码 {code} 与第 {seen[code]} 行重复，请合并为一行",
                                                                    f"credit code {code} repeats row {seen[code]}; merge the two rows"), code, rownum))
            raw = {k: rec[k] for k in _FACT_KEYS if k in rec and not _blank(rec[k])}
            if "founded" in raw:
                with contextlib.suppress(ValueError, TypeError):  # check_facts names it
                    raw["founded"] = parse_date(raw["founded"])
            checked = check_facts(raw, today)
            row_errors.extend(FieldError(e.field, e.message, e.value, rownum) for e in checked.errors)
            if not raw and not row_errors:
                row_errors.append(FieldError("employees", Message("这一行没有填写任何基本情况，请填写或删除此行",
                                                                  "this row gives no facts; fill some in or remove the row"), None, rownum))
            errors.extend(row_errors)
            seen.setdefault(code, rownum)
            out.append(FactsInput(rownum, code, str(rec.get("name") or "").strip(), checked.changes))
    if not any_rows and not errors:
        raise BadFile(Message("文件中没有机构数据行，请在模板表头下每行填写一个机构", "the file holds no rows; fill one organisation a row under the template headers"))
    return out, errors


def write_facts_template(path: str, rows: list[list[Any]] | None = None) -> None:
    """The import template (.xlsx): headers "中文 (key)", an example row, and a help sheet."""
    write_template(path, "机构基本情况 facts", FACT_COLUMNS, rows if rows is not None else [EXAMPLE],
                   "整份文件全部通过核验才会导入；空白单元格保留原值；导入的数据记为由导入的运营人员核验",
                   "the whole file is checked before anything is written; a blank cell keeps the current value; "
                   "imported facts are recorded as verified by the operator who imports them")
