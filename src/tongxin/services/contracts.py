"""Technology-contract services: register one contract, look contracts up, and export the
registration package (the fields a 技术合同认定登记 asks for) as XLSX and PDF."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Mapping

from sqlalchemy.orm import Session

from ..core.contracts import Section, registration_sections, validate_contract
from ..core.errors import ValidationError
from ..fileio.contracts import resolve
from ..storage import deals_repo as R


def register_contract(s: Session, raw: Mapping[str, Any], today: dt.date | None = None) -> int:
    """Validate and store one contract (form or API). Same rules and messages as the import."""
    c = validate_contract(raw, today=today)
    ok, errors = resolve(s, [(0, c)])
    if errors:
        raise ValidationError.of([type(e)(e.field, e.message, e.value, None) for e in errors])
    _, c2, seller, buyer, lids = ok[0]
    row, _ = R.upsert_contract(s, c2, seller, buyer, lids)
    return row.id


def package_sections(s: Session, contract_id: int) -> tuple[str, list[Section]]:
    c = R.get_contract(s, contract_id)
    orgs = R.orgs_by_id(s, [c.seller_org_id, c.buyer_org_id])
    return c.contract_no, registration_sections(R.contract_view(s, c), orgs[c.seller_org_id].party(), orgs[c.buyer_org_id].party())


def package_xlsx(sections: list[Section], contract_no: str) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记信息"
    ws.append([f"技术合同登记材料 / Technology-contract registration package：{contract_no}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([])
    for zh_t, en_t, rows in sections:
        ws.append([f"{zh_t} / {en_t}"])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.cell(ws.max_row, 1).fill = PatternFill("solid", fgColor="F3E6E6")
        for zh, en, value in rows:
            ws.append([zh, en, value])
        ws.append([])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 34
    ws.column_dimensions["C"].width = 60
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def package_pdf(sections: list[Section], contract_no: str) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    from . import pdf

    st = pdf.styles()
    buf = io.BytesIO()
    d = pdf.doc(buf, f"技术合同登记材料 {contract_no}")
    story: list[Any] = [Paragraph("技术合同认定登记材料", st["title"]),
                        Paragraph(f"Technology-contract registration package · 合同编号 {contract_no} · 由同心平台生成 {dt.date.today().isoformat()}", st["small"]),
                        Spacer(1, 6 * mm)]
    for zh_t, en_t, rows in sections:
        story.append(Paragraph(f"{zh_t} <font size=9 color='#777777'>{en_t}</font>", st["h2"]))
        data = [[Paragraph(zh, st["cell"]), Paragraph(en, st["small"]), Paragraph(value or "—", st["cell"])] for zh, en, value in rows]
        t = Table(data, colWidths=[40 * mm, 45 * mm, 89 * mm])
        ts = pdf.table_style(header_rows=0)
        ts.add("ALIGN", (0, 0), (-1, -1), "LEFT")
        t.setStyle(ts)
        story += [t, Spacer(1, 4 * mm)]
    story.append(Paragraph("卖方（签章）：＿＿＿＿＿＿＿＿　　买方（签章）：＿＿＿＿＿＿＿＿　　日期：＿＿＿＿＿＿", st["body"]))
    d.build(story)
    return buf.getvalue()
