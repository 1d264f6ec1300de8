"""Reading tables from CSV, XLSX and JSON files, with clear errors for files that are not what they claim."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadFile, Message
from .safe_cells import unquote_cell


@dataclass
class Table:
    """Rows of one sheet: `rows` are (spreadsheet row number, raw cells by header)."""

    name: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def _bad(zh: str, en: str) -> BadFile:
    return BadFile(Message(zh, en))


def read_tables(path: str) -> list[Table]:
    if not os.path.exists(path):
        raise _bad(f"文件不存在：{path}", f"file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".xlsx":
        return _read_xlsx(path)
    if ext == ".csv":
        return [_read_csv(path)]
    if ext == ".json":
        return _read_json(path)
    raise _bad(f"不支持的文件类型 ‘{ext}’，请使用 .xlsx、.csv 或 .json", f"unsupported file type '{ext}'; use .xlsx, .csv or .json")


def _read_csv(path: str) -> Table:
    with open(path, "rb") as fh:
        raw = fh.read()
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise _bad("CSV 文件编码无法识别：请另存为 UTF-8 编码的 CSV", "cannot decode the CSV file: save it as UTF-8 CSV")
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise _bad("CSV 文件为空：第 1 行应为表头", "the CSV file is empty: row 1 must hold the headers")
    t = Table(os.path.basename(path), [h.strip() for h in rows[0]])
    for i, r in enumerate(rows[1:], start=2):
        if any(c.strip() for c in r):
            t.rows.append((i, [unquote_cell(c) for c in r]))  # the '-prefix our CSV exports add (safe_cells)
    return t


def _read_xlsx(path: str) -> list[Table]:
    import openpyxl

    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not a zip")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise _bad("XLSX 文件已损坏或不是 Excel 文件：请用 Excel 重新另存为 .xlsx", "the XLSX file is corrupt or not an Excel workbook: re-save it as .xlsx from Excel") from None
    tables = []
    try:
        for ws in wb.worksheets:
            if ws.title.startswith("说明") or ws.title.lower().startswith("help"):
                continue  # the template's help sheet
            ws.reset_dimensions()  # some tools write a wrong <dimension> (e.g. "A1"), which would cut the sheet short
            it = ws.iter_rows(values_only=True)
            header = next(it, None)
            if header is None or not any(h not in (None, "") for h in header):
                continue
            t = Table(ws.title, ["" if h is None else str(h).strip() for h in header])
            for i, r in enumerate(it, start=2):
                if r and any(c not in (None, "") for c in r):
                    t.rows.append((i, list(r)))
            tables.append(t)
    finally:
        wb.close()
    if not tables:
        raise _bad("XLSX 文件中没有包含表头的工作表：请使用 tongxin template 生成的模板", "the workbook has no sheet with headers: use a template from `tongxin template`")
    return tables


def _read_json(path: str) -> list[Table]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        raise _bad("JSON 文件应为 UTF-8 编码", "the JSON file must be UTF-8") from None
    except json.JSONDecodeError as e:
        raise _bad(f"JSON 格式错误：第 {e.lineno} 行第 {e.colno} 列 {e.msg}", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if isinstance(data, list):
        data = {"listings": data}
    if not isinstance(data, dict) or not any(k in data for k in ("organisations", "listings")):
        raise _bad("JSON 顶层应为对象，包含 organisations 和/或 listings 数组", "the JSON top level must be an object with 'organisations' and/or 'listings' arrays")
    tables = []
    for key in ("organisations", "listings"):
        items = data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise _bad(f"JSON 中 {key} 应为对象数组", f"'{key}' in the JSON must be an array of objects")
        headers: list[str] = []
        for x in items:
            for k in x:
                if k not in headers:
                    headers.append(k)
        t = Table(key, headers)
        for i, x in enumerate(items, start=1):
            t.rows.append((i, [x.get(h) for h in headers]))
        tables.append(t)
    return tables
