"""Export (round-trip safe: importing an export gives the same data) and import templates."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable
from typing import Any

from ..core.errors import BadFile, Message
from ..core.fields import export_value
from ..core.kinds.registry import KindSpec, Registry
from ..core.listing import Listing
from ..core.organisation import Organisation
from .columns import Column, listing_columns, organisation_columns
from .safe_cells import csv_row, xlsx_row


def org_record(o: Organisation) -> dict[str, Any]:
    return {c.key: ("" if getattr(o, c.key) is None else getattr(o, c.key)) for c in organisation_columns()}


def listing_record(x: Listing, registry: Registry, columns: list[Column]) -> dict[str, Any]:
    spec = registry.get(x.kind)
    keys = {a.key: a for a in spec.attrs}
    rec: dict[str, Any] = {}
    for c in columns:
        if c.key in keys:
            rec[c.key] = export_value(keys[c.key], x.attrs.get(c.key))
        elif c.key == "keywords":
            rec[c.key] = ";".join(x.keywords)
        elif c.key in ("valid_from", "valid_until"):
            v = getattr(x, c.key)
            rec[c.key] = v.isoformat() if isinstance(v, dt.date) else ""
        elif c.key == "owner":
            rec[c.key] = x.owner
        else:
            v = getattr(x, c.key, "")
            rec[c.key] = "" if v is None else v
    return rec


def export_data(path: str, orgs: Iterable[Organisation], listings: Iterable[Listing], registry: Registry, what: str = "all") -> int:
    """Write organisations and listings. XLSX: a sheet for organisations and one per kind;
    JSON: one object; CSV: one table (`what` = organisations or listings)."""
    ext = os.path.splitext(path)[1].lower()
    orgs, listings = list(orgs), list(listings)
    if ext == ".json":
        data = {
            "organisations": [org_record(o) for o in orgs],
            "listings": [_json_listing(x, registry) for x in listings],
        }
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        return len(orgs) + len(listings)
    if ext == ".csv":
        if what == "organisations":
            cols = organisation_columns()
            recs = [org_record(o) for o in orgs]
        else:
            cols = listing_columns(None, registry)
            recs = [listing_record(x, registry, cols) for x in listings]
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([c.header for c in cols])
            for r in recs:
                w.writerow(csv_row(r.get(c.key, "") for c in cols))
        return len(recs)
    if ext == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        _sheet(wb, "机构 organisations", organisation_columns(), (org_record(o) for o in orgs))
        for spec in registry:
            cols = listing_columns(spec, registry)
            rows = (listing_record(x, registry, cols) for x in listings if x.kind == spec.name)
            _sheet(wb, f"{spec.zh} {spec.name}", cols, rows)
        wb.save(path)
        return len(orgs) + len(listings)
    raise _unsupported(ext)


def _unsupported(ext: str, allowed: str = ".xlsx、.csv 或 .json") -> BadFile:
    return BadFile(Message(f"不支持的文件类型 ‘{ext}’，请使用 {allowed}", f"unsupported file type '{ext}'; use {allowed.replace('、', ', ').replace(' 或 ', ' or ')}"))


def _json_listing(x: Listing, registry: Registry) -> dict[str, Any]:
    cols = listing_columns(registry.get(x.kind), registry)
    rec = listing_record(x, registry, cols)
    spec = registry.get(x.kind)
    rec["keywords"] = list(x.keywords)
    rec["attrs"] = {a.key: rec.pop(a.key) for a in spec.attrs}
    return rec


def _sheet(wb: Any, title: str, cols: list[Column], rows: Iterable[dict[str, Any]]) -> None:
    ws = wb.create_sheet(title[:31])
    ws.append([c.header for c in cols])
    for r in rows:
        ws.append(xlsx_row(ws, (r.get(c.key, "") for c in cols)))


def write_template(path: str, spec: KindSpec | None, registry: Registry) -> None:
    """An import template: Chinese headers with stable keys, a help row as a comment sheet, one example row."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".xlsx", ".csv"):
        raise _unsupported(ext, ".xlsx 或 .csv")
    cols = organisation_columns() if spec is None else listing_columns(spec, registry)
    example = _example(spec, cols)
    if ext == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([c.header for c in cols])
            w.writerow(csv_row(example.get(c.key, "") for c in cols))
        return
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "机构 organisations" if spec is None else f"{spec.zh} {spec.name}"
    ws.append([c.header for c in cols])
    ws.append(xlsx_row(ws, (example.get(c.key, "") for c in cols)))
    for i, c in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="B00000" if c.required else "000000")
        cell.fill = PatternFill("solid", fgColor="FDE9E7" if c.required else "EEEEEE")
        cell.comment = Comment(("必填 required. " if c.required else "") + c.help, "tongxin")
        ws.column_dimensions[cell.column_letter].width = max(12, min(40, len(c.header) * 2))
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("说明 help")
    help_ws.append(["列 (key)", "中文表头", "必填 required", "说明 help"])
    for c in cols:
        help_ws.append(xlsx_row(help_ws, [c.key, c.zh, "是 yes" if c.required else "", c.help]))
    help_ws.append([])
    help_ws.append(["第 2 行为示例，导入前请删除或替换 / Row 2 is an example: delete or replace it before importing"])
    wb.save(path)


def _example(spec: KindSpec | None, cols: list[Column]) -> dict[str, Any]:
    if spec is None:
        return {"external_id": "ORG-EX-1", "name": "示例科技有限公司", "credit_code": "91120116MA05TEQ1KG", "org_type": "enterprise",
                "region": "120116", "industry": "C37", "description": "轨道交通信号系统研发与制造", "contact_name": "张工", "contact_phone": "022-12345678"}
    base = {"external_id": f"{spec.name.upper()}-EX-1", "kind": spec.name, "side": spec.default_side(), "title": "示例：新一代列车控制系统",
            "description": "请在此描述成果或需求的内容、指标和应用场景。", "keywords": "列车控制;CBTC;轨道交通", "industry": "C37",
            "region": "110108", "owner": "ORG-EX-1", "visibility": "public", "status": "published", "valid_from": "2026-01-01", "valid_until": "2027-12-31"}
    for a in spec.attrs:
        if a.example:
            base[a.key] = a.example
    return base
