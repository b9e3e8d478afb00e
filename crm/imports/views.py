"""Import pages: upload → preview (a dry run) → commit → batch page (revert), templates."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from crm import policy
from crm.extensions import db
from crm.imports import jobs, labels, services
from crm.imports.blank import blank_template
from crm.imports.forms import (
    LIST_KINDS,
    CommitForm,
    DeleteForm,
    LabelAliasForm,
    UploadForm,
    list_options,
)
from crm.imports.mappings import remember_mapping
from crm.imports.models import ImportBatch, ImportJob, LabelAlias
from crm.imports.outcome import Options, Report, options_signature
from crm.imports.revert import revert_batch
from crm.imports.table import ImportFileError
from crm.imports.uploads import keep_upload, peek_upload, take_upload
from crm.policy import Level, access
from crm.sheets import SHEETS
from crm.web import XLSX, attachment

bp = Blueprint("imports", __name__, url_prefix="/imports")


def _display_name(filename: str | None) -> str:
    """The uploaded name, for display and the batch record only — never as a path."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    return name[:255] or "未命名文件"


@contextlib.contextmanager
def _scratch(body: bytes | None = None) -> Iterator[Path]:
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


def _upload_page(form: UploadForm, status: int = 200) -> tuple[str, int]:
    stmt = services.batches()
    if not policy.is_admin(current_user):
        stmt = stmt.where(ImportBatch.user_id == current_user.id)
    recent = db.session.scalars(stmt.limit(20)).all()
    going = [j for j in jobs.recent(current_user) if jobs.state(j)["status"] == "running"]
    return (
        render_template("imports/index.html", form=form, sheets=SHEETS, recent=recent, going=going),
        status,
    )


@bp.route("/", methods=["GET"])
@access(Level.OFFICER)
def index() -> tuple[str, int]:
    """Upload a file; the templates; recent batches."""
    return _upload_page(UploadForm())


@bp.route("/preview", methods=["POST"])
@access(Level.OFFICER)
def preview() -> tuple[str, int] | str | Response:
    """Keep the upload and show what importing it would do (a big file: as a job)."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    filename = _display_name(form.file.data.filename)
    options = form.options()
    with _scratch() as path:
        form.file.data.save(path)
        if jobs.is_big(path):
            token = keep_upload(current_user, filename, path.read_bytes())
            return _start_job(token, filename, options, dry_run=True)
        try:
            report = _dry_run(path, filename, options)
        except ImportFileError as exc:
            current_app.logger.info("Import preview of %r refused: %s", filename, exc.message)
            form.file.errors = [exc.message]
            return _upload_page(form, 400)
        token = keep_upload(current_user, filename, path.read_bytes())
    db.session.commit()
    return _preview_page(report, token)


def _dry_run(path: Path, filename: str, options: Options) -> Report:
    try:
        return services.run_import(current_user, path, filename, options, dry_run=True)
    finally:
        db.session.rollback()  # a preview writes nothing


def _preview_page(
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


def _start_job(token: str, filename: str, options: Options, dry_run: bool) -> Response:
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


@bp.route("/commit", methods=["POST"])
@access(Level.OFFICER)
def commit() -> Response | tuple[str, int]:
    """The preview's form: 重新预览 with changed settings, or import the file for real, in one
    transaction. Settings changed since the preview shown are previewed first, never imported
    unseen."""
    form = CommitForm()
    if not form.validate_on_submit() or form.kind.data not in SHEETS:
        shown_only = {"year", "listed_on"}  # fields shown with their error, not used
        if form.token.data and form.errors.keys() <= shown_only and form.kind.data in SHEETS:
            for name in form.errors:
                getattr(form, name).data = None
            return _repreview(form, form.options(request.form))
        db.session.rollback()
        flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
        return redirect(url_for("imports.index"))
    options = form.options(request.form)
    changed = form.previewed.data and form.previewed.data != options_signature(options)
    if request.form.get("action") == "preview" or changed:
        return _repreview(form, options, changed=bool(changed))
    peek = peek_upload(current_user, form.token.data)
    if peek is None:  # never previewed, someone else's, expired, or already imported
        db.session.rollback()
        flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
        return redirect(url_for("imports.index"))
    filename, body = peek
    with _scratch(body) as path:
        if jobs.is_big(path):
            return _start_job(form.token.data, filename, options, dry_run=False)
        if take_upload(current_user, form.token.data) is None:
            db.session.rollback()  # the other press of 确认导入 took it a moment ago
            flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
            return redirect(url_for("imports.index"))
        try:
            report = services.run_import(current_user, path, filename, options)
        except ImportFileError as exc:
            db.session.rollback()  # the upload is kept: it can be confirmed again
            flash(exc.message, "danger")
            return redirect(url_for("imports.index"))
    db.session.commit()
    remember_mapping(current_user, report.kind, report.headers, report.matches)
    flash(f"已导入{report.label}：{report.summary()}。", "success")
    return redirect(url_for("imports.batch", batch_id=report.batch_id))


def _repreview(
    form: CommitForm, options: Options, changed: bool = False
) -> Response | tuple[str, int]:
    token = form.token.data
    peek = peek_upload(current_user, token)
    if peek is None:
        db.session.rollback()
        flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
        return redirect(url_for("imports.index"))
    filename, body = peek
    with _scratch(body) as path:
        if jobs.is_big(path):
            return _start_job(token, filename, options, dry_run=True)
        try:
            report = _dry_run(path, filename, options)
        except ImportFileError as exc:  # e.g. a kind whose required columns the file lacks
            flash(exc.message, "danger")
            shown = request.form.get("kind-shown")
            try:
                report = _dry_run(path, filename, Options(kind=shown if shown in SHEETS else None))
            except ImportFileError:
                return redirect(url_for("imports.index"))
    if changed:
        flash("设置有改动，这是按新设置的预览；确认无误后再点“确认导入”。", "info")
    status = 400 if form.errors else 200
    return _preview_page(report, token, form, status)


def _job(job_id: int) -> ImportJob:
    """The user's own job (an admin's: any); another officer's is not found."""
    item = db.get_or_404(ImportJob, job_id)
    if not policy.can_see_import(current_user, item):
        abort(404)
    return item


