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
from crm.imports.columns import EXPORTS
from crm.institutions.models import Achievement, Institution, Researcher
from crm.money import wan_cell
from crm.needs.models import Need
from crm.spreadsheets import as_text, clean, fitted_widths, guard, lines_needed, row_height
from crm.visits.models import Task

BATCH = 500


def _enterprise(e: Enterprise, personal: bool) -> list[Any]:
    contact = next((c for c in e.contacts if c.deleted_at is None), None)
    phone = contact.phone if contact else None
    return [
        e.name,
        e.uscc,
        e.town.name if e.town else None,
        "、".join(i.name for i in e.industries) or None,
        e.main_products,
        contact.name if contact else None,
        phone if personal else privacy.mask_phone(phone) or None,
        e.address,
        "是" if e.is_above_scale else "否",
        e.notes,
    ]


def _institution(i: Institution, personal: bool) -> list[Any]:
    return [
        i.name,
        i.kind.label,
        i.region,
        i.description,
        "、".join(a.alias for a in i.aliases) or None,
    ]


def _researcher(r: Researcher, personal: bool) -> list[Any]:
    inst = r.institution.name if r.institution else None
    return [r.name, inst, r.title, r.research_directions, r.bio, r.team]


def _need(n: Need, personal: bool) -> list[Any]:
    return [n.enterprise.name, n.enterprise.uscc, n.title, n.description, wan_cell(n.budget)]


def _achievement(a: Achievement, personal: bool) -> list[Any]:
    return [
        a.title,
        a.institution.name if a.institution else None,
        a.researcher.name if a.researcher else None,
        a.description,
        a.maturity.label if a.maturity else None,
        a.transfer_mode.label if a.transfer_mode else None,
    ]


def _task(t: Task, personal: bool) -> list[Any]:
    return [
        t.title,
        t.enterprise.name if t.enterprise else None,
        t.assignee.display_name,
        t.due_on.isoformat() if t.due_on else None,
        "已完成" if t.done else "未完成",
        t.notes,
    ]


def _contact(c: Contact, personal: bool) -> list[Any]:
    org = c.enterprise.name if c.enterprise else (c.institution.name if c.institution else None)
    return [
        org,
        c.name,
        c.position,
        c.phone if personal else privacy.mask_phone(c.phone) or None,
        c.email if personal else privacy.mask_email(c.email) or None,
    ]


@dataclass(frozen=True)
class Layout:
    model: type
    row: Callable[[Any, bool], list[Any]]
    options: Callable[[], tuple[Any, ...]]  # loader options (built late: mappers first)
    table: str


LAYOUTS: dict[str, Layout] = {
    "enterprises": Layout(
        Enterprise,
        _enterprise,
        lambda: (
            selectinload(Enterprise.contacts),
            selectinload(Enterprise.town),
            selectinload(Enterprise.industries),
        ),
        "enterprise",
    ),
    "institutions": Layout(
        Institution, _institution, lambda: (selectinload(Institution.aliases),), "institution"
    ),
    "researchers": Layout(
        Researcher, _researcher, lambda: (selectinload(Researcher.institution),), "researcher"
    ),
    "needs": Layout(Need, _need, lambda: (selectinload(Need.enterprise),), "need"),
    "achievements": Layout(
        Achievement,
        _achievement,
        lambda: (selectinload(Achievement.institution), selectinload(Achievement.researcher)),
        "achievement",
    ),
    "tasks": Layout(
        Task, _task, lambda: (selectinload(Task.enterprise), selectinload(Task.assignee)), "task"
    ),
    "contacts": Layout(
        Contact,
        _contact,
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
    layout = LAYOUTS[spec.kind]
    yield [c.header for c in EXPORTS[spec.kind].exported]
    stmt = spec.query.options(*layout.options()).execution_options(yield_per=BATCH)
    for record in db.session.scalars(stmt):
        yield layout.row(record, personal)


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
