"""The year-end report (年度报告): key figures, charts and top lists, in Chinese, as PDF (reportlab,
CJK font embedded, charts drawn as vectors) or XLSX (one sheet per table, native Excel charts).
Both are rendered from one `Figures`, the same object the dashboard and the CLI show."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from ..core import regions
from ..core import stats as st
from ..core.clock import local_today
from ..fileio.safe_cells import xlsx_row
from . import stats as S

PALETTE = ["#8b1a1a", "#c0504d", "#e08a3c", "#4f81bd", "#9bbb59", "#8064a2", "#4bacc6", "#7f7f7f"]
PROVINCE_COLOURS = {"BJ": "#c0504d", "TJ": "#4f81bd", "HE": "#9bbb59", "OTHER": "#7f7f7f"}


# -- PDF ------------------------------------------------------------------------------------------
def _bar(labels: list[str], values: list[float], width: float, height: float, font: str, unit: str, colour: str = "#8b1a1a") -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    d = Drawing(width, height, initialFontName=font)  # no unembedded Helvetica as the drawing's starting font
    c = VerticalBarChart()
    c.x, c.y, c.width, c.height = 45, 30, width - 60, height - 50
    c.data = [values or [0]]
    c.categoryAxis.categoryNames = labels or [""]
    c.categoryAxis.labels.fontName = font
    c.categoryAxis.labels.fontSize = 7
    c.categoryAxis.labels.angle = 0 if len(labels) <= 6 else 30
    c.categoryAxis.labels.boxAnchor = "n" if len(labels) <= 6 else "ne"
    c.valueAxis.labels.fontName = font
    c.valueAxis.labels.fontSize = 7
    c.valueAxis.valueMin = 0
    c.bars[0].fillColor = colors.HexColor(colour)
    c.bars[0].strokeColor = None
    c.barLabelFormat = "%.1f"
    c.barLabels.fontName = font
    c.barLabels.fontSize = 6
    c.barLabels.nudge = 6
    d.add(c)
    d.add(String(4, height - 12, unit, fontName=font, fontSize=7, fillColor=colors.HexColor("#555555")))
    return d


def _hbar(labels: list[str], values: list[float], width: float, font: str, unit: str) -> Any:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    height = 30 + 16 * max(1, len(labels))
    d = Drawing(width, height, initialFontName=font)  # no unembedded Helvetica as the drawing's starting font
    c = HorizontalBarChart()
    c.x, c.y, c.width, c.height = 150, 15, width - 190, height - 25
    c.data = [list(reversed(values)) or [0]]
    c.categoryAxis.categoryNames = list(reversed(labels)) or [""]
    c.categoryAxis.labels.fontName = font
    c.categoryAxis.labels.fontSize = 7
    c.valueAxis.labels.fontName = font
    c.valueAxis.labels.fontSize = 7
    c.valueAxis.valueMin = 0
    c.bars[0].fillColor = colors.HexColor("#4f81bd")
    c.bars[0].strokeColor = None
    c.barLabelFormat = "%.1f"
    c.barLabels.fontName = font
    c.barLabels.fontSize = 6
    c.barLabels.nudge = 12
    d.add(c)
    d.add(String(width - 35, 2, unit, fontName=font, fontSize=7, fillColor=colors.HexColor("#555555")))
    return d


def _sankey(flows: list[st.Bucket], width: float, font: str) -> Any:
    """A two-column Sankey (seller province → buyer province), drawn with reportlab paths."""
    from reportlab.graphics.shapes import Drawing, Path, Rect, String
    from reportlab.lib import colors

    height = 230.0
    d = Drawing(width, height, initialFontName=font)  # no unembedded Helvetica as the drawing's starting font
    total = sum(b.amount_yuan for b in flows) or 1
    provs = list(regions.PROVINCES)
    src = {p: sum(b.amount_yuan for b in flows if b.key.split(">")[0] == p) for p in provs}
    dst = {p: sum(b.amount_yuan for b in flows if b.key.split(">")[1] == p) for p in provs}
    gap, top, usable = 8.0, height - 20, height - 40 - 8 * 3
    x0, x1, nw = 110.0, width - 110.0, 14.0

    def layout(side: dict[str, int]) -> dict[str, list[float]]:
        y = top
        pos = {}
        for p in provs:
            h = usable * side[p] / total
            pos[p] = [y, y - h, y]  # top, bottom, cursor
            y -= h + (gap if side[p] else 0)
        return pos

    ls, rs = layout(src), layout(dst)
    for p in provs:
        col = colors.HexColor(PROVINCE_COLOURS[p])
        for x, pos, side, anchor, dx in ((x0 - nw, ls, src, "end", -4), (x1, rs, dst, "start", nw + 4)):
            if side[p] <= 0:
                continue
            top, bottom, _ = pos[p]
            d.add(Rect(x, bottom, nw, top - bottom, fillColor=col, strokeColor=None))
            d.add(String(x + dx, (top + bottom) / 2 - 3, f"{st.province_label(p)} {st.fmt_yi(side[p])}亿", fontName=font, fontSize=8, textAnchor=anchor))
    for b in sorted(flows, key=lambda b: -b.amount_yuan):
        s_p, d_p = b.key.split(">")
        h = usable * b.amount_yuan / total
        sy, dy = ls[s_p][2], rs[d_p][2]
        ls[s_p][2] -= h
        rs[d_p][2] -= h
        col = colors.HexColor(PROVINCE_COLOURS[s_p])
        fill = colors.Color(col.red, col.green, col.blue, alpha=0.35)
        path = Path(fillColor=fill, strokeColor=None)
        mx = (x0 + x1) / 2
        path.moveTo(x0, sy)
        path.curveTo(mx, sy, mx, dy, x1, dy)
        path.lineTo(x1, dy - h)
        path.curveTo(mx, dy - h, mx, sy - h, x0, sy - h)
        path.closePath()
        d.add(path)
    d.add(String(x0 - nw, height - 10, "卖方（技术输出）", fontName=font, fontSize=8))
    d.add(String(x1 + nw, height - 10, "买方（技术吸纳）", fontName=font, fontSize=8, textAnchor="end"))
    return d


def _money_table(rows: list[st.Bucket], first: str, styles: dict[str, Any], widths: list[float]) -> Any:
    from reportlab.platypus import Paragraph, Table

    from . import pdf

    data: list[list[Any]] = [[first, "合同数", "成交额（万元）", "技术交易额（万元）"]]
    for b in rows:
        data.append([Paragraph(pdf.text(b.label), styles["cell"]), f"{b.count:,}", st.fmt_wan(b.amount_yuan), st.fmt_wan(b.tech_amount_yuan)])
    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(pdf.table_style())
    return t


def report_pdf(f: st.Figures, generated: dt.date | None = None) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table

    from . import pdf

    font = pdf.register_font()
    sty = pdf.styles()
    generated = generated or local_today()
    buf = io.BytesIO()
    doc = pdf.doc(buf, f"京津冀技术合同与成果转化 {f.period.label} 年度报告")
    W = 174 * mm
    story: list[Any] = [
        Paragraph(f"京津冀技术合同与成果转化<br/>{f.period.label} 年度报告", sty["title"]),
        Paragraph(f"同心 · 京津冀科技资源对接平台　统计期：{f.period.start.isoformat()} 至 {f.period.end.isoformat()}　生成日期：{generated.isoformat()}", sty["small"]),
        Spacer(1, 5 * mm),
    ]
    kf = S.key_figures(f)
    cells = [[Paragraph(v, sty["kpi"]) for _, v, _ in kf[i:i + 3]] for i in (0, 3)]
    labels = [[Paragraph(f"{lab}<br/><font size=7>{note}</font>", sty["kpilabel"]) for lab, _, note in kf[i:i + 3]] for i in (0, 3)]
    kt = Table([cells[0], labels[0], cells[1], labels[1]], colWidths=[W / 3] * 3)
    ts = pdf.table_style(header_rows=0)
    ts.add("ALIGN", (0, 0), (-1, -1), "CENTER")
    ts.add("GRID", (0, 0), (-1, -1), 0, "#ffffff")
    ts.add("BOX", (0, 0), (-1, -1), 0.6, "#8b1a1a")
    kt.setStyle(ts)
    story += [kt, Spacer(1, 4 * mm)]
    g = f.growth
    top_park = f.by_park[0] if f.by_park else None
    bj = next((b for b in f.by_seller_province if b.key == "BJ"), None)
    summary = (f"{f.period.label} 年，经登记机构登记（已登记）的技术合同 {f.total.count:,} 项，成交额 {st.fmt_yi(f.total.amount_yuan)} 亿元"
               + ("" if g is None else f"，同比{'增长' if g >= 0 else '下降'} {abs(g) * 100:.1f}%") + "。"
               + (f"北京作为技术输出地成交 {st.fmt_yi(bj.amount_yuan)} 亿元，" if bj else "")
               + f"其中流向天津、河北 {st.fmt_yi(f.corridor_amount_yuan)} 亿元，“北京研发、津冀转化”格局持续巩固。"
               + (f"成交额最高的园区/区县为{top_park.label}，达 {st.fmt_yi(top_park.amount_yuan)} 亿元。" if top_park else ""))
    story += [Paragraph("一、总体情况", sty["h1"]), Paragraph(summary, sty["body"]), Spacer(1, 3 * mm)]
    story += [Paragraph("二、成交额走势", sty["h1"]),
              KeepTogether([Paragraph("按季度（亿元）", sty["h2"]),
                            _bar([b.key for b in f.by_quarter], [st.yuan_to_yi(b.amount_yuan) for b in f.by_quarter], W, 170, font, "亿元")]),
              _money_table(f.by_quarter, "季度", sty, [44 * mm, 30 * mm, 50 * mm, 50 * mm])]
    story += [Paragraph("三、区域协同：技术从哪里来、到哪里去", sty["h1"]),
              KeepTogether([Paragraph("跨地区流向（卖方所在地 → 买方所在地，按成交额）", sty["h2"]), _sankey(f.flows, W, font)]),
              _money_table(f.flows, "流向", sty, [44 * mm, 30 * mm, 50 * mm, 50 * mm]),
              Spacer(1, 3 * mm),
              _money_table(f.by_buyer_province, "技术吸纳地", sty, [44 * mm, 30 * mm, 50 * mm, 50 * mm])]
    story += [PageBreak(), Paragraph("四、园区与区县", sty["h1"]),
              KeepTogether([Paragraph("成交额前十的园区/区县（亿元）", sty["h2"]),
                            _hbar([b.label for b in f.by_park[:10]], [st.yuan_to_yi(b.amount_yuan) for b in f.by_park[:10]], W, font, "亿元")]),
              _money_table(f.by_park[:10], "园区/区县", sty, [64 * mm, 24 * mm, 43 * mm, 43 * mm])]
    story += [Paragraph("五、合同类型与技术领域", sty["h1"]),
              KeepTogether([Paragraph("按合同类型（亿元）", sty["h2"]),
                            _bar([b.label for b in f.by_type], [st.yuan_to_yi(b.amount_yuan) for b in f.by_type], W, 150, font, "亿元", "#e08a3c")]),
              _money_table(f.by_type, "合同类型", sty, [44 * mm, 30 * mm, 50 * mm, 50 * mm]), Spacer(1, 3 * mm),
              _money_table(f.by_industry[:10], "行业门类", sty, [64 * mm, 24 * mm, 43 * mm, 43 * mm])]
    funnel_rows: list[list[Any]] = [["环节", "数量", "较上一环节"]] + [[x.label, "—" if x.count is None else f"{x.count:,}", st.fmt_rate(x.rate)] for x in f.funnel]
    ft = Table(funnel_rows, colWidths=[60 * mm, 50 * mm, 50 * mm])
    ft.setStyle(pdf.table_style())
    d = f.days_to_contract
    story += [PageBreak(), Paragraph("六、对接转化", sty["h1"]), ft,
              Paragraph(("对接意向与接受数取自平台对接请求记录。" if f.funnel_source == "contact_requests"
                         else "平台尚未记录对接请求，“对接意向”暂缺，“接受对接”按由对接请求生成的洽谈计数。"), sty["small"]),
              Paragraph(f"从资源发布到签约：{d['n']} 项关联资源的合同，中位用时 {d['median'] if d['median'] is not None else '—'} 天，"
                        f"平均 {d['mean'] if d['mean'] is not None else '—'} 天。", sty["body"])]
    if f.resources.available:
        rows = [["地区", "仪器共享机时"]] + [[k, f"{v:,.1f}"] for k, v in f.resources.hours_by_region.items()]
        t = Table(rows, colWidths=[60 * mm, 50 * mm])
        t.setStyle(pdf.table_style())
        story += [Paragraph("仪器共享", sty["h2"]), t]
        if f.resources.policies_qualifying:
            rows = [["政策", "符合条件机构数"]] + [[Paragraph(pdf.text(p), sty["cell"]), str(n)] for p, n in f.resources.policies_qualifying[:10]]
            t = Table(rows, colWidths=[120 * mm, 40 * mm])
            t.setStyle(pdf.table_style())
            story += [Paragraph("惠企政策", sty["h2"]), t]
    story += [Paragraph("七、重点机构", sty["h1"]), Paragraph("技术输出前十（卖方）", sty["h2"]),
              _money_table(f.top_sellers, "机构", sty, [74 * mm, 20 * mm, 40 * mm, 40 * mm]), Spacer(1, 3 * mm),
              Paragraph("技术吸纳前十（买方）", sty["h2"]), _money_table(f.top_buyers, "机构", sty, [74 * mm, 20 * mm, 40 * mm, 40 * mm]),
              Spacer(1, 5 * mm),
              Paragraph("说明：金额单位除注明外为万元；地区按合同签订时双方机构所在地统计；园区未注明的按买方所在区县统计。统计口径：经技术合同登记机构登记的合同（已登记），按签订日期计入；"
                        f"本期另有 {f.not_registered_count:,} 项已签订但未登记（已提交、审核中或被退回），不计入。", sty["small"])]

    def footer(canvas: Any, doc_: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawCentredString(105 * mm, 10 * mm, f"同心 tongxin · {f.period.label} 年度报告 · 第 {doc_.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


# -- XLSX ------------------------------------------------------------------------------------------
def report_xlsx(f: st.Figures) -> bytes:
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "关键指标"
    ws.append([f"京津冀技术合同与成果转化 {f.period.label} 年度报告"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["统计期 period", f"{f.period.start.isoformat()} ~ {f.period.end.isoformat()}"])
    ws.append([])
    ws.append(["指标 measure", "数值 value", "说明 note"])
    for lab, v, note in S.key_figures(f):
        ws.append(xlsx_row(ws, [lab, v, note]))
    ws.append([])
    ws.append(["统计口径 counted", "已登记 registered（经技术合同登记机构登记，按签订日期）"])
    ws.append(["已登记合同数 registered contracts", f.total.count])
    ws.append(["已签订未登记（不计入）signed, not registered (left out)", f.not_registered_count])
    ws.append(["成交额（万元）amount", st.yuan_to_wan(f.total.amount_yuan)])
    ws.append(["技术交易额（万元）tech amount", st.yuan_to_wan(f.total.tech_amount_yuan)])
    ws.append(["成交额（元）amount in yuan", f.total.amount_yuan])
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 30
    charted = {"by_quarter", "by_buyer_province", "by_park", "by_type", "flows"}
    for name, (title, headers, rows) in S.tables(f).items():
        sh = wb.create_sheet(title[:31].replace("/", "／"))
        sh.append(headers)
        for c in sh[1]:
            c.font = Font(bold=True)
            c.fill = PatternFill("solid", fgColor="F3E6E6")
        for r in rows:
            sh.append(xlsx_row(sh, r))
        sh.column_dimensions["A"].width = 34
        for col in "BCD":
            sh.column_dimensions[col].width = 20
        if name in charted and rows:
            ch = BarChart()
            ch.title = title + "（万元）"
            ch.y_axis.title = "万元"
            ch.add_data(Reference(sh, min_col=3, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
            ch.set_categories(Reference(sh, min_col=1, min_row=2, max_row=len(rows) + 1))
            ch.height, ch.width = 8, 18
            sh.add_chart(ch, "F2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_report(f: st.Figures, fmt: str, path: str) -> None:
    data = report_pdf(f) if fmt == "pdf" else report_xlsx(f)
    with open(path, "wb") as fh:
        fh.write(data)
