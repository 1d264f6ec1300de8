"""Declarative attribute fields: one declaration feeds validation, forms, import columns and search.

A kind lists its `AttrField`s; `coerce_field` turns raw input (form text, Excel cell,
JSON value) into a clean Python value or a bilingual reason why not.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import Message

FieldType = Literal["int", "float", "str", "text", "date", "enum", "multi_enum", "bool", "patents"]


@dataclass(frozen=True)
class Choice:
    value: str
    zh: str
    en: str


FilterMode = Literal["at_least", "at_most", "choice"]


@dataclass(frozen=True)
class Filter:
    """How a field filters search results. `param` is the search parameter (kinds share it when
    their fields mean the same to a searcher: `budget` is a scenario's budget and a technology's
    asking price); `mode` says which listings pass for an asked value v:
    at_least — the listing's value ≥ v (TRL ≥ 6); at_most — the listing's value ≤ v (priced
    within a budget); choice — the listing's value is (or, for several values, includes) v.
    A kind with several fields on one param passes when any of them does. `zh`/`en` label the
    param on the search form (default: the field's label)."""

    mode: FilterMode
    param: str = ""
    zh: str = ""
    en: str = ""


@dataclass(frozen=True)
class AttrField:
    key: str
    zh: str
    en: str
    type: FieldType
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[Choice, ...] = ()
    searchable: bool = False  # the field's text is part of the listing's searchable body
    help_zh: str = ""
    help_en: str = ""
    example: str = ""
    unit_zh: str = ""
    unit_en: str = ""
    filter: Filter | None = None

    def __post_init__(self) -> None:
        if bool(self.unit_zh) != bool(self.unit_en):
            raise ValueError(f"field {self.key!r}: declare both unit_zh and unit_en, or neither")
        if self.filter is not None and self.filter.mode == "choice" and not self.choices:
            raise ValueError(f"field {self.key!r}: a choice filter needs choices")
        if self.filter is not None and self.filter.mode != "choice" and self.type not in ("int", "float"):
            raise ValueError(f"field {self.key!r}: at_least/at_most filters need a number field")

    def unit(self, lang: str = "zh") -> str:
        return self.unit_en if lang == "en" else self.unit_zh

    @property
    def filter_param(self) -> str:
        return (self.filter.param or self.key) if self.filter is not None else ""

    def filter_label(self, lang: str = "zh") -> str:
        f = self.filter
        zh = (f.zh if f is not None and f.zh else self.zh)
        en = (f.en if f is not None and f.en else self.en)
        return en if lang == "en" else zh

    def choice_label(self, value: str, lang: str = "zh") -> str:
        for c in self.choices:
            if c.value == value:
                return c.en if lang == "en" else c.zh
        return value

    def choice_for(self, raw: str) -> str | None:
        """Accept the stable value, the Chinese label or the English label."""
        r = fold(raw).strip()
        for c in self.choices:
            if r in (c.value, c.zh, fold(c.zh)) or r.lower() == fold(c.en).lower():
                return c.value
        return None


_EMPTY = (None, "")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(raw: Any) -> str:
    """Text as stored: stripped, line breaks as \\n, invisible control characters (pasted from
    Word and the like; XLSX cannot hold them) removed."""
    if raw is None:
        return ""
    if isinstance(raw, (list, tuple, dict)):  # a JSON value where text was expected: kept as JSON, not Python's repr
        raw = json.dumps(raw, ensure_ascii=False)
    return _CONTROL.sub("", str(raw).replace("\r\n", "\n").replace("\r", "\n")).strip()


_LIST_SPLIT = re.compile(r"[;；,，、|\n]+")


def split_list(raw: Any) -> list[str]:
    if raw in _EMPTY:
        return []
    if isinstance(raw, (list, tuple)):  # items are split too: no item may hold a separator (exports join with ;)
        return [p for x in raw for p in split_list(x)]
    return [clean_text(p) for p in _LIST_SPLIT.split(clean_text(raw)) if clean_text(p)]


def fold(raw: Any) -> Any:
    """NFKC-fold a string (full-width digits, letters and punctuation to their ASCII forms);
    other values pass through. Used before validating codes, numbers and dates, never on prose."""
    return unicodedata.normalize("NFKC", raw) if isinstance(raw, str) else raw


EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (it counts 1900-02-29, so serials from 61 on are days since this)
SERIAL_MIN, SERIAL_MAX = 20000, 80000  # 1954-10-03 .. 2119-01-12: a bare number in this range in a date column is a serial
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")


def _serial(days: float) -> dt.date:
    if not SERIAL_MIN <= days <= SERIAL_MAX:
        raise ValueError(f"not a date serial: {days}")
    return EXCEL_EPOCH + dt.timedelta(days=int(days))


def parse_date(raw: Any) -> dt.date:
    """A date from a date/datetime cell, an Excel serial (45658 = 2025-01-01) or text:
    2025-01-01, 2025/1/1, 2025.1.1, 2025年1月1日, 20250101 (full-width digits too), with an
    optional time after it. Raises ValueError otherwise."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _serial(raw)
    s = fold(str(raw)).strip()
    if _SERIAL.fullmatch(s):
        return _serial(float(s))
    if re.fullmatch(r"\d{8}", s):
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    m = _YMD.match(s)
    if m is None or s[m.end():].strip() and not re.fullmatch(r"T?\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*", s[m.end():]):
        raise ValueError(f"not a date: {raw!r}")
    return dt.date(int(m[1]), int(m[2]), int(m[3]))


# Chinese invention / utility-model / design application numbers: CN + year + type + 7 digits + . + check
PATENT_RE = re.compile(r"^(?:CN|ZL)?\s*(\d{4})([123])(\d{7})\.?([0-9X])$")
PATENT_STATUSES = (
    Choice("granted", "已授权", "granted"),
    Choice("pending", "审查中", "pending"),
    Choice("expired", "已失效", "expired"),
)


def patent_check_digit(digits12: str) -> str:
    """Check digit of a 12-digit Chinese patent application number (weights 2..9 cycling, mod 11)."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(int(d) * w for d, w in zip(digits12, weights, strict=False))
    r = total % 11
    return "X" if r == 10 else str(r)


def normalise_patent(raw: str) -> tuple[str | None, Message | None]:
    s = raw.strip().upper().replace(" ", "")
    m = PATENT_RE.match(s)
    if not m:
        return None, Message(
            f"专利号格式应为 CN+12位数字+校验位，如 CN202310123456.X，实际为 ‘{raw}’",
            f"patent number should look like CN202310123456.X (CN + 12 digits + check), got '{raw}'",
        )
    digits = m[1] + m[2] + m[3]
    expected = patent_check_digit(digits)
    if m[4] != expected:
        return None, Message(
            f"专利号 {raw} 校验位错误：应为 {expected}",
            f"patent number {raw}: check digit should be {expected}",
        )
    return f"CN{digits}.{expected}", None


def _num(raw: Any, as_int: bool) -> float | int:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, (int, float)):
        v = raw
    else:
        v = float(str(raw).strip().replace(",", "").replace("，", "").replace("万元", "").replace("万", ""))
    if not math.isfinite(v):
        raise ValueError  # NaN / infinity would slip past every range check
    if as_int:
        if float(v) != int(float(v)):
            raise ValueError
        return int(float(v))
    return float(v)


