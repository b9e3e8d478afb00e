"""Each record kind as a spreadsheet: the columns of its import template and of its export, in
one declaration, so a file exported re-imports and a column added appears in both.

`crm.imports` reads files by these columns (matching the headers officers really write);
`crm.exports` writes them.
"""

from __future__ import annotations

from crm.sheets.columns import Column, Sheet
from crm.sheets.directory import ACHIEVEMENTS, INSTITUTIONS, RESEARCHERS
from crm.sheets.firms import CONTACTS, ENTERPRISES, NEEDS, TASKS
from crm.sheets.projects import PROJECT_LISTS

#: Lists that import but do not export (a published project list is not how we keep projects).
IMPORT_ONLY: dict[str, Sheet] = {PROJECT_LISTS.kind: PROJECT_LISTS}
#: What imports read, in the order a tie in guessing the kind from the headers is settled.
SHEETS: dict[str, Sheet] = {
    s.kind: s for s in (ENTERPRISES, INSTITUTIONS, RESEARCHERS, NEEDS, ACHIEVEMENTS, CONTACTS)
} | IMPORT_ONLY
IMPORT_KINDS = tuple(SHEETS)
#: Lists that export but do not import.
EXPORT_ONLY: dict[str, Sheet] = {TASKS.kind: TASKS}
EXPORTS: dict[str, Sheet] = {k: s for k, s in SHEETS.items() if k not in IMPORT_ONLY} | EXPORT_ONLY
#: The kinds that both import and export (`crm export KIND`).
KIND_CHOICES = tuple(k for k in SHEETS if k not in IMPORT_ONLY)

__all__ = [
    "EXPORTS",
    "EXPORT_ONLY",
    "IMPORT_KINDS",
    "IMPORT_ONLY",
    "KIND_CHOICES",
    "SHEETS",
    "Column",
    "Sheet",
]
