"""PDFs never fail for want of a font file: with the font directories hidden they use reportlab's
built-in STSong-Light and still carry extractable Chinese; an installed TrueType CJK font (.ttf/.ttc)
is embedded; CFF-based OpenType fonts (Noto Sans CJK) are detected and skipped; TONGXIN_CJK_FONT is
honoured. The PDF's Creator names the font."""

from __future__ import annotations

import pathlib

import pytest
from pdf_support import assert_font_as_chosen, pdf_fonts, pdf_info, pdf_text

from tongxin.services import contracts as C
from tongxin.services import pdf as P
from tongxin.services.pdf_fonts import DEFAULT_DIRS, KNOWN, outline_kinds

SECTIONS = [("合同基本信息", "Contract", [("合同名称", "Title", "城轨列车控制系统技术许可合同"), ("卖方", "Seller", "北京交通大学")]),
            ("登记信息", "Registration", [("登记编号", "No.", "20251201140001"), ("备注", "Note", "")])]
NOTO_CJK = pathlib.Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _installed_truetype_cjk() -> pathlib.Path:
    for d in DEFAULT_DIRS:
        for name in KNOWN:
            hits = sorted(pathlib.Path(d).expanduser().rglob(name)) if pathlib.Path(d).expanduser().is_dir() else []
            if hits:
                return hits[0]
    import os

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("no TrueType CJK font installed: bash scripts/system-deps.sh test installs fonts-wqy-zenhei")
    pytest.skip("no TrueType CJK font installed (apt-get install fonts-wqy-zenhei)")


@pytest.fixture
def fonts(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """An empty font directory as the only one searched; TONGXIN_CJK_FONT unset."""
    d = tmp_path / "fonts"
    d.mkdir()
    monkeypatch.setenv("TONGXIN_FONT_DIRS", str(d))
    monkeypatch.delenv("TONGXIN_CJK_FONT", raising=False)
    return d


def _fake_cff(path: pathlib.Path, collection: bool = False) -> pathlib.Path:
    """A file with a CFF OpenType header ('OTTO'), or a collection of two such faces, padded past the size cut-off."""
    if collection:
        head = b"ttcf" + b"\x00\x01\x00\x00" + (2).to_bytes(4, "big") + (20).to_bytes(4, "big") + (24).to_bytes(4, "big") + b"OTTOOTTO"
    else:
        head = b"OTTO\x00\x0a\x00\x80"
    path.write_bytes(head + b"\x00" * 1_100_000)
    return path


def test_no_font_files_gives_builtin_cid_font_with_extractable_chinese(fonts: pathlib.Path, tmp_path: pathlib.Path) -> None:
    choice = P.choose_font()
    assert (choice.name, choice.embedded) == ("STSong-Light", False)
    data = C.package_pdf(SECTIONS, "A-1")
    assert b"FontFile2" not in data
    assert pdf_info(data, tmp_path)["Creator"] == "同心 tongxin · font: STSong-Light (built-in CID, not embedded)"
    text = pdf_text(data, tmp_path)
    assert "技术合同认定登记材料" in text and "北京交通大学" in text and "城轨列车控制系统技术许可合同" in text
    assert_font_as_chosen(data, tmp_path)


def test_installed_truetype_collection_is_embedded(fonts: pathlib.Path, tmp_path: pathlib.Path) -> None:
    real = _installed_truetype_cjk()
    (fonts / real.name).symlink_to(real)
    choice = P.choose_font()
    assert choice.embedded and choice.path == str(fonts / real.name) and "embedded" in choice.label
    data = C.package_pdf(SECTIONS, "A-1")
    assert b"FontFile2" in data
    assert pdf_info(data, tmp_path)["Creator"] == f"同心 tongxin · font: {choice.label}"
    assert all(" yes " in ln for ln in pdf_fonts(data, tmp_path))
    assert "北京交通大学" in pdf_text(data, tmp_path)


def test_cff_fonts_are_detected_and_skipped(fonts: pathlib.Path) -> None:
    otf = _fake_cff(fonts / "NotoSansCJKsc-Regular.otf")
    ttc = _fake_cff(fonts / "NotoSansCJK-Regular.ttc", collection=True)
    assert outline_kinds(str(otf)) == ["cff"] and outline_kinds(str(ttc)) == ["cff", "cff"]
    choice = P.choose_font()
    assert choice.name == "STSong-Light"
    assert sorted(choice.skipped) == sorted(f"{p}: CFF (PostScript) outlines: reportlab cannot embed them" for p in (otf, ttc))


def test_debian_noto_cjk_is_recognised_as_cff() -> None:
    if not NOTO_CJK.exists():
        pytest.skip("fonts-noto-cjk is not installed")
    assert set(outline_kinds(str(NOTO_CJK))) == {"cff"}


def test_cjk_font_setting_is_honoured(fonts: pathlib.Path, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    real = _installed_truetype_cjk()
    monkeypatch.setenv("TONGXIN_CJK_FONT", str(real))  # found although the font directories are empty
    assert P.choose_font().path == str(real)
    monkeypatch.setenv("TONGXIN_FONT_DIRS", str(real.parent))
    monkeypatch.setenv("TONGXIN_CJK_FONT", "STSong-Light")  # forces the built-in font although one is installed
    assert P.choose_font().name == "STSong-Light"
    assert b"FontFile2" not in C.package_pdf(SECTIONS, "A-1")


def test_unusable_cjk_font_setting_falls_back_and_says_why(fonts: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = fonts / "nope.ttf"
    monkeypatch.setenv("TONGXIN_CJK_FONT", str(missing))
    assert P.choose_font().skipped == (f"{missing}: TONGXIN_CJK_FONT file does not exist",)
    cff = _fake_cff(fonts.parent / "SourceHanSansSC-Regular.otf")
    monkeypatch.setenv("TONGXIN_CJK_FONT", str(cff))
    choice = P.choose_font()
    assert choice.name == "STSong-Light" and choice.skipped == (f"{cff}: CFF (PostScript) outlines: reportlab cannot embed them",)
    assert C.package_pdf(SECTIONS, "A-1").startswith(b"%PDF")


def test_font_without_chinese_glyphs_is_skipped(fonts: pathlib.Path) -> None:
    latin = next((p for d in DEFAULT_DIRS for p in sorted(pathlib.Path(d).rglob("DejaVuSans.ttf"))), None) if pathlib.Path(DEFAULT_DIRS[0]).is_dir() else None
    if latin is None:
        pytest.skip("fonts-dejavu-core is not installed")
    big = fonts / "Latin.ttf"
    big.write_bytes(latin.read_bytes() + b"\x00" * 1_100_000)  # past the size cut-off, still a valid font
    choice = P.choose_font()
    assert choice.name == "STSong-Light" and choice.skipped == (f"{big}: no Chinese glyphs",)


def test_builtin_font_draws_middle_dots_it_lacks_with_one_it_has(fonts: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from reportlab.pdfbase import pdfmetrics

    P.register_font()
    f = pdfmetrics.getFont("STSong-Light")
    assert f.formatForPdf("同心 · tongxin • 报告") == f.formatForPdf("同心 ・ tongxin ・ 报告")  # U+00B7, U+2022 are not in UniGB-UCS2-H
    assert f.stringWidth("·", 10) == f.stringWidth("・", 10)
    assert "同心 · 京津冀" in pdf_text(C.package_pdf([("合同", "Contract", [("名称", "Title", "同心 · 京津冀")])], "A-1"), tmp_path)
