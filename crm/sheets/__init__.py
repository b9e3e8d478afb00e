"""Each record kind as a spreadsheet: the columns of its import template and of its export, in
one declaration, so a file exported re-imports and a column added appears in both.

`crm.imports` reads files by these columns (matching the headers officers really write);
`crm.exports` writes them.
"""

from __future__ import annotations

from crm.sheets.columns import Column, Sheet
from crm.sheets.directory import ACHIEVEMENTS, INSTITUTIONS, RESEARCHERS
from crm.sheets.firms import CONTACTS, ENTERPRISES, NEEDS, TASKS

SHEETS: dict[str, Sheet] = {
    s.kind: s for s in (ENTERPRISES, INSTITUTIONS, RESEARCHERS, NEEDS, ACHIEVEMENTS, CONTACTS)
}
KIND_CHOICES = tuple(SHEETS)
#: Lists that export but do not import.
EXPORT_ONLY: dict[str, Sheet] = {TASKS.kind: TASKS}
EXPORTS: dict[str, Sheet] = SHEETS | EXPORT_ONLY

__all__ = ["EXPORTS", "EXPORT_ONLY", "KIND_CHOICES", "SHEETS", "Column", "Sheet"]