@bp.route("/jobs/<int:job_id>")
@access(Level.OFFICER)
def job(job_id: int) -> Response | tuple[str, int] | str:
    """A big file's job: its progress while it runs, then its preview or its batch."""
    item = _job(job_id)
    state = jobs.state(item)
    if state["status"] == "done" and item.dry_run and item.report:
        if peek_upload(current_user, item.token) is None:
            flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
            return redirect(url_for("imports.index"))
        return _preview_page(Report.from_json(item.report), item.token)
    if state["status"] == "done" and item.batch_id:
        return redirect(url_for("imports.batch", batch_id=item.batch_id))
    return render_template("imports/job.html", job=item, state=state)


@bp.route("/jobs/<int:job_id>.json")
@access(Level.OFFICER)
def job_state(job_id: int) -> Response:
    """What the job's page polls."""
    return jsonify(jobs.state(_job(job_id)))


@bp.route("/<int:batch_id>")
@access(Level.OFFICER)
def batch(batch_id: int) -> str:
    """One import: counts, every row message, and the revert button (admins)."""
    item = db.get_or_404(ImportBatch, batch_id)
    if not policy.can_see_import(current_user, item):
        abort(403)
    return render_template("imports/batch.html", batch=item, sheet=SHEETS.get(item.kind))


@bp.route("/<int:batch_id>/revert", methods=["POST"])
@access(Level.ADMIN)
def revert(batch_id: int) -> Response:
    """Undo a committed import."""
    item = db.get_or_404(ImportBatch, batch_id)
    result = revert_batch(current_user, item)
    db.session.commit()
    message = (
        f"已撤销批次 #{item.id}：{result.removed} 条新增记录移入回收站，"
        f"{result.restored} 处修改已还原"
    )
    if result.kept:
        message += f"；{len(result.kept)} 处在导入后又被修改过，保留了现值"
    flash(message + "。", "success")
    return redirect(url_for("imports.batch", batch_id=item.id))


@bp.route("/labels", methods=["GET", "POST"])
@access(Level.ADMIN)
def label_aliases() -> Response | tuple[str, int]:
    """名称对照: what the labels offices write (经济开发区, 纺织) mean, for every import."""
    form = LabelAliasForm()
    form.target.choices = labels.alias_targets()
    if form.validate_on_submit():
        alias = labels.save_alias(form.label.data, form.target.data)
        db.session.commit()
        flash(f"已保存：“{alias.label}”。以后导入时按它对应。", "success")
        return redirect(url_for("imports.label_aliases"))
    status = 400 if form.errors else 200
    return (
        render_template(
            "imports/labels.html", form=form, aliases=labels.aliases(), delete=DeleteForm()
        ),
        status,
    )


@bp.route("/labels/<int:alias_id>/delete", methods=["POST"])
@access(Level.ADMIN)
def delete_label_alias(alias_id: int) -> Response:
    alias = db.get_or_404(LabelAlias, alias_id)
    if DeleteForm().validate_on_submit():
        db.session.delete(alias)
        db.session.commit()
        flash(f"已删除“{alias.label}”的对照。", "success")
    return redirect(url_for("imports.label_aliases"))


@bp.route("/templates/<kind>.xlsx")
@access(Level.SIGNED_IN)
def template(kind: str) -> Response:
    """A blank template with an example row and a sheet of notes."""
    if kind not in SHEETS:
        abort(404)
    return attachment(blank_template(kind), f"{SHEETS[kind].label}导入模板.xlsx", XLSX)
