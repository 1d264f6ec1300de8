"""Local PDF rendering (reportlab) with an embedded CJK TrueType font, so reports read correctly on
any machine. The font comes from Debian's fonts-wqy-zenhei (TrueType outlines, which reportlab
can embed and subset); TONGXIN_CJK_FONT may point at another TrueType .ttf/.ttc."""

from __future__ import annotations

import os
from functools import lru_cache

from ..core.errors import Message, TongxinError

FONT = "TongxinCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(TongxinError):
    code = "font_missing"
    status = 500


def font_path() -> str:
    env = os.environ.get("TONGXIN_CJK_FONT", "")
    for p in ([env] if env else []) + list(CANDIDATES):
        if p and os.path.exists(p):
            return p
    raise FontMissing(Message(
        "找不到中文字体，无法生成 PDF：请安装 fonts-wqy-zenhei（apt-get install fonts-wqy-zenhei），或用 TONGXIN_CJK_FONT 指定 TrueType 字体文件",
        "no CJK font found for the PDF: install fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei) or point TONGXIN_CJK_FONT at a TrueType font"))


@lru_cache(maxsize=1)
def register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = font_path()
    kwargs = {"subfontIndex": 0} if path.endswith(".ttc") else {}
    pdfmetrics.registerFont(TTFont(FONT, path, **kwargs))
    # bold / italic map to the same face: CJK fonts rarely ship them, and <b> must not fall back to Helvetica
    from reportlab.lib.fonts import addMapping

    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT, bold, italic, FONT)
    from reportlab import rl_config

    rl_config.canvas_basefontname = FONT  # no unembedded Helvetica as the canvas's starting font
    return FONT


def styles() -> dict[str, object]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    f = register_font()
    base = ParagraphStyle("body", fontName=f, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#555555")),
        "title": ParagraphStyle("title", parent=base, fontSize=22, leading=30, spaceAfter=8, textColor=colors.HexColor("#8b1a1a")),
        "h1": ParagraphStyle("h1", parent=base, fontSize=15, leading=21, spaceBefore=10, spaceAfter=6, textColor=colors.HexColor("#8b1a1a"),
                             keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=17, spaceBefore=6, spaceAfter=4, keepWithNext=1),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "kpi": ParagraphStyle("kpi", parent=base, fontSize=18, leading=22, alignment=1, textColor=colors.HexColor("#8b1a1a")),
        "kpilabel": ParagraphStyle("kpilabel", parent=base, fontSize=9, leading=12, alignment=1, textColor=colors.HexColor("#555555")),
    }


def table_style(header_rows: int = 1) -> object:
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    f = register_font()
    return TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), f),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("LEADING", (0, 0), (-1, -1), 12),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#f3e6e6")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, header_rows), (-1, -1), "RIGHT"),
    ])


def doc(path_or_buf: object, title: str) -> object:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    f = register_font()
    return SimpleDocTemplate(path_or_buf, pagesize=A4, title=title, author="同心 tongxin", leftMargin=18 * mm, rightMargin=18 * mm,
                             topMargin=18 * mm, bottomMargin=18 * mm, initialFontName=f, initialFontSize=10)
