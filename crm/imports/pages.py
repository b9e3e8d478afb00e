"""The preview of an upload: a dry run of the kept file (rolled back: it writes nothing), shown
with where the table was found, the column mapping to check and change, the firms to confirm,
every row's outcome and the settings form — and shown again when the settings change. A big
file's run, previewed or imported, is started as a job (`jobs`) whose page follows it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.imports import jobs, services
from crm.imports.forms import LIST_KINDS, CommitForm, list_options
from crm.imports.models import ImportJob
from crm.imports.outcome import Options, Report, options_signature
from crm.imports.table import ImportFileError
from crm.imports.uploads import peek_upload
from crm.sheets import SHEETS


@contextlib.contextmanager
def scratch(body: bytes | None = None) -> Iterator[Path]:
    """A private temporary file for the reader (it wants a path), removed afterwards."""
    handle, name = tempfile.mkstemp(suffix=".upload")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            if body is not None:
                out.write(body)
        yield path
    finally:
        path.unlink(missing_ok=True)


def preview_run(path: Path, filename: str, options: Options) -> Report:
    try:
        return services.run_import(current_user, path, filename, options, dry_run=True)
    finally:
        db.session.rollback()  # a preview writes nothing


def preview_page(
    report: Report, token: str, form: CommitForm | None = None, status: int = 200
) -> tuple[str, int]:
    """The preview: where the table was found, the column mapping to check and change, the
    firms to confirm, every row's outcome and every message — and the settings form."""
    if form is None:
        form = CommitForm(formdata=None, token=token, kind=report.kind)
    form.token.data, form.kind.data = token, report.kind
    form.sheet.choices = [
        (s.name, f"{s.name}（隐藏）" if s.hidden else s.name) for s in report.sheets
    ]
    form.sheet.data = report.sheet or ""
    shows_year = report.yearly or report.kind == "enterprises"
    # what the officer chose, or blank: the page says which year the file itself gave
    form.year.data = report.options.year if shows_year else None
    above = report.options.above_scale if report.kind == "enterprises" else None
    form.above_scale.data = "" if above is None else ("1" if above else "0")
    form.mapping.data = json.dumps(report.options.mapping, ensure_ascii=False)
    form.decided.data = json.dumps(report.options.decisions, ensure_ascii=False)
    lists = report.kind in LIST_KINDS
    if lists and not form.errors:
        form.list_stage.data = report.options.list_stage or ""
        form.programme_id.data = report.options.programme_id
        form.listed_on.data = report.options.listed_on
    # the settings exactly as this page will send them back when nothing is changed
    shown = Options(
        kind=report.kind,
        sheet=report.sheet if len(report.sheets) > 1 else None,
        mapping=report.options.mapping,
        year=form.year.data,
        above_scale=above,
        decisions=report.options.decisions,
        **(list_options(form) if lists else {}),
    )
    form.previewed.data = options_signature(shown)
    return (
        render_template(
            "imports/preview.html",
            report=report,
            form=form,
            fields=SHEETS[report.kind].columns,
            shows_year=shows_year,
        ),
        status,
    )


def start_job(token: str, filename: str, options: Options, dry_run: bool) -> Response:
    """A big file's run (a preview or the import) as a job; its page follows it."""
    try:
        job = jobs.start(current_user, token, filename, options, dry_run)
        db.session.commit()
    except IntegrityError:  # 确认导入 pressed twice: the first press's job goes on
        db.session.rollback()
        job = db.session.scalar(sa.select(ImportJob).where(ImportJob.commit_token == token))
        if job is None or job.user_id != current_user.id:
            abort(409)
        return redirect(url_for("imports.job", job_id=job.id))
    jobs.launch(job)
    return redirect(url_for("imports.job", job_id=job.id))


def expired() -> Response:
    """The answer to a preview that can no longer be imported (never previewed, someone else's,
    expired, or imported already): nothing written, back to the upload page."""
    db.session.rollback()
    flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
    return redirect(url_for("imports.index"))


def repreview(
    form: CommitForm, options: Options, changed: bool = False
) -> Response | tuple[str, int]:
    """The kept upload previewed again with the settings the preview's form sent."""
    token = form.token.data
    peek = peek_upload(current_user, token)
    if peek is None:
        return expired()
    filename, body = peek
    with scratch(body) as path:
        if jobs.is_big(path):
            return start_job(token, filename, options, dry_run=True)
        try:
            report = preview_run(path, filename, options)
        except ImportFileError as exc:  # e.g. a kind whose required columns the file lacks
            flash(exc.message, "danger")
            shown = request.form.get("kind-shown")
            try:
                report = preview_run(
                    path, filename, Options(kind=shown if shown in SHEETS else None)
                )
            except ImportFileError:
                return redirect(url_for("imports.index"))
    if changed:
        flash("设置有改动，这是按新设置的预览；确认无误后再点“确认导入”。", "info")
    status = 400 if form.errors else 200
    return preview_page(report, token, form, status)
