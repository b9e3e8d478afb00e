"""Importing a spreadsheet (preview or commit), reverting a batch, and the blank templates.

`run_import` does the whole import inside the caller's transaction and returns a report; the
caller commits it, or rolls it back for a preview (a dry run is the real import, undone, so it
shows exactly what a commit would do). The CLI and the upload page both call it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import json
import logging
import re
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

from crm import bulk, policy
from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.clock import local_today
from crm.db import Base, utcnow
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports import reader, values
from crm.imports.columns import (
    IGNORE,
    SHEETS,
    Match,
    header_year,
    infer_kind,
    map_columns,
    missing_required,
)
from crm.imports.importers import IMPORTERS
from crm.imports.importers.rows import EXTRA, Context, Issue, Outcome, Row, RowError
from crm.imports.models import ImportBatch, ImportMapping, ImportStatus, ImportUpload
from crm.institutions.models import InstitutionAlias
from crm.workers import AnalysisPool, default_workers

logger = logging.getLogger(__name__)

MAX_STORED_ISSUES = 2000  # a batch keeps this many row messages; the count is always exact
MAX_SHOWN_OUTCOMES = 5000  # the preview lists this many rows' outcomes; the counts are exact
OUTCOMES = ("created", "updated", "unchanged", "skipped")
PROGRESS_EVERY = 5000


@dataclass
class Options:
    """What the officer chose on the mapping page (or the CLI's options); empty: automatic."""

    kind: str | None = None
    sheet: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # header → field key, or "" to ignore
    year: int | None = None  # the year of figures whose header names none
    above_scale: bool | None = None  # a 规上 list: mark its firms 规上 (None: from the title)
    decisions: dict[str, int] = field(default_factory=dict)  # name → enterprise id, 0 = new


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
    where: str = ""  # which sheet and row held the header
    sheet: str | None = None
    headers: list[str] = field(default_factory=list)
    sheets: list[reader.SheetInfo] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    questions: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    sample: list[list[str | None]] = field(default_factory=list)
    title: str | None = None
    year: int | None = None
    above_scale_year: int | None = None
    options: Options = field(default_factory=Options)

    error_total: int | None = None  # when issues were cut to MAX_STORED_ISSUES

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def error_count(self) -> int:
        """Rows skipped for errors (a row may have several)."""
        if self.error_total is not None:
            return self.error_total
        return len({i.row for i in self.errors})

    @property
    def label(self) -> str:
        return SHEETS[self.kind].label

    def summary(self) -> str:
        c = self.counts
        created, updated = c.get("created", 0), c.get("updated", 0)
        unchanged, skipped = c.get("unchanged", 0), c.get("skipped", 0)
        return (
            f"新增 {created}，更新 {updated}，未变 {unchanged}，"
            f"跳过 {skipped}（其中有错误的 {self.error_count} 行）"
        )

    def samples(self, column: int) -> list[str]:
        """A column's first values, for the mapping page."""
        return [r[column] for r in self.sample if column < len(r) and r[column]][:3]

    @property
    def yearly(self) -> bool:
        return any(m.column is not None and m.column.yearly for m in self.matches)

    def to_json(self) -> dict[str, Any]:
        """The report as a background job keeps it (outcomes and issues bounded)."""
        return {
            "kind": self.kind,
            "filename": self.filename,
            "dry_run": self.dry_run,
            "batch_id": self.batch_id,
            "rows": self.rows,
            "counts": self.counts,
            "issues": [i.as_dict() for i in self.issues[:MAX_STORED_ISSUES]],
            "issue_count": len(self.issues),
            "error_count": self.error_count,
            "format": self.format,
            "encoding": self.encoding,
            "where": self.where,
            "sheet": self.sheet,
            "headers": self.headers,
            "sheets": [[s.name, s.hidden] for s in self.sheets],
            "matches": [
                [m.header, m.column.key if m.column else None, m.how, m.year, m.ident]
                for m in self.matches
            ],
            "outcomes": [
                [o.row, o.outcome, o.label, o.detail] for o in self.outcomes[:MAX_SHOWN_OUTCOMES]
            ],
            "questions": self.questions,
            "sample": self.sample,
            "title": self.title,
            "year": self.year,
            "above_scale_year": self.above_scale_year,
            "options": options_json(self.options),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        sheet = SHEETS[data["kind"]]
        by_key = {c.key: c for c in sheet.columns}
        report = cls(
            data["kind"],
            data["filename"],
            data["dry_run"],
            batch_id=data["batch_id"],
            rows=data["rows"],
            counts=data["counts"],
            issues=[Issue(**i) for i in data["issues"]],
            format=data["format"],
            encoding=data["encoding"],
            where=data["where"],
            sheet=data["sheet"],
            headers=data["headers"],
            sheets=[reader.SheetInfo(name, hidden) for name, hidden in data["sheets"]],
            matches=[
                Match(h, by_key.get(k) if k else None, how, y, ident)
                for h, k, how, y, ident in data["matches"]
            ],
            outcomes=[Outcome(*o) for o in data["outcomes"]],
            questions={k: [tuple(c) for c in v] for k, v in data["questions"].items()},
            sample=data["sample"],
            title=data["title"],
            year=data["year"],
            above_scale_year=data["above_scale_year"],
            options=options_from_json(data["options"]),
        )
        report.error_total = data["error_count"]
        return report


def options_json(options: Options) -> dict[str, Any]:
    return dataclasses.asdict(options)


def options_from_json(data: dict[str, Any]) -> Options:
    data = dict(data)
    data["decisions"] = {str(k): int(v) for k, v in (data.get("decisions") or {}).items()}
    data["mapping"] = {str(k): str(v) for k, v in (data.get("mapping") or {}).items()}
    return Options(**data)


def options_signature(options: Options) -> str:
    """The settings of a preview, to tell whether the page's settings changed since."""
    text = json.dumps(options_json(options), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


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


def peek_upload(user: User, token: str) -> tuple[str, bytes] | None:
    """The user's kept upload (name, bytes), left in place (a preview with other settings)."""
    row = db.session.execute(
        sa.select(ImportUpload.filename, ImportUpload.body).where(
            ImportUpload.token == token,
            ImportUpload.user_id == user.id,
            ImportUpload.created_at >= utcnow() - UPLOAD_TTL,
        )
    ).first()
    return (row.filename, row.body) if row else None


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


def signature(headers: list[str]) -> str:
    """Headers as a key: the same office's list next month has the same one."""
    return hashlib.sha256("\x1f".join(h.strip() for h in headers).encode("utf-8")).hexdigest()


def _kind_chosen_before(headers: list[str]) -> str | None:
    """The kind an officer imported a file with these headers as (by hand-mapped columns)."""
    return db.session.scalar(
        sa.select(ImportMapping.kind)
        .where(ImportMapping.signature == signature(headers))
        .order_by(ImportMapping.updated_at.desc())
        .limit(1)
    )


def saved_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """What officers chose for a file of this kind with these headers (the office's format:
    shared by everyone who imports it)."""
    found = db.session.scalar(
        sa.select(ImportMapping)
        .where(ImportMapping.kind == kind, ImportMapping.signature == signature(headers))
        .order_by(ImportMapping.updated_at.desc())
        .limit(1)
    )
    return dict(found.mapping) if found is not None else {}


def remember_mapping(user: User, kind: str, headers: list[str], matches: list[Match]) -> None:
    """Keep the columns the officer mapped by hand (chosen now or before) for the next file
    with these headers; what the matcher finds on its own is found again without help.

    Called after the import has committed, in a transaction of its own: two officers
    importing the same new format at once must not fail each other's import over it."""
    mapping = {
        m.key: (m.column.key if m.column else IGNORE)
        for m in matches
        if m.header and m.how in ("chosen", "saved")
    }
    sig = signature(headers)
    try:
        row = db.session.scalar(
            sa.select(ImportMapping).where(
                ImportMapping.kind == kind, ImportMapping.signature == sig
            )
        )
        if row is None and not mapping:
            return
        user_id = user.id  # read before anything is added (it may load, and flush)
        if row is None:
            db.session.add(
                ImportMapping(
                    kind=kind, signature=sig, headers=headers, mapping=mapping, user_id=user_id
                )
            )
        else:
            row.mapping, row.user_id = mapping, user_id
        db.session.commit()
    except sa.exc.SQLAlchemyError as exc:  # the other import saved it a moment ago, most likely
        db.session.rollback()
        logger.warning("Mapping of %s headers %s not saved: %r", kind, sig[:8], exc)


_ABOVE_SCALE_TITLE = re.compile(r"规上|规模以上")


def _kind_and_matches(table: reader.Table, options: Options) -> tuple[str, list[Match]]:
    kind = options.kind or infer_kind(table.headers) or _kind_chosen_before(table.headers)
    if kind is None:
        expected = "；".join(
            f"{s.label}：{'、'.join(c.header for c in s.columns[:4])}" for s in SHEETS.values()
        )
        raise reader.ImportFileError(
            f"{table.where}，但无法从表头（{'、'.join(h for h in table.headers if h)[:80]}）"
            f"判断要导入的数据。请在上传时选择数据类型，或使用模板的表头（{expected}）。"
        )
    if kind not in SHEETS:
        raise ValidationError(f"不支持导入“{kind}”。")
    saved = saved_mapping(kind, table.headers)
    return kind, map_columns(SHEETS[kind], table.headers, options.mapping, saved)


def open_file(path: Path, options: Options) -> reader.Table:
    return reader.open_table(
        path, int(current_app.config["IMPORT_MAX_ROWS"]), sheet=options.sheet or None
    )


def run_import(
    user: User,
    path: Path,
    filename: str,
    options: Options | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    progress_every: int = PROGRESS_EVERY,
    stage: Callable[[str], None] | None = None,
) -> Report:
    """Import one file as one batch; raises reader.ImportFileError for a file it cannot use."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以导入数据。")
    options = options or Options()
    table = open_file(path, options)
    try:
        return _run(user, path, filename, options, table, dry_run, progress, progress_every, stage)
    finally:
        table.close()


def _run(
    user: User,
    path: Path,
    filename: str,
    options: Options,
    table: reader.Table,
    dry_run: bool,
    progress: Callable[[int], None] | None,
    progress_every: int,
    stage: Callable[[str], None] | None,
) -> Report:
    kind, matches = _kind_and_matches(table, options)
    sheet = SHEETS[kind]
    missing = missing_required(sheet, matches)
    if missing:
        raise reader.ImportFileError(
            f"{table.where}，缺少必填列：{'、'.join(missing)}。"
            "请在预览页把对应的列选为这些字段，或在文件中补上这些列。"
        )

    digest = sha256_of(path)
    report = Report(
        kind,
        filename,
        dry_run,
        format=table.format,
        encoding=table.encoding,
        where=table.where,
        sheet=table.sheet,
        headers=table.headers,
        sheets=table.sheets,
        matches=matches,
        sample=table.sample,
        title=table.title,
        options=options,
    )
    earlier = db.session.scalar(
        sa.select(ImportBatch)
        .where(ImportBatch.sha256 == digest, ImportBatch.status == ImportStatus.COMMITTED)
        .order_by(ImportBatch.id.desc())
    )
    batch = ImportBatch(kind=kind, filename=filename[:255], sha256=digest, user_id=user.id)
    db.session.add(batch)
    db.session.flush()
    workers = int(current_app.config["IMPORT_WORKERS"]) or default_workers()
    ctx = Context(
        user,
        AnalysisPool(workers),
        dedup_threshold=float(current_app.config["DEDUP_THRESHOLD"]),
        decisions=dict(options.decisions),
    )
    _years(ctx, report, table, matches, options)
    ctx.note(None, None, f"{table.where}。", "note")
    if earlier is not None:
        ctx.note(
            None,
            None,
            f"同一文件已在 {earlier.created_at:%Y-%m-%d %H:%M} 导入过（批次 #{earlier.id}），"
            "已有的记录不会重复新增。",
            "note",
        )
    unknown = [m.header for m in matches if m.how == "unknown"]
    if unknown:
        ctx.note(
            table.header_row,
            None,
            f"这些列没有对应的字段，不会导入：{'、'.join(unknown)}（可在预览页为它们选择字段）。",
            "warning",
        )
    similar = [
        f"“{m.header}”→{m.column.header}" for m in matches if m.how == "similar" and m.column
    ]
    if similar:
        ctx.note(
            table.header_row, None, f"按相近的名称对应的列：{'、'.join(similar)}，请核对。", "note"
        )
    slots: dict[int, str] = {}
    for i, m in enumerate(matches):
        if m.column is None:
            continue
        if m.how == "extra":
            slots[i] = EXTRA + m.header
            continue
        key = f"{m.column.key}@{m.year}" if m.column.yearly and m.year else m.column.key
        slots[i] = key
        ctx.headers[key] = m.header
        if m.column.money and (unit := values.unit_of(m.header)) and unit[0] not in ("万元", "万"):
            ctx.units[key] = unit[1]
            ctx.note(None, key, f"按表头的单位“{unit[0]}”换算为万元。", "note")
    extra = [m.header for m in matches if m.how == "extra"]
    if extra:
        ctx.note(
            table.header_row,
            None,
            f"这些列与前面的列是同一字段，内容写入备注：{'、'.join(extra)}。",
            "note",
        )
    try:
        with audit.acting_as(user.id, batch.id), bulk.big_cache(db.session.connection()):
            importer = IMPORTERS[kind](ctx)
            importer.prepare()
            for number, cells in table.rows:
                by_key = {key: cells[i] if i < len(cells) else None for i, key in slots.items()}
                report.rows += 1
                row = Row(ctx, number, by_key)
                try:
                    outcome = importer.handle(row)
                except RowError as exc:
                    for column, message in exc.problems:
                        ctx.note(number, column, message, "error")
                    outcome = "skipped"
                    row.detail = "；".join(message for _, message in exc.problems)
                ctx.counts[outcome] += 1
                report.outcomes.append(Outcome(number, outcome, row.label, row.detail))
                if progress is not None and report.rows % progress_every == 0:
                    progress(report.rows)
            if progress is not None:
                progress(report.rows)
            if stage is not None:
                stage("写入")
            importer.finish()
    finally:
        ctx.pool.close()
    for row_number, message in table.notes:
        ctx.note(row_number, None, message, "note")
    if ctx.renumbered:
        ctx.note(
            None, None, f"{ctx.renumbered} 行的名称前有序号（如“1.”“（一）”），已去掉。", "note"
        )
    report.counts = {k: ctx.counts.get(k, 0) for k in OUTCOMES} | {
        k: v for k, v in ctx.counts.items() if k not in OUTCOMES
    }
    report.issues = sorted(ctx.issues, key=lambda i: (i.row is not None, i.row or 0))
    report.questions = ctx.questions
    batch.counts = report.counts | {"rows": report.rows, "errors": report.error_count}
    batch.row_errors = [i.as_dict() for i in report.issues[:MAX_STORED_ISSUES]]
    db.session.flush()
    report.batch_id = batch.id
    logger.info(
        "Import %s of %s (%s, %s) by %s: %s%s",
        batch.id,
        filename,
        kind,
        table.where,
        user.username,
        report.counts,
        " [dry run]" if dry_run else "",
    )
    return report


def _years(
    ctx: Context, report: Report, table: reader.Table, matches: list[Match], options: Options
) -> None:
    """The year of figures whose header names none, and whether a 规上 list marks its firms."""
    title_year = header_year(table.title or "")
    yearly = [m for m in matches if m.column is not None and m.column.yearly]
    named = {m.year for m in yearly if m.year is not None}
    # figures without a year are of the year the other figures' headers name, if just one
    ctx.year = (
        options.year
        or (named.pop() if len(named) == 1 else None)
        or title_year
        or (local_today().year - 1)
    )
    if any(m.year is None for m in yearly):
        ctx.note(
            None,
            None,
            f"表头没有写年份的年度数字（{'、'.join(m.header for m in yearly if m.year is None)}）"
            f"按 {ctx.year} 年记。",
            "note",
        )
    has_column = any(m.column is not None and m.column.key == "above_scale" for m in matches)
    titled = bool(table.title and _ABOVE_SCALE_TITLE.search(table.title))
    mark = options.above_scale if options.above_scale is not None else titled
    if report.kind == "enterprises" and mark and not has_column:
        ctx.above_scale_year = options.year or title_year or local_today().year
        ctx.note(
            None,
            None,
            f"标题“{table.title}”是规上企业名单：本表的企业记为 {ctx.above_scale_year} 年规上"
            "（不需要时可在预览页取消）。"
            if titled and options.above_scale is None
            else f"本表的企业记为 {ctx.above_scale_year} 年规上。",
            "note",
        )
    report.year, report.above_scale_year = ctx.year, ctx.above_scale_year


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
    notes.append(
        ["第 2 行是示例，导入前请删除或改成真实数据。导入时读取第一个有表头的可见工作表。"]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def batches() -> sa.Select[tuple[ImportBatch]]:
    return sa.select(ImportBatch).order_by(ImportBatch.id.desc())
