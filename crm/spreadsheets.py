"""Writing .xlsx that reads well in Excel, WPS and LibreOffice: typed text, fitted columns,
wrapped long text with rows tall enough to show it.

A text cell is stored as text (`data_type = "s"`), never as a formula, so `=SUM(…)` or
`+86 139…` typed by an officer shows as typed and runs nothing — in a workbook no apostrophe is
needed (it would be visible, as LibreOffice shows). CSV has no types: there the apostrophe
guard stays (`guard`), as OWASP's CSV-injection advice says; the importer takes it off again.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

MIN_WIDTH = 6
MAX_WIDTH = 50  # wider text wraps instead
LINE_HEIGHT = 15  # points per line of 11-point text
#: What a spreadsheet runs as a formula when a text cell starts with it.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def guard(value: Any) -> Any:
    """A text cell Excel would evaluate gets a leading apostrophe (CSV only)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unguard(value: str) -> str:
    """Undo the guard as the importer reads a cell: `'+86 138…` → `+86 138…`."""
    if len(value) > 1 and value[0] == "'" and value.startswith(FORMULA_TRIGGERS, 1):
        return value[1:]
    return value


def display_width(value: Any) -> int:
    """Columns a value takes in a spreadsheet: CJK characters count two; the longest line."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else str(value)
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            for line in text.split("\n")
        ),
        default=0,
    )


def fitted_widths(rows: Iterable[list[Any]]) -> list[float]:
    """Column widths for these rows (the header among them): the widest value plus a margin,
    between MIN_WIDTH and MAX_WIDTH."""
    widths: list[int] = []
    for row in rows:
        for i, value in enumerate(row):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], display_width(value))
    return [float(min(MAX_WIDTH, max(MIN_WIDTH, w + 2))) for w in widths]


def lines_needed(value: Any, width: float) -> int:
    """Lines a wrapped value takes in a column this wide."""
    if not isinstance(value, str) or not value:
        return 1
    usable = max(1.0, width - 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in value.split("\n"))


def row_height(row: list[Any], widths: list[float]) -> float | None:
    """A height that shows every wrapped value whole, or None when one line does."""
    lines = max(
        (lines_needed(v, widths[i]) for i, v in enumerate(row) if i < len(widths)), default=1
    )
    return None if lines <= 1 else float(lines * LINE_HEIGHT)


def clean(value: Any) -> Any:
    """Without the control characters a worksheet cannot hold (openpyxl would refuse the
    whole file), and with line ends as XML will read them back."""
    if not isinstance(value, str):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", value).replace("\r\n", "\n").replace("\r", "\n")


def as_text(cell: Any) -> Any:
    """A cell holding a string is text, whatever it starts with."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell
