"""Formula-safe cells for every file a spreadsheet opens (CSV and XLSX exports, reports, templates).

Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula ("formula injection": `=HYPERLINK(...)`, `-2+3+cmd|...`). Every writer passes
its values through one helper:

- `safe_cell(value)` for CSV: such text gets a leading `'` (the spreadsheet convention for "this is
  text"); `unquote_cell` takes it off again on import, so exports still round-trip.
- `xlsx_row(ws, values)` for openpyxl rows: such text becomes a text cell marked with Excel's own
  quote prefix (the cell shows the text, and stays text when edited), with no `'` in its value.

Numbers stay numbers: int/float/Decimal values (a negative amount too) are written as numbers, untouched.
Text is judged by its first character only ("+86 10 …", "-12.5" as text are quoted too); a lone "-" or "+"
(a placeholder, never evaluated) is left alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would evaluate (or that starts with a tab / carriage return)."""
    return isinstance(value, str) and value.startswith(TRIGGERS) and value not in ("-", "+")


def _needs_quote(value: Any) -> bool:
    # text already starting with quotes before a trigger ("'=x") gets one more, so unquote_cell is its exact inverse
    return isinstance(value, str) and is_formula_like(value.lstrip("'"))


def safe_cell(value: Any) -> Any:
    """The value to write into a CSV cell: formula-like text prefixed with `'`, everything else unchanged."""
    return "'" + value if _needs_quote(value) else value


def unquote_cell(value: Any) -> Any:
    """The inverse of `safe_cell`, for imports: `'=x` → `=x`; a `'` before anything else is kept."""
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def xlsx_cell(ws: Any, value: Any) -> Any:
    """A value for `ws.append` (normal or write-only worksheet): formula-like text as a quote-prefixed text cell."""
    if not is_formula_like(value):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # openpyxl would store "=..." as a formula
    cell.quotePrefix = True
    return cell


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(ws, v) for v in values]


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