def coerce_field(f: AttrField, raw: Any) -> tuple[Any, Message | None]:
    """Return (value, None) or (None, problem). Empty input gives (None, None) unless required."""
    if raw in _EMPTY or (isinstance(raw, (list, tuple)) and not raw):
        if f.required:
            return None, Message("为必填项，请填写", "is required; please fill it in")
        return ([] if f.type in ("multi_enum", "patents") else None), None
    t = f.type
    if t not in ("str", "text"):
        raw = fold(raw)  # full-width digits and letters read as their ASCII forms
    try:
        if t in ("int", "float"):
            v = _num(raw, t == "int")
            if f.min is not None and v < f.min or f.max is not None and v > f.max:
                lo = "" if f.min is None else f"{f.min:g}"
                hi = "" if f.max is None else f"{f.max:g}"
                return None, Message(f"应在 {lo}–{hi} 之间，实际为 {raw}", f"must be between {lo} and {hi}, got {raw}")
            return v, None
        if t in ("str", "text"):
            s = clean_text(raw)
            limit = int(f.max or (200 if t == "str" else 5000))
            if len(s) > limit:
                return None, Message(f"过长：最多 {limit} 字，实际 {len(s)} 字", f"too long: at most {limit} characters, got {len(s)}")
            return s, None
        if t == "date":
            return parse_date(raw), None
        if t == "bool":
            s = str(raw).strip().lower()
            if s in ("1", "true", "yes", "y", "是", "对", "√"):
                return True, None
            if s in ("0", "false", "no", "n", "否", "×"):
                return False, None
            raise ValueError
        if t == "enum":
            choice = f.choice_for(str(raw))
            if choice is None:
                raise ValueError
            return choice, None
        if t == "multi_enum":
            out: list[str] = []
            for part in split_list(raw):
                choice = f.choice_for(part)
                if choice is None:
                    return None, _choice_problem(f, part)
                if choice not in out:
                    out.append(choice)
            return out, None
        if t == "patents":
            return _coerce_patents(raw)
    except (ValueError, TypeError):
        pass
    return None, _type_problem(f, raw)


