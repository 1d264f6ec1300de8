"""Reading tables from CSV, XLSX and JSON files, with clear errors for files that are not what they claim."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadFile, Message
from .safe_cells import unquote_cell


@dataclass
class Table:
    """Rows of one sheet: `rows` are (spreadsheet row number, raw cells by header); `header_row`
    is the spreadsheet row of the headers (title rows above it are skipped)."""

    name: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    header_row: int | None = 1  # None for JSON, which has keys, not a header row


HeaderTest = Callable[[str], bool]
HEADER_SCAN = 10  # the header row is looked for among the first rows (title rows may sit above it)
MAX_ROWS = 100_000  # rows of one sheet or CSV file
MAX_UNZIPPED_MB = 100  # an XLSX's uncompressed size: 1 MB on disk can inflate to hundreds of MB of XML


@dataclass(frozen=True)
class Limits:
    max_rows: int = MAX_ROWS
    max_unzipped_mb: int = MAX_UNZIPPED_MB


def _bad(zh: str, en: str) -> BadFile:
    return BadFile(Message(zh, en))


def read_tables(path: str, is_header: HeaderTest | None = None, limits: Limits | None = None) -> list[Table]:
    """Every sheet of a file as a Table. `is_header` tells a template header cell, to find the
    header row below title rows; without it the row with the most distinct text cells wins."""
    if not os.path.exists(path):
        raise _bad(f"文件不存在：{path}", f"file not found: {path}")
    lim = limits or Limits()
    ext = os.path.splitext(path)[1].lower()
    if ext == ".xlsx":
        return _read_xlsx(path, is_header, lim)
    if ext == ".csv":
        return [_read_csv(path, is_header, lim)]
    if ext == ".json":
        return _read_json(path)
    raise _bad(f"不支持的文件类型 ‘{ext}’，请使用 .xlsx、.csv 或 .json", f"unsupported file type '{ext}'; use .xlsx, .csv or .json")


def _filled(cells: Any) -> bool:
    return bool(cells) and any(c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in cells)


def _header_score(cells: list[Any], is_header: HeaderTest | None) -> int:
    texts = [c.strip() for c in cells if isinstance(c, str) and c.strip()]
    if is_header is not None:
        return sum(1 for t in texts if is_header(t))
    return len(set(texts))  # a title row has one text (even merged across the width), a header many


def pick_header(top: list[tuple[int, list[Any]]], is_header: HeaderTest | None) -> int:
    """Index in `top` of the header row: the best-scoring of the first HEADER_SCAN rows (earliest on a tie)."""
    best_i, best = 0, 0
    for i, (_, cells) in enumerate(top[:HEADER_SCAN]):
        score = _header_score(cells, is_header)
        if score > best:
            best_i, best = i, score
    if best == 0:  # nothing looks like a header: the first non-empty row, so the error names it
        best_i = next((i for i, (_, cells) in enumerate(top) if _filled(cells)), 0)
    return best_i


def _table(name: str, rows: Iterator[tuple[int, list[Any]]], is_header: HeaderTest | None, skip_to: Callable[[int], int] | None = None) -> Table | None:
    """Find the header among the first rows, then take every non-empty row below it."""
    top: list[tuple[int, list[Any]]] = []
    for item in rows:
        top.append(item)
        if len(top) >= HEADER_SCAN:
            break
    if not any(_filled(c) for _, c in top):
        return None
    h = pick_header(top, is_header)
    header_row, header = top[h]
    first_data = skip_to(header_row) if skip_to else header_row + 1  # below header cells merged downwards
    t = Table(name, ["" if c is None else str(c).strip() for c in header], header_row=header_row)
    for rownum, cells in itertools.chain(top[h + 1 :], rows):
        if rownum >= first_data and _filled(cells):
            t.rows.append((rownum, list(cells)))
    return t


def _too_many_rows(name: str, limit: int) -> BadFile:
    return _bad(f"‘{name}’ 超过 {limit:,} 行的上限：请拆分为多个文件分批导入",
                f"'{name}' has more than the limit of {limit:,} rows: split it into several files")


def _counted(rows: Iterator[tuple[int, list[Any]]], name: str, limit: int) -> Iterator[tuple[int, list[Any]]]:
    for rownum, cells in rows:
        if rownum > limit + HEADER_SCAN and _filled(cells):
            raise _too_many_rows(name, limit)
        yield rownum, cells


# --------------------------------------------------------------------------- CSV


def _decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), or GB18030 (Excel's
    CSV on a Chinese Windows). A file that is none of them is refused with the row to look at."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise _undecodable(raw, e.start, "UTF-16") from None
    if b"\x00" in raw:  # UTF-16 without a byte-order mark, or a binary file
        raise _undecodable(raw, raw.index(b"\x00"), "UTF-8 / GB18030")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if any(b >= 0x80 for b in raw[: e.start]):  # valid UTF-8 Chinese before the bad byte: a mixed file
            raise _undecodable(raw, e.start, "UTF-8") from None
        first_bad = e.start
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as e:
        raise _undecodable(raw, max(first_bad, e.start), "UTF-8 / GB18030") from None


def _undecodable(raw: bytes, pos: int, tried: str) -> BadFile:
    row = raw[:pos].count(b"\n") + 1
    return _bad(f"CSV 文件第 {row} 行含有无法识别的字符（不是 {tried} 编码），未导入任何数据：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”后重试",
                f"cannot decode row {row} of the CSV file (not {tried} text); nothing was imported. "
                "In Excel, use Save As → CSV UTF-8 (Comma delimited) and try again")


def _read_csv(path: str, is_header: HeaderTest | None, lim: Limits) -> Table:
    if os.path.getsize(path) > lim.max_unzipped_mb * 1024 * 1024:
        raise _bad(f"CSV 文件超过 {lim.max_unzipped_mb} MB 的上限：请拆分后分批导入",
                   f"the CSV file is larger than the limit of {lim.max_unzipped_mb} MB: split it into several files")
    with open(path, "rb") as fh:
        text = _decode_csv(fh.read())
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    # the '-prefix our CSV exports put before formula-like text (safe_cells) comes off again
    rows = ((n, [unquote_cell(c) for c in r]) for n, r in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1))
    t = _table(os.path.basename(path), _counted(rows, os.path.basename(path), lim.max_rows), is_header)
    if t is None:
        raise _bad("CSV 文件为空：第 1 行应为表头", "the CSV file is empty: row 1 must hold the headers")
    return t


# --------------------------------------------------------------------------- XLSX

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")


def check_xlsx_size(path: str, lim: Limits) -> None:
    """Refuse a workbook before parsing it when its uncompressed size or a sheet's declared
    dimension is over the limits (a zip bomb: 1 MB on disk, hundreds of MB of XML)."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _corrupt() from None
    with z:
        total = sum(i.file_size for i in z.infolist())
        if total > lim.max_unzipped_mb * 1024 * 1024:
            raise _bad(f"XLSX 文件解压后为 {total / 2**20:,.0f} MB，超过 {lim.max_unzipped_mb} MB 的上限，未导入任何数据：请拆分为多个文件分批导入",
                       f"the workbook unpacks to {total / 2**20:,.0f} MB, over the limit of {lim.max_unzipped_mb} MB; nothing was imported. "
                       "Split it into several files")
        for info in z.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with z.open(info) as fh:
                    m = _DIMENSION.search(fh.read(4096))
                if m and int(m.group(1)) > lim.max_rows + HEADER_SCAN:
                    raise _bad(f"工作表声明有 {int(m.group(1)):,} 行，超过 {lim.max_rows:,} 行的上限，未导入任何数据：请拆分为多个文件分批导入",
                               f"a sheet declares {int(m.group(1)):,} rows, over the limit of {lim.max_rows:,}; nothing was imported. Split it into several files")


