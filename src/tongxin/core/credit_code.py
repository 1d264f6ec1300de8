"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), organisation category (1), administrative
division (6), organisation code (9, GB 11714), check character (1).
"""

from __future__ import annotations

import unicodedata

from .errors import Message

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters; I, O, Z, S, V are not used
_VALUE = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != 17:
        raise ValueError("need exactly 17 characters")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=False))
    return CHARSET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case without spaces; full-width characters (９１１１…) fold to ASCII."""
    return unicodedata.normalize("NFKC", code).strip().upper().replace(" ", "")


def problem(code: str) -> Message | None:
    """None when the code is valid, else a bilingual message naming the fix."""
    c = normalise(code)
    if len(c) != 18:
        return Message(
            f"应为 18 位，实际 {len(c)} 位",
            f"must be 18 characters, got {len(c)}",
        )
    bad = [ch for ch in c if ch not in _VALUE]
    if bad:
        return Message(
            f"含有不允许的字符 ‘{bad[0]}’（不使用 I、O、Z、S、V）",
            f"contains the character '{bad[0]}', which is not allowed (I, O, Z, S, V are never used)",
        )
    expected = check_character(c[:17])
    if c[17] != expected:
        return Message(
            f"校验位错误：应为 {expected}",
            f"check character should be {expected}",
        )
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None


def make(first17: str) -> str:
    """Complete a 17-character prefix with its check character."""
    p = normalise(first17)
    return p + check_character(p)
