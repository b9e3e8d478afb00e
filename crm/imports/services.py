"""Importing a spreadsheet (preview or commit), reverting a batch, and the blank templates.

`run_import` does the whole import inside the caller's transaction and returns a report; the
caller commits it, or rolls it back for a preview (a dry run is the real import, undone, so it
shows exactly what a commit would do). The CLI and the upload page both call it.
"""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from crm import policy
from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.db import Base, utcnow
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports import bulk, reader
from crm.imports.columns import SHEETS, infer_kind, map_headers
from crm.imports.importers import IMPORTERS, Context, Issue, RowError
from crm.imports.models import ImportBatch, ImportStatus, ImportUpload
from crm.institutions.models import InstitutionAlias

logger = logging.getLogger(__name__)

MAX_STORED_ISSUES = 2000  # a batch keeps this many row messages; the count is always exact
OUTCOMES = ("created", "updated", "unchanged", "skipped")
PROGRESS_EVERY = 5000


@dataclass
class Report:
    kind: str
    filename: str
    dry_run: bool
    batch_id: int | None = None
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    format: str = ""
    encoding: str | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def label(self) -> str:
        return SHEETS[self.kind].label

    def summary(self) -> str:
        c = self.counts
        created, updated = c.get("created", 0), c.get("updated", 0)
        unchanged, skipped = c.get("unchanged", 0), c.get("skipped", 0)
        return (
            f"新增 {created}，更新 {updated}，未变 {unchanged}，"
            f"跳过 {skipped}（其中错误 {len(self.errors)} 行）"
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


UPLOAD_TTL = timedelta(hours=24)  # a preview not confirmed within a day is dropped


def keep_upload(user: User, filename: str, body: bytes) -> str:
    """Keep a previewed file for its confirmation; returns the token the form carries.
    Uploads older than UPLOAD_TTL go in the same transaction."""
    db.session.execute(
        sa.delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_TTL)
    )
    token = secrets.token_hex(16)
    db.session.add(ImportUpload(token=token, user_id=user.id, filename=filename, body=body))
    return token


def take_upload(user: User, token: str) -> tuple[str, bytes] | None:
    """The user's previewed file (name, bytes), removed in the caller's transaction: of two
    confirmations at once, one gets it and the other None (the row is deleted, not read)."""
    row = db.session.execute(
        sa.delete(ImportUpload)
        .where(
            ImportUpload.token == token,
            ImportUpload.user_id == user.id,
            ImportUpload.created_at >= utcnow() - UPLOAD_TTL,
        )
        .returning(ImportUpload.filename, ImportUpload.body)
    ).first()
    return (row.filename, row.body) if row else None


def run_import(
    user: User,
    path: Path,
    filename: str,
    kind: str | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Import one file as one batch; raises reader.ImportFileError for a file it cannot use."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以导入数据。")
    table = reader.open_table(path, int(current_app.config["IMPORT_MAX_ROWS"]))
    kind = kind or infer_kind(table.headers)
    if kind is None:
        expected = "；".join(
            f"{s.label}：{'、'.join(c.header for c in s.columns[:4])}" for s in SHEETS.values()
        )
        raise reader.ImportFileError(
            f"无法从表头判断要导入的数据。请使用模板的表头（{expected}）。"
        )
    if kind not in SHEETS:
        raise ValidationError(f"不支持导入“{kind}”。")
    sheet = SHEETS[kind]
    mapping, unknown = map_headers(sheet, table.headers)
    missing = [c.header for c in sheet.required if c not in mapping.values()]
    if missing:
        raise reader.ImportFileError(
            f"缺少必填列：{'、'.join(missing)}（第 {table.header_row} 行是表头）。"
        )

    digest = sha256_of(path)
    report = Report(kind, filename, dry_run, format=table.format, encoding=table.encoding)
    earlier = db.session.scalar(
        sa.select(ImportBatch)
        .where(ImportBatch.sha256 == digest, ImportBatch.status == ImportStatus.COMMITTED)
        .order_by(ImportBatch.id.desc())
    )
    batch = ImportBatch(kind=kind, filename=filename[:255], sha256=digest, user_id=user.id)
    db.session.add(batch)
    db.session.flush()
    workers = int(current_app.config["IMPORT_WORKERS"]) or bulk.default_workers()
    ctx = Context(
        user, bulk.Analysts(workers), dedup_threshold=float(current_app.config["DEDUP_THRESHOLD"])
    )
    if earlier is not None:
        ctx.note(
            None,
            None,
            f"同一文件已在 {earlier.created_at:%Y-%m-%d %H:%M} 导入过（批次 #{earlier.id}），"
            "已有的记录不会重复新增。",
            "note",
        )
    if unknown:
        ctx.note(table.header_row, None, f"忽略未识别的列：{'、'.join(unknown)}。", "warning")
    headers = {c.key: c.header for c in sheet.columns}
    try:
        with audit.acting_as(user.id, batch.id), bulk.big_cache(db.session.connection()):
            importer = IMPORTERS[kind](ctx)
            importer.prepare()
            for number, cells in table.rows:
                values = {
                    col.key: cells[i] if i < len(cells) else None for i, col in mapping.items()
                }
                report.rows += 1
                try:
                    outcome = importer.handle(number, values)
                except RowError as exc:
                    ctx.note(
                        number, headers.get(exc.column or "", exc.column), exc.message, "error"
                    )
                    outcome = "skipped"
                ctx.counts[outcome] += 1
                if progress is not None and report.rows % PROGRESS_EVERY == 0:
                    progress(report.rows)
            importer.finish()
    finally:
        ctx.analysts.close()
    report.counts = {k: ctx.counts.get(k, 0) for k in OUTCOMES} | {
        k: v for k, v in ctx.counts.items() if k not in OUTCOMES
    }
    report.issues = ctx.issues
    batch.counts = report.counts | {"rows": report.rows, "errors": len(report.errors)}
    batch.row_errors = [i.as_dict() for i in ctx.issues[:MAX_STORED_ISSUES]]
    db.session.flush()
    report.batch_id = batch.id
    logger.info(
        "Import %s of %s (%s) by %s: %s%s",
        batch.id,
        filename,
        kind,
        user.username,
        report.counts,
        " [dry run]" if dry_run else "",
    )
    return report