def _corrupt() -> BadFile:
    return _bad("XLSX 文件已损坏或不是 Excel 文件：请用 Excel 重新另存为 .xlsx", "the XLSX file is corrupt or not an Excel workbook: re-save it as .xlsx from Excel")


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _rows_in(b: bytes) -> int:
    """<row ...> elements in a piece of sheet XML (bytes.count: a 300 MB sheet in a second)."""
    return sum(b.count(t) for t in (b"<row ", b"<row>", b":row ", b":row>"))


def scan_sheet(ws: Any) -> tuple[list[tuple[int, int, int, int]], int]:
    """(merged ranges, number of <row> elements) of a worksheet, from one pass over its raw XML in
    constant memory: read-only worksheets do not parse <mergeCells>, and counting rows here refuses
    an oversized sheet (whatever its <dimension> says) before any cell is parsed. Ranges are
    (min_row, min_col, max_row, max_col), 1-based."""
    opener = getattr(ws, "_get_source", None)
    if opener is None:
        return [], 0
    ranges: list[tuple[int, int, int, int]] = []
    rows, prev = 0, b""
    with opener() as fh:
        while chunk := fh.read(1 << 20):
            a, b = prev[-8:], chunk[:8]  # a tag cut by the chunk boundary
            rows += _rows_in(chunk) + _rows_in(a + b) - _rows_in(a) - _rows_in(b)
            tail = prev[-200:]
            buf = tail + chunk
            if b"mergeCell" in buf:  # matches ending inside the old tail were taken in the last round
                ranges += [(int(m[2]), _col(m[1]), int(m[4]), _col(m[3])) for m in _MERGE.finditer(buf) if m.end() > len(tail)]
            prev = chunk
    return ranges, rows


