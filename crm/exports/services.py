"""Exporting what a list shows, laid out like the import templates (so an export re-imports).

In a CSV, cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
get a leading apostrophe (EspoCRM shipped without this: espocrm/espocrm#2052; OWASP's advice);
the importer takes it off again, so `+86 138…` survives the round trip. In an .xlsx they are
typed text cells instead, which no program evaluates and which show no apostrophe. Personal
data is masked for those who see it masked on screen, and every export is an audit entry: who,
which filter, how many rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import selectinload

from crm import policy, privacy
from crm.audit import services as audit
from crm.auth.models import User
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.needs.models import Need
from crm.sheets import EXPORTS, Sheet
from crm.spreadsheets import as_text, clean, fitted_widths, guard, lines_needed, row_height
from crm.visits.models import Task

BATCH = 500


def export_row(sheet: Sheet, record: Any, personal: bool) -> list[Any]:
    """A record's cells in the sheet's exported columns; personal data masked unless
    `personal` (the user sees it in full on screen)."""
    cells = []
    for column in sheet.exported:
        value = column.value(record)
        if column.personal and not personal:
            mask = privacy.mask_email if column.key == "email" else privacy.mask_phone
            value = mask(value) or None
        cells.append(value)
    return cells


@dataclass(frozen=True)
class Layout:
    model: type
    options: Callable[[], tuple[Any, ...]]  # loader options (built late: mappers first)
    table: str


LAYOUTS: dict[str, Layout] = {
    "enterprises": Layout(
        Enterprise,
        lambda: (
            selectinload(Enterprise.contacts),
            selectinload(Enterprise.town),
            selectinload(Enterprise.industries),
        ),
        "enterprise",
    ),
    "institutions": Layout(
        Institution, lambda: (selectinload(Institution.aliases),), "institution"
    ),
    "researchers": Layout(
        Researcher, lambda: (selectinload(Researcher.institution),), "researcher"
    ),
    "needs": Layout(Need, lambda: (selectinload(Need.enterprise),), "need"),
    "achievements": Layout(
        Achievement,
        lambda: (selectinload(Achievement.institution), selectinload(Achievement.researcher)),
        "achievement",
    ),
    "tasks": Layout(
        Task, lambda: (selectinload(Task.enterprise), selectinload(Task.assignee)), "task"
    ),
    "contacts": Layout(
        Contact,
        lambda: (selectinload(Contact.enterprise), selectinload(Contact.institution)),
        "contact",
    ),
}


@dataclass
class ExportSpec:
    kind: str
    query: sa.Select[Any]  # the list's own filtered statement
    filters: dict[str, str] = field(default_factory=dict)  # for the audit entry


def everything(kind: str) -> sa.Select[Any]:
    model = LAYOUTS[kind].model
    return sa.select(model).where(model.deleted_at.is_(None)).order_by(model.id)


def count(spec: ExportSpec) -> int:
    inner = spec.query.order_by(None).with_only_columns(LAYOUTS[spec.kind].model.id)
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(inner.subquery())) or 0)


def rows(spec: ExportSpec, personal: bool) -> Iterator[list[Any]]:
    """The header, then one row per record, loaded in batches (the writers guard cells).

    Takes what the exporting user may see as a plain flag, not the user: a streamed download
    runs this after its request's session is gone (an ORM object from it would be detached).
    `personal`: phones and e-mails in full (else masked)."""
    layout, sheet = LAYOUTS[spec.kind], EXPORTS[spec.kind]
    yield [c.header for c in sheet.exported]
    stmt = spec.query.options(*layout.options()).execution_options(yield_per=BATCH)
    for record in db.session.scalars(stmt):
        yield export_row(sheet, record, personal)


def record(user: User, spec: ExportSpec, fmt: str, total: int) -> None:
    """The audit entry of an export (the caller commits it)."""
    audit.record_event(
        "export",
        LAYOUTS[spec.kind].table,
        0,
        user.id,
        format=fmt,
        rows=total,
        filters=spec.filters or "全部",
    )


def csv_chunks(lines: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with BOM (so Excel opens it as UTF-8), CRLF lines, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff".encode()
    for n, line in enumerate(lines, 1):
        writer.writerow(["" if v is None else guard(_csv_safe(v)) for v in line])
        if n % BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_safe(value: Any) -> Any:
    """NUL marks a binary file: a stray one in a field would make our own export unreadable."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _header_cell(ws: Any, value: Any) -> WriteOnlyCell:
    cell = as_text(WriteOnlyCell(ws, value=value))
    cell.font = Font(bold=True)
    cell.alignment = Alignment(vertical="center", wrap_text=True)
    return cell


FIT_ROWS = 200  # column widths are fitted to the header and the first rows


def xlsx_file(lines: Iterable[list[Any]], title: str) -> IO[bytes]:
    """A write-only workbook spooled to a temporary file (memory stays flat): text cells typed
    as text (no apostrophe guard: see crm/spreadsheets.py), columns fitted to the first rows,
    the header frozen and repeated on printed pages, long text wrapped in a row tall enough."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    rows = iter(lines)
    first = [[clean(v) for v in line] for line in itertools.islice(rows, FIT_ROWS + 1)]
    widths = fitted_widths(first)
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for n, line in enumerate(itertools.chain(first, ([clean(v) for v in r] for r in rows)), 1):
        if n == 1:
            ws.append([_header_cell(ws, value) for value in line])
            continue
        height = row_height(line, widths)
        cells: list[Any] = []
        for i, value in enumerate(line):
            if not isinstance(value, str):
                cells.append(value)
                continue
            cell = as_text(WriteOnlyCell(ws, value=value))
            if height is not None and i < len(widths) and lines_needed(value, widths[i]) > 1:
                cell.alignment = wrap
            cells.append(cell)
        if height is not None:
            ws.row_dimensions[n].height = height
        ws.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    wb.save(out)
    out.seek(0)
    return out


def write(user: User, spec: ExportSpec, fmt: str, fh: IO[bytes]) -> int:
    """Export to an open file (the CLI); returns the number of records."""
    counted = 0

    def counting() -> Iterator[list[Any]]:
        nonlocal counted
        for n, line in enumerate(rows(spec, policy.can_see_personal_data(user))):
            counted = n
            yield line

    if fmt == "csv":
        for chunk in csv_chunks(counting()):
            fh.write(chunk)
    else:
        with xlsx_file(counting(), EXPORTS[spec.kind].label) as tmp:
            while block := tmp.read(1 << 16):
                fh.write(block)
    record(user, spec, fmt, counted)
    return counted
