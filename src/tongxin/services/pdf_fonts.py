"""Which CJK font the PDFs use. A PDF never fails for want of a font file:

1. `TONGXIN_CJK_FONT` names a TrueType font file (.ttf, or .ttc / .otc with TrueType outlines), or
   `STSong-Light` to force the built-in font;
2. else the first usable CJK font in the font directories (`TONGXIN_FONT_DIRS`, a `:`-separated list;
   default: the system and user font directories), well-known TrueType CJK fonts first
   (fonts-wqy-zenhei, fonts-wqy-microhei, Droid Sans Fallback, AR PL UMing / UKai);
3. else reportlab's built-in Adobe CID font for Simplified Chinese, `STSong-Light`: no font file
   needed, not embedded (the viewer draws it with its own Song/Ming typeface; poppler needs
   poppler-data for that).

reportlab embeds only TrueType outlines: CFF-based OpenType fonts (Noto Sans CJK .otf/.ttc, Source Han)
are detected from their header and skipped, and the skip is logged and kept in `FontChoice.skipped`."""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache

log = logging.getLogger(__name__)

BUILTIN = "STSong-Light"
DEFAULT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
KNOWN = ("wqy-zenhei.ttc", "wqy-microhei.ttc", "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "uming.ttc", "ukai.ttc")
EXTENSIONS = (".ttf", ".ttc", ".otf", ".otc")
MIN_CJK_BYTES = 1_000_000  # a font covering the 3,500 common hanzi is larger than this; smaller files are not tried
MAX_TRIES = 40  # font files opened while scanning, so a machine with thousands of fonts stays quick
PROBE = "中文同心技术合同"  # every one must have a glyph


@dataclass(frozen=True)
class FontChoice:
    name: str  # the reportlab font name to use in styles
    label: str  # what the PDF metadata and the CLI say, e.g. "WenQuanYi Zen Hei (wqy-zenhei.ttc, embedded)"
    path: str = ""  # empty for the built-in CID font
    subfont: int = 0
    skipped: tuple[str, ...] = field(default=())  # "path: reason" for each font passed over

    @property
    def embedded(self) -> bool:
        return bool(self.path)


def outline_kinds(path: str) -> list[str]:
    """The outline kind of each face in a font file, from its header: 'truetype', 'cff' or 'unknown'."""
    def kind(tag: bytes) -> str:
        return "truetype" if tag in (b"\x00\x01\x00\x00", b"true") else "cff" if tag == b"OTTO" else "unknown"

    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"ttcf":
            return [kind(head[:4])]
        (n,) = struct.unpack(">I", head[8:12])
        offsets = struct.unpack(f">{min(n, 64)}I", fh.read(4 * min(n, 64)))
        kinds = []
        for off in offsets:
            fh.seek(off)
            kinds.append(kind(fh.read(4)))
        return kinds


def _try_font(path: str) -> tuple[int, str, str]:
    """(subfont index, face name, '') for the first TrueType face with CJK glyphs, else (-1, '', reason)."""
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        kinds = outline_kinds(path)
    except OSError as e:
        return -1, "", f"cannot read ({e.strerror})"
    if "truetype" not in kinds:
        return -1, "", "CFF (PostScript) outlines: reportlab cannot embed them" if "cff" in kinds else "not a TrueType/OpenType font"
    for i, k in enumerate(kinds):
        if k != "truetype":
            continue
        try:
            face = TTFont("probe", path, subfontIndex=i).face
        except Exception as e:  # noqa: BLE001 - any unreadable font is skipped, with the reason
            return -1, "", f"unreadable ({e})"
        if all(ord(ch) in face.charToGlyph for ch in PROBE):
            name = face.familyName.decode("utf-8", "replace") if isinstance(face.familyName, bytes) else str(face.familyName)
            return i, name, ""
    return -1, "", "no Chinese glyphs"


def _candidates(dirs: list[str]) -> list[str]:
    found: list[str] = []
    for d in dirs:
        for root, _sub, files in os.walk(os.path.expanduser(d)):
            found += [os.path.join(root, f) for f in files if f.lower().endswith(EXTENSIONS)]

    def rank(p: str) -> tuple[int, str]:
        base = os.path.basename(p)
        return (KNOWN.index(base) if base in KNOWN else len(KNOWN), p)

    return [p for p in sorted(set(found), key=rank) if _size(p) >= MIN_CJK_BYTES]


def _size(p: str) -> int:
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def font_dirs(env: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    e = os.environ if env is None else env
    raw = e.get("TONGXIN_FONT_DIRS", "")
    return [d for d in raw.split(os.pathsep) if d] if raw else list(DEFAULT_DIRS)


def choose_font() -> FontChoice:
    """The font for the current settings (cached per TONGXIN_CJK_FONT / TONGXIN_FONT_DIRS value)."""
    return _choose(os.environ.get("TONGXIN_CJK_FONT", ""), tuple(font_dirs()))


@lru_cache(maxsize=8)
def _choose(explicit: str, dirs: tuple[str, ...]) -> FontChoice:
    skipped: list[str] = []
    if explicit.strip().lower() in (BUILTIN.lower(), "builtin"):
        return _builtin(skipped)
    if explicit:
        if not os.path.exists(explicit):
            skipped.append(f"{explicit}: TONGXIN_CJK_FONT file does not exist")
        else:
            got = _use(explicit, skipped)
            if got:
                return got
    for tries, path in enumerate(_candidates(list(dirs))):
        if tries >= MAX_TRIES:
            break
        got = _use(path, skipped)
        if got:
            return got
    return _builtin(skipped)


def _use(path: str, skipped: list[str]) -> FontChoice | None:
    index, face, reason = _try_font(path)
    if index < 0:
        skipped.append(f"{path}: {reason}")
        log.info("PDF font skipped / 跳过字体 %s: %s", path, reason)
        return None
    stem = os.path.splitext(os.path.basename(path))[0]
    return FontChoice(f"TongxinCJK-{stem}-{index}", f"{face} ({os.path.basename(path)}, embedded)", path, index, tuple(skipped))


def _builtin(skipped: list[str]) -> FontChoice:
    if skipped:
        log.warning("PDF 使用内置字体 STSong-Light（未嵌入）/ PDFs use the built-in STSong-Light font (not embedded); skipped: %s",
                    "; ".join(skipped))
    return FontChoice(BUILTIN, f"{BUILTIN} (built-in CID, not embedded)", skipped=tuple(skipped))