def _choice_problem(f: AttrField, raw: Any) -> Message:
    zh = "、".join(c.zh for c in f.choices)
    en = ", ".join(c.en for c in f.choices)
    return Message(f"‘{raw}’ 不是可选值，请从以下选择：{zh}", f"'{raw}' is not allowed; choose one of: {en}")


def _type_problem(f: AttrField, raw: Any) -> Message:
    if f.type in ("enum", "multi_enum"):
        return _choice_problem(f, raw)
    what = {
        "int": ("整数", "a whole number"),
        "float": ("数字", "a number"),
        "date": ("日期（如 2026-03-31）", "a date such as 2026-03-31"),
        "bool": ("是 / 否", "yes / no"),
    }.get(f.type, ("有效值", "a valid value"))
    return Message(f"应为{what[0]}，实际为 ‘{raw}’", f"should be {what[1]}, got '{raw}'")


def _coerce_patents(raw: Any) -> tuple[Any, Message | None]:
    items: list[dict[str, str]] = []
    entries: list[Any] = raw if isinstance(raw, list) else split_list(raw)
    for e in entries:
        if isinstance(e, dict):
            number, status = str(e.get("number", "")), str(e.get("status", "pending"))
        else:
            text = str(e)
            number, _, status = text.partition("(") if "(" in text else text.partition("（")
            status = status.rstrip(")）").strip() or "pending"
        num, problem = normalise_patent(number)
        if problem:
            return None, problem
        st = next((c.value for c in PATENT_STATUSES if status in (c.value, c.zh, c.en)), None)
        if st is None:
            return None, Message(
                f"专利状态 ‘{status}’ 无效，应为 已授权 / 审查中 / 已失效",
                f"patent status '{status}' is invalid; use granted / pending / expired",
            )
        items.append({"number": str(num), "status": st})
    return items, None


def display_value(f: AttrField, value: Any, lang: str = "zh") -> str:
    """A human-readable rendering, used by pages and exports."""
    if value in (None, "", []):
        return ""
    if f.type == "enum":
        return f.choice_label(value, lang)
    if f.type == "multi_enum":
        return ("、" if lang != "en" else ", ").join(f.choice_label(v, lang) for v in value)
    if f.type == "patents":
        lab = {c.value: (c.en if lang == "en" else c.zh) for c in PATENT_STATUSES}
        return "; ".join(f"{p['number']}({lab.get(p['status'], p['status'])})" for p in value)
    if f.type == "bool":
        return ("yes" if value else "no") if lang == "en" else ("是" if value else "否")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def export_value(f: AttrField, value: Any) -> Any:
    """A value that `coerce_field` reads back unchanged (round-trip safe)."""
    if value in (None, "", []):
        return ""
    if f.type == "multi_enum":
        return ";".join(value)
    if f.type == "patents":
        return ";".join(f"{p['number']}({p['status']})" for p in value)
    if f.type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if f.type == "bool":
        return "yes" if value else "no"
    return value


Validator = Callable[[dict[str, Any]], list[tuple[str, Message]]]


@dataclass(frozen=True)
class Range:
    """A min/max pair that must be ordered (e.g. price range)."""

    low: str
    high: str

    def check(self, attrs: dict[str, Any]) -> list[tuple[str, Message]]:
        lo, hi = attrs.get(self.low), attrs.get(self.high)
        if lo is not None and hi is not None and lo > hi:
            return [(self.high, Message(f"上限 {hi} 小于下限 {lo}，请对调或更正", f"upper bound {hi} is below the lower bound {lo}; swap or correct them"))]
        return []


@dataclass(frozen=True)
class Rules:
    ranges: tuple[Range, ...] = ()
    extra: tuple[Validator, ...] = field(default=())