def _unmerge(rows: Iterator[tuple[int, list[Any]]], ranges: list[tuple[int, int, int, int]]) -> Iterator[tuple[int, list[Any]]]:
    """Copy each merged range's value (held by its top-left cell) into all of its cells."""
    if not ranges:
        yield from rows
        return
    pending = sorted(ranges, reverse=True)  # by first row, popped from the end
    live: list[tuple[int, int, int, int]] = []
    values: dict[tuple[int, int, int, int], Any] = {}
    for rownum, cells in rows:
        while pending and pending[-1][0] <= rownum:
            live.append(pending.pop())
        live = [r for r in live if r[2] >= rownum]
        if live:
            cells = list(cells) + [None] * (max(r[3] for r in live) - len(cells))
            for r in live:
                if rownum == r[0]:
                    values[r] = cells[r[1] - 1]
                for c in range(r[1] - 1, r[3]):
                    cells[c] = values.get(r)
        yield rownum, cells


def _read_xlsx(path: str, is_header: HeaderTest | None, lim: Limits) -> list[Table]:
    import openpyxl

    check_xlsx_size(path, lim)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # a damaged file fails anywhere in zipfile, XML parsing or openpyxl (BadZipFile, KeyError, …)
        raise _corrupt() from None
    tables = []
    try:
        for ws in wb.worksheets:
            if ws.title.startswith("说明") or ws.title.lower().startswith("help"):
                continue  # the template's help sheet
            ranges, n = scan_sheet(ws)
            if n > lim.max_rows + HEADER_SCAN:
                raise _too_many_rows(ws.title, lim.max_rows)
            ws.reset_dimensions()  # some tools write a wrong <dimension> (e.g. "A1"), which would cut the sheet short
            rows = _unmerge(enumerate(ws.iter_rows(values_only=True), start=1), ranges)

            def below(header_row: int, ranges: list[tuple[int, int, int, int]] = ranges) -> int:
                return max([header_row] + [r[2] for r in ranges if r[0] <= header_row <= r[2]]) + 1

            t = _table(ws.title, _counted(rows, ws.title, lim.max_rows), is_header, below)
            if t is not None:
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
        t = Table(key, headers, header_row=None)
        for i, x in enumerate(items, start=1):
            t.rows.append((i, [x.get(h) for h in headers]))
        tables.append(t)
    return tables
