"""Shared checks on generated PDFs with poppler (pdftotext, pdfinfo, pdffonts from poppler-utils; the
built-in STSong-Light font also needs poppler-data). Without them the checks are skipped, except with
CI=true, where that is a failure (`scripts/system-deps.sh test` installs them)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

from tongxin.services import pdf as P

HOW = "PDF checks need poppler: apt-get install -y poppler-utils poppler-data (or: bash scripts/system-deps.sh test)"


def need_poppler() -> None:
    missing = [t for t in ("pdftotext", "pdfinfo", "pdffonts") if not shutil.which(t)]
    if not os.path.isdir("/usr/share/poppler/cMap"):
        missing.append("poppler-data")
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{HOW} (missing: {', '.join(missing)})")
        pytest.skip(HOW)


def _run(tool: str, data: bytes, tmp_path: pathlib.Path) -> str:
    need_poppler()
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    args = [tool, str(path), "-"] if tool == "pdftotext" else [tool, str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def pdf_text(data: bytes, tmp_path: pathlib.Path) -> str:
    return _run("pdftotext", data, tmp_path)


def pdf_info(data: bytes, tmp_path: pathlib.Path) -> dict[str, str]:
    out = _run("pdfinfo", data, tmp_path)
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines())}


def pdf_fonts(data: bytes, tmp_path: pathlib.Path) -> list[str]:
    return _run("pdffonts", data, tmp_path).splitlines()[2:]


def assert_font_as_chosen(data: bytes, tmp_path: pathlib.Path) -> None:
    """The PDF uses the font `choose_font` picked for this machine: embedded TrueType (FontFile2) when one
    is installed, else the built-in STSong-Light; its Creator says which; no other font is used."""
    choice = P.choose_font()
    assert data.startswith(b"%PDF")
    assert (b"FontFile2" in data) == choice.embedded
    assert pdf_info(data, tmp_path)["Creator"] == f"同心 tongxin · font: {choice.label}"
    fonts = pdf_fonts(data, tmp_path)
    assert fonts, "the PDF uses no font"
    if choice.embedded:
        assert all(" yes " in ln for ln in fonts), fonts  # every font embedded, no stray Helvetica
    else:
        assert all(ln.startswith("STSong-Light ") for ln in fonts), fonts