# ---- revert ------------------------------------------------------------------------------------


def _models() -> dict[str, type]:
    return {m.local_table.name: m.class_ for m in Base.registry.mappers}  # type: ignore[union-attr]


def _from_json(model: type, key: str, raw: Any) -> Any:
    if raw is None:
        return None
    python_type = model.__table__.c[key].type.python_type  # type: ignore[attr-defined]
    if issubclass(python_type, enum.Enum):
        return python_type(raw)
    if python_type is Decimal:
        return Decimal(raw)
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    return raw


@dataclass
class RevertResult:
    removed: int = 0
    restored: int = 0
    kept: list[str] = field(default_factory=list)  # fields changed again since: left as they are


def revert(user: User, batch: ImportBatch) -> RevertResult:
    """Undo a committed import: what it created goes to the recycle bin, what it changed gets
    its old value back unless someone has changed that field again since."""
    policy.authorize(policy.is_admin(user), "只有管理员可以撤销导入。")
    if batch.status == ImportStatus.REVERTED:
        raise ValidationError("这个导入批次已经撤销过了。")
    models, result = _models(), RevertResult()
    created: dict[str, list[int]] = {}
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.import_batch_id == batch.id)
        .order_by(AuditEntry.id.desc())
    )
    for entry in entries:
        model = models.get(entry.table_name)
        if model is None:
            continue
        if entry.action == "create":
            created.setdefault(entry.table_name, []).append(entry.record_id)
            continue
        record = db.session.get(model, entry.record_id)
        if record is None or entry.action != "update":
            continue
        for key, (before, after) in entry.changes.items():
            if key == "deleted_at":
                if after is None and record.deleted_at is None:  # the import restored it
                    record.deleted_at = utcnow()
                continue
            if audit.jsonable(getattr(record, key)) != after:
                result.kept.append(f"{entry.table_name}#{entry.record_id}.{key}")
                continue
            setattr(record, key, _from_json(model, key, before))
            result.restored += 1
    db.session.flush()
    for table_name, ids in created.items():
        model = models[table_name]
        if "deleted_at" in model.__table__.c:  # type: ignore[attr-defined]
            result.removed += bulk.remove_created(model, ids)
            continue
        for record_id in ids:  # few: aliases an import added
            record = db.session.get(model, record_id)
            if isinstance(record, InstitutionAlias):
                record.institution.aliases.remove(record)  # re-indexes the institution
                result.removed += 1
            elif record is not None:
                db.session.delete(record)
                result.removed += 1
    batch.status = ImportStatus.REVERTED
    batch.reverted_at = utcnow()
    batch.reverted_by_id = user.id
    db.session.flush()
    logger.info("Import batch %s reverted by %s: %s", batch.id, user.username, result)
    return result


# ---- templates ---------------------------------------------------------------------------------

REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def template(kind: str) -> bytes:
    """A blank .xlsx for one kind: the headers (required ones shaded), an example row, and
    a second sheet explaining every column."""
    sheet = SHEETS[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = sheet.label
    ws.append([c.header for c in sheet.columns])
    ws.append([c.example for c in sheet.columns])
    for i, col in enumerate(sheet.columns, 1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if col.required:
            cell.fill = REQUIRED_FILL
        ws.column_dimensions[cell.column_letter].width = max(12, len(col.header) * 2 + 4)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "必填", "也可写作", "说明"])
    for col in sheet.columns:
        notes.append([col.header, "是" if col.required else "", "、".join(col.aliases), col.note])
    notes.append([])
    notes.append(["第 2 行是示例，导入前请删除或改成真实数据。只有第一个工作表会被导入。"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def batches() -> sa.Select[tuple[ImportBatch]]:
    return sa.select(ImportBatch).order_by(ImportBatch.id.desc())
