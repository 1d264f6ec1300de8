"""Local PDF rendering (reportlab) with a CJK font, so reports read correctly on any machine.
Which font: `pdf_fonts.choose_font` (an embedded TrueType CJK font when one is installed, else
reportlab's built-in STSong-Light, which needs no font file). The PDF's Creator names the font."""

from __future__ import annotations

from typing import Any

from .pdf_fonts import BUILTIN, FontChoice, choose_font

__all__ = ["FontChoice", "choose_font", "creator", "doc", "register_font", "styles", "table_style", "text"]


def register_font() -> str:
    """Register the chosen CJK font with reportlab (regular, bold and italic map to the same face:
    CJK fonts rarely ship them, and <b> must not fall back to Helvetica); return its font name."""
    from reportlab import rl_config
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics

    choice = choose_font()
    if choice.name not in pdfmetrics.getRegisteredFontNames():
        if choice.embedded:
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont(choice.name, choice.path, subfontIndex=choice.subfont))
        else:
            pdfmetrics.registerFont(_builtin_font())
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(choice.name, bold, italic, choice.name)
    rl_config.canvas_basefontname = choice.name  # no unembedded Helvetica as the canvas's starting font
    return choice.name


# characters the built-in font's Unicode map (UniGB-UCS2-H) lacks, drawn as a box otherwise → a look-alike it has
BUILTIN_SUBSTITUTES = str.maketrans({"\u00b7": "\u30fb", "\u2022": "\u30fb", "\u2027": "\u30fb"})


def _builtin_font() -> Any:  # reportlab has no type information
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    class BuiltinCJK(UnicodeCIDFont):
        """STSong-Light with the middle dot and bullet mapped to the katakana middle dot it does have."""

        def formatForPdf(self, text: str | bytes) -> bytes:
            return super().formatForPdf(_substitute(text))

        def stringWidth(self, text: str | bytes, size: float, encoding: str | None = None) -> float:
            return super().stringWidth(_substitute(text), size, encoding)

    return BuiltinCJK(BUILTIN)


def _substitute(text: str | bytes) -> str:
    return (text.decode("utf-8") if isinstance(text, bytes) else text).translate(BUILTIN_SUBSTITUTES)


def text(value: object) -> str:
    """User text for a reportlab Paragraph, which reads XML markup: `&`, `<`, `>` escaped, so a title
    such as "R&D <二期>" prints as written instead of failing the whole PDF."""
    from xml.sax.saxutils import escape

    return escape("" if value is None else str(value))


def creator() -> str:
    """The PDF's Creator entry: the program and the font, e.g. "同心 tongxin · font: STSong-Light (built-in CID, not embedded)"."""
    return f"同心 tongxin · font: {choose_font().label}"


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


def table_style(header_rows: int = 1) -> Any:  # a reportlab TableStyle
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


def doc(path_or_buf: object, title: str) -> Any:  # a reportlab SimpleDocTemplate
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    f = register_font()
    return SimpleDocTemplate(path_or_buf, pagesize=A4, title=title, author="同心 tongxin", creator=creator(), leftMargin=18 * mm, rightMargin=18 * mm,
                             topMargin=18 * mm, bottomMargin=18 * mm, initialFontName=f, initialFontSize=10)
