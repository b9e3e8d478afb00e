"""Importing a spreadsheet (preview or commit), reverting a batch, and the blank templates.

`run_import` does the whole import inside the caller's transaction and returns a report; the
caller commits it, or rolls it back for a preview (a dry run is the real import, undone, so it
shows exactly what a commit would do). The CLI and the upload page both call it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from crm import bulk, policy
from crm.audit import services as audit
from crm.auth.models import User
from crm.clock import local_today
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports import reader, values
from crm.imports.headers import Match, header_year, infer_kind, map_columns, missing_required
from crm.imports.importers import IMPORTERS
from crm.imports.importers.rows import EXTRA, Context, Outcome, Row, RowError
from crm.imports.mappings import kind_chosen_before, saved_mapping
from crm.imports.models import ImportBatch, ImportStatus
from crm.imports.outcome import MAX_STORED_ISSUES, OUTCOMES, PROGRESS_EVERY, Options, Report
from crm.imports.table import ImportFileError, Table
from crm.imports.uploads import sha256_of
from crm.sheets import SHEETS
from crm.workers import AnalysisPool, default_workers

logger = logging.getLogger(__name__)

_ABOVE_SCALE_TITLE = re.compile(r"规上|规模以上")


def _kind_and_matches(table: Table, options: Options) -> tuple[str, list[Match]]:
    kind = options.kind or infer_kind(table.headers) or kind_chosen_before(table.headers)
    if kind is None:
        expected = "；".join(
            f"{s.label}：{'、'.join(c.header for c in s.columns[:4])}" for s in SHEETS.values()
        )
        raise ImportFileError(
            f"{table.where}，但无法从表头（{'、'.join(h for h in table.headers if h)[:80]}）"
            f"判断要导入的数据。请在上传时选择数据类型，或使用模板的表头（{expected}）。"
        )
    if kind not in SHEETS:
        raise ValidationError(f"不支持导入“{kind}”。")
    saved = saved_mapping(kind, table.headers)
    return kind, map_columns(SHEETS[kind], table.headers, options.mapping, saved)


def open_file(path: Path, options: Options) -> Table:
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
    """Import one file as one batch; raises ImportFileError for a file it cannot use."""
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
    table: Table,
    dry_run: bool,
    progress: Callable[[int], None] | None,
    progress_every: int,
    stage: Callable[[str], None] | None,
) -> Report:
    kind, matches = _kind_and_matches(table, options)
    sheet = SHEETS[kind]
    missing = missing_required(sheet, matches)
    if missing:
        raise ImportFileError(
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
        filename=filename,
        titles=table.titles,
        list_stage=options.list_stage,
        programme_id=options.programme_id,
        listed_on=options.listed_on,
        labels={c.key: c.header for c in sheet.columns},
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
    ctx: Context, report: Report, table: Table, matches: list[Match], options: Options
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


def batches() -> sa.Select[tuple[ImportBatch]]:
    return sa.select(ImportBatch).order_by(ImportBatch.id.desc())
