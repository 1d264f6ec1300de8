"""Column layouts: Chinese headers for people, stable English keys for machines.

A header cell may hold the Chinese header, the English key or "中文 (key)"; all three read.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import FieldError, Message
from ..core.kinds.registry import KindSpec, Registry
from ..core.listing import COMMON_COLUMNS
from ..core.organisation import ORG_COLUMNS


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    help: str
    required: bool

    @property
    def header(self) -> str:
        return f"{self.zh} ({self.key})"


def organisation_columns() -> list[Column]:
    return [Column(k, zh, h, r) for k, zh, h, r in ORG_COLUMNS]


def listing_columns(spec: KindSpec | None, registry: Registry) -> list[Column]:
    cols = [Column(k, zh, h, r) for k, zh, h, r in COMMON_COLUMNS]
    specs = [spec] if spec is not None else list(registry)
    seen = {c.key for c in cols}
    for sp in specs:
        for a in sp.attrs:
            if a.key in seen:
                continue
            seen.add(a.key)
            unit = f"（{a.unit_zh}）" if a.unit_zh else ""
            help_ = (a.help_en or a.en) + (f" ({a.unit_en})" if a.unit_en else "")
            if a.choices:
                help_ += " — " + " / ".join(f"{c.zh}={c.value}" for c in a.choices)
            cols.append(Column(a.key, a.zh + unit, help_, a.required))
    return cols


_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "｛": "(", "｝": ")"})
_NOISE = re.compile(r"\s+|\*|\(必填\)|必填")


def header_key(text: object) -> str:
    """A header as compared: NFKC-folded (full-width brackets and letters to ASCII), without
    spaces or required-markers (*, 必填), case-folded. 意向价格下限(万元) and 意向价格下限（万元） are one."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(text or "")).translate(_BRACKETS)).casefold()


def _forms(c: Column) -> list[str]:
    zh = header_key(c.zh)
    return [header_key(c.key), zh, header_key(c.header), zh.split("(")[0]]


# Spellings people use for template columns. Only ever offered as suggestions: the file's author
# confirms them (by renaming the column), so no value lands in a field it was not meant for.
ALIASES: dict[str, tuple[str, ...]] = {
    "patents": ("专利号", "专利号码", "专利清单", "知识产权"),
    "team": ("团队", "团队成员", "成员", "研发人员"),
    "valid_until": ("有效期至", "有效期", "截止日期", "到期日", "结束日期"),
    "valid_from": ("有效期自", "开始日期", "生效日期"),
    "region": ("地区", "所在地", "区划代码", "行政区划"),
    "industry": ("行业", "行业代码"),
    "owner": ("发布机构", "机构编号", "所属机构"),
    "description": ("描述", "简介", "内容"),
    "credit_code": ("信用代码", "社会信用代码"),
    "contact": ("联系人", "电话", "联系电话"),
}


def suggest(header: str, columns: list[Column]) -> Column | None:
    """The template column a wrong header most likely means: a known alias, else the closest spelling."""
    h = header_key(header)
    by_key = {c.key: c for c in columns}
    for key, names in ALIASES.items():
        if key in by_key and h in {header_key(n) for n in names}:
            return by_key[key]
    forms = {f: c for c in columns for f in _forms(c) if f}
    close = difflib.get_close_matches(h, list(forms), n=1, cutoff=0.6)
    if close:
        return forms[close[0]]
    inside = [c for f, c in forms.items() if len(f) >= 2 and (f in h or h in f)]
    return inside[0] if len(inside) == 1 else None


def header_map(headers: list[str], columns: list[Column]) -> tuple[dict[int, str], list[str]]:
    """Map header cells to keys. Returns (column index → key, unknown headers)."""
    lookup: dict[str, str] = {}
    for c in columns:
        for form in _forms(c):
            lookup.setdefault(form, c.key)
    out: dict[int, str] = {}
    unknown = []
    for i, h in enumerate(headers):
        h2 = (h or "").strip()
        if not h2:
            continue
        k = header_key(h2)
        key = lookup.get(k)
        if key is None and k.endswith(")") and "(" in k:  # 中文 (key)
            key = lookup.get(k[k.rindex("(") + 1 : -1])
        if key is None:
            unknown.append(h2)
        else:
            out[i] = key
    return out, unknown


def unknown_column_errors(sheet: str, header_row: int | None, unknown: list[str], columns: list[Column]) -> list[FieldError]:
    """One error per header that is not a template column, naming the closest template header."""
    errors = []
    for h in unknown:
        c = suggest(h, columns)
        if c is not None:
            msg = Message(f"不是模板中的列，是否为 ‘{c.zh}’？请改为模板列名，或使用“忽略未知列”导入（其数据不会导入）",
                          f"is not a template column; did you mean '{c.zh}' ({c.key})? Rename the column, "
                          "or import with --ignore-unknown-columns (its data is not imported)")
        else:
            msg = Message(f"不是模板中的列（工作表 ‘{sheet}’）：请改为模板列名（见 tongxin template），或使用“忽略未知列”导入（其数据不会导入）",
                          f"is not a template column (sheet '{sheet}'): rename it as in `tongxin template`, "
                          "or import with --ignore-unknown-columns (its data is not imported)")
        errors.append(FieldError(h, msg, h, header_row))
    return errors


def duplicate_column_errors(headers: list[str], keys: dict[int, str], header_row: int | None) -> list[FieldError]:
    """Two header cells for one field (标题 and title): which one wins would be a silent guess."""
    first: dict[str, int] = {}
    errors = []
    for i, key in sorted(keys.items()):
        if key in first:
            a, b = headers[first[key]], headers[i]
            errors.append(FieldError(b, Message(f"与 ‘{a}’ 是同一列，请删除其中一列", f"is the same column as '{a}'; delete one of them"), b, header_row))
        else:
            first[key] = i
    return errors


def template_header_test(columns: list[Column]) -> Callable[[str], bool]:
    """Whether a cell reads as one of these template headers (used to find the header row)."""
    forms = {f for c in columns for f in _forms(c) if f}

    def test(cell: str) -> bool:
        k = header_key(cell)
        return k in forms or (k.endswith(")") and "(" in k and k[k.rindex("(") + 1 : -1] in forms)

    return test


def write_template(path: str, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], note_zh: str, note_en: str) -> None:
    """An import template (.xlsx): headers "中文 (key)" in bold, the given rows (an example), and a help
    sheet that lists each column (required, help) and ends with a note on how the file is imported."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    from .safe_cells import xlsx_row

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for r in rows:
        ws.append(xlsx_row(ws, r))
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = max(14, min(40, len(c.header) * 2))
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("说明 help")
    help_ws.append(["列 column", "必填 required", "说明 help"])
    for c in columns:
        help_ws.append(xlsx_row(help_ws, [c.header, "是 yes" if c.required else "", c.help]))
    help_ws.append([])
    help_ws.append([note_zh, "", note_en])
    wb.save(path)

