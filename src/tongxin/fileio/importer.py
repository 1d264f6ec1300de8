"""Read organisations and listings from a file: map the columns and validate every row.

Writing them (all or nothing) is a service: `services.importing.import_file`.

Row numbers are spreadsheet rows (the header is usually row 1; title rows may sit above it) or,
for JSON, item numbers from 1. Every column must be a template column (or be skipped on request):
a column that is read by nobody would be data lost without a word.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from typing import Any

from ..core.errors import BadFile, FieldError, Message, TongxinError, ValidationError
from ..core.kinds.registry import Registry
from ..core.listing import COMMON_COLUMNS, Listing, validate_listing
from ..core.organisation import Organisation, validate_organisation
from .columns import (
    Column,
    duplicate_column_errors,
    header_map,
    listing_columns,
    organisation_columns,
    template_header_test,
    unknown_column_errors,
)
from .readers import Table, read_tables


def _is_org_table(t: Table) -> bool:
    low = t.name.lower()
    if "organisation" in low or "机构" in low:
        return True
    heads = " ".join(t.headers).lower()
    return "credit_code" in heads or "统一社会信用代码" in heads


def _table_kind(t: Table, registry: Registry) -> str | None:
    """The kind a sheet is named after; the longest name wins (再生资源需求 is not 再生资源)."""
    best: tuple[int, str] | None = None
    for spec in registry:
        for name in (spec.name, spec.zh):
            if name and (name in t.name or name in t.name.lower()) and (best is None or len(name) > best[0]):
                best = (len(name), spec.name)
    return best[1] if best else None


def _records(t: Table, keys: dict[int, str]) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for rownum, cells in t.rows:
        rec: dict[str, Any] = {}
        for i, key in keys.items():
            if i < len(cells):
                v = cells[i]
                rec[key] = v.strip() if isinstance(v, str) else v
        out.append((rownum, rec))
    return out


def _columns(t: Table, cols: list[Column], ignore_unknown: bool, ignored: list[str], kind_known: bool,
             template: str) -> dict[int, str]:
    """Map the sheet's headers to fields. A header that is not a template column is an error (its
    data would be silently lost) unless the caller chose to ignore such columns; so is a missing
    required column."""
    keys, unknown = header_map(t.headers, cols)
    if "attrs" in unknown and t.headers.count("attrs") == 1:  # JSON exports nest the attributes: {"attrs": {"trl": 6}}
        keys[t.headers.index("attrs")] = "attrs"
        unknown.remove("attrs")
    where_zh = f"第 {t.header_row} 行的表头" if t.header_row else "的键"
    where_en = f"the header row (row {t.header_row})" if t.header_row else "the keys"
    problems = duplicate_column_errors(t.headers, keys, t.header_row)
    if unknown and ignore_unknown:
        ignored.extend(f"{t.name}: {h}" for h in unknown)
    elif unknown:
        problems += unknown_column_errors(t.name, t.header_row, unknown, cols)
    if problems:
        names = "、".join(f"‘{e.field}’" for e in problems)
        raise ValidationError(Message(
            f"工作表 ‘{t.name}’ {where_zh}有 {len(problems)} 处问题（{names}），未导入任何数据",
            f"{len(problems)} problem(s) in {where_en} of sheet '{t.name}'; nothing was imported"), problems)
    need = [c for c in cols if c.required and c.key not in keys.values() and not (c.key == "kind" and kind_known)]
    if need:
        raise BadFile(Message(
            f"工作表 ‘{t.name}’ {where_zh}缺少必需的列：" + "、".join(c.zh for c in need) + f"。请使用 {template} 生成的模板",
            f"{where_en} of sheet '{t.name}' lacks required columns: " + ", ".join(c.key for c in need)
            + f". Use the template from `{template}`"))
    return keys


def header_test(registry: Registry) -> Callable[[str], bool]:
    """Tells a header cell of any import template (organisations or any kind)."""
    return template_header_test(organisation_columns() + listing_columns(None, registry))


def parse_file(path: str, registry: Registry, ignore_unknown_columns: bool = False, ignored: list[str] | None = None,
               ) -> tuple[list[tuple[int, Organisation]], list[tuple[int, Listing]], list[FieldError]]:
    """Read and validate every row. Returns valid organisations, valid listings and all row errors.
    Columns skipped with `ignore_unknown_columns` are appended to `ignored` ("sheet: header")."""
    orgs: list[tuple[int, Organisation]] = []
    listings: list[tuple[int, Listing]] = []
    errors: list[FieldError] = []
    ignored = [] if ignored is None else ignored
    for t in read_tables(path, header_test(registry)):
        if not t.rows:
            continue
        if _is_org_table(t):
            keys = _columns(t, organisation_columns(), ignore_unknown_columns, ignored, False, "tongxin template organisation")
            for rownum, rec in _records(t, keys):
                try:
                    orgs.append((rownum, validate_organisation(rec, row=rownum)))
                except ValidationError as e:
                    errors.extend(e.errors)
        else:
            kind = _table_kind(t, registry)
            spec = registry.get(kind) if kind else None
            cols = listing_columns(spec, registry)
            common = {k for k, *_ in COMMON_COLUMNS}
            # a table of mixed kinds cannot require one kind's attribute columns: rows are checked one by one
            checked = cols if spec is not None else [c if c.key in common else dataclasses.replace(c, required=False) for c in cols]
            keys = _columns(t, checked, ignore_unknown_columns, ignored, bool(kind), "tongxin template KIND")
            for rownum, rec in _records(t, keys):
                try:
                    listings.append((rownum, validate_listing(rec, registry, row=rownum, kind=rec.get("kind") or kind)))
                except ValidationError as e:
                    errors.extend(e.errors)
    return orgs, listings, errors


def write_error_report(errors: list[FieldError], path: str) -> None:
    from .safe_cells import csv_row  # the report echoes the rejected values: never as live formulas

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["行号 (row)", "列 (field)", "值 (value)", "问题 (problem)", "problem (English)"])
        for e in errors:
            w.writerow(csv_row([e.row, e.field, "" if e.value is None else e.value, e.message.zh, e.message.en]))


def describe(e: TongxinError, limit: int = 20) -> str:
    lines = [str(e.message)]
    lines += [f"  - {fe}" for fe in e.errors[:limit]]
    if len(e.errors) > limit:
        lines.append(f"  … 另有 {len(e.errors) - limit} 处 / {len(e.errors) - limit} more")
    return "\n".join(lines)
