"""Billing downloads: monthly statements (XLSX with openpyxl, PDF with the project's reportlab helper
services.pdf) and voucher claims (XLSX). Bilingual headers; cells through fileio.safe_cells."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..core import billing as BL
from ..fileio.safe_cells import xlsx_row
from . import pdf as P

STATEMENT_HEADERS = ["日期 date", "预约 booking", "仪器 instrument", "服务机构 provider", "使用人 user", "计费机时 hours", "单价（元）rate",
                     "费用（元）fee", "创新券抵扣（元）voucher", "应付（元）payable", "成本中心 cost centre", "项目编号 project code", "说明 note"]
CLAIM_HEADERS = ["日期 date", "预约 booking", "创新券 voucher", "发放地区 region", "企业 enterprise", "服务机构 provider lab", "仪器 instrument",
                 "费用（元）fee", "兑付金额（元）amount", "已结算 settled", "结算时间 settled at", "凭证号 reference"]


def _line(x: BL.StatementLine) -> list[Any]:
    return [x.day.isoformat(), x.booking_id, x.instrument, x.provider, x.user, round(x.hours, 2), round(x.rate, 2), round(x.fee, 2),
            round(x.voucher, 2), x.payable, x.cost_centre, x.project_code, x.note]


def _title(st: BL.Statement) -> str:
    scope = "".join(f" · {lab} {v}" for lab, v in (("成本中心", st.cost_centre), ("项目", st.project_code)) if v)
    return f"{st.org_name} {st.month} 仪器使用账单{scope}"


def statement_xlsx(st: BL.Statement) -> bytes:
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "账单 statement"
    ws.append(xlsx_row(ws, [_title(st)]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(xlsx_row(ws, ["月份 month", st.month, "机构 organisation", st.org_name]))
    ws.append([])
    ws.append(STATEMENT_HEADERS)
    for c in ws[4]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="F3E6E6")
    for x in st.lines:
        ws.append(xlsx_row(ws, _line(x)))
    t = st.total
    ws.append(xlsx_row(ws, ["合计 total", "", "", "", "", round(t.hours, 2), "", t.fee, t.voucher, t.payable]))
    if st.unconfirmed:
        ws.append(xlsx_row(ws, [f"另有 {st.unconfirmed} 笔待仪器管理员确认，未计入 / {st.unconfirmed} awaiting the manager's confirmation, not billed"]))
    for col, w in zip("ABCDEFGHIJKLM", (12, 10, 34, 24, 14, 10, 10, 12, 14, 12, 16, 16, 40), strict=True):
        ws.column_dimensions[col].width = w
    for attr, name in (("cost_centre", "按成本中心 by cost centre"), ("project_code", "按项目 by project")):
        sh = wb.create_sheet(name[:31])
        sh.append([name.split(" ", 1)[0] + " key", "笔数 lines", "机时 hours", "费用 fee", "创新券 voucher", "应付 payable"])
        for sub in st.by(attr):
            sh.append(xlsx_row(sh, [sub.key or "（未填）none", sub.lines, round(sub.hours, 2), sub.fee, sub.voucher, sub.payable]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def statement_pdf(st: BL.Statement) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    sty: dict[str, Any] = P.styles()
    buf = io.BytesIO()
    d = P.doc(buf, _title(st))
    story: list[Any] = [Paragraph(P.text(_title(st)), sty["h1"]),
                        Paragraph(P.text(f"Instrument use statement · {st.org_name} · {st.month}"), sty["small"]), Spacer(1, 4 * mm)]
    head = ["日期", "仪器", "使用人", "机时", "单价", "费用", "创新券", "应付", "成本中心/项目"]
    rows: list[list[Any]] = [[Paragraph(h, sty["cell"]) for h in head]]
    for x in st.lines:
        rows.append([x.day.isoformat(), Paragraph(P.text(x.instrument), sty["cell"]), Paragraph(P.text(x.user), sty["cell"]), f"{x.hours:g}",
                     f"{x.rate:.2f}", f"{x.fee:.2f}", f"{x.voucher:.2f}", f"{x.payable:.2f}",
                     Paragraph(P.text(" / ".join(v for v in (x.cost_centre, x.project_code) if v) or "—"), sty["cell"])])
    t = st.total
    rows.append(["合计", "", "", f"{t.hours:g}", "", f"{t.fee:.2f}", f"{t.voucher:.2f}", f"{t.payable:.2f}", ""])
    story.append(Table(rows, colWidths=[20 * mm, 40 * mm, 20 * mm, 12 * mm, 14 * mm, 17 * mm, 15 * mm, 17 * mm, 20 * mm], style=P.table_style(), repeatRows=1))
    if st.unconfirmed:
        story += [Spacer(1, 3 * mm), Paragraph(P.text(f"另有 {st.unconfirmed} 笔待仪器管理员确认，未计入本账单。"), sty["small"])]
    story += [Spacer(1, 3 * mm), Paragraph(P.text("金额单位：元；机时按仪器计费单位向上取整。"), sty["small"])]
    d.build(story)
    return buf.getvalue()


def claims_xlsx(claims: Sequence[BL.VoucherClaim], month: str) -> bytes:
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "创新券兑付 claims"
    ws.append(xlsx_row(ws, [f"{month} 创新券兑付明细 / voucher claims"]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(CLAIM_HEADERS)
    for c in ws[3]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="F3E6E6")
    for c in claims:
        ws.append(xlsx_row(ws, [c.day.isoformat(), c.booking_id, c.voucher_code, c.province, c.enterprise, c.provider, c.instrument, round(c.fee, 2),
                                round(c.amount, 2), "是 yes" if c.settled else "否 no", c.settled_at.strftime("%Y-%m-%d %H:%M") if c.settled_at else "",
                                c.reference]))
    ws.append(xlsx_row(ws, ["合计 total", "", "", "", "", "", "", round(sum(c.fee for c in claims), 2), round(sum(c.amount for c in claims), 2)]))
    by_lab: dict[str, list[float]] = {}
    for c in claims:
        a = by_lab.setdefault(c.provider, [0.0, 0.0])
        a[0] += c.amount
        a[1] += c.amount if c.settled else 0.0
    sh = wb.create_sheet("按服务机构 by lab")
    sh.append(["服务机构 provider lab", "兑付金额 amount", "已结算 settled", "未结算 outstanding"])
    for lab, (amt, done) in sorted(by_lab.items()):
        sh.append(xlsx_row(sh, [lab, round(amt, 2), round(done, 2), round(amt - done, 2)]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
