"""Import pages: upload → preview (a dry run, `pages`) → commit → batch page (revert); a big
file's job and its progress; 名称对照; templates."""

from __future__ import annotations

from pathlib import PurePosixPath

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

from crm import policy
from crm.extensions import db
from crm.imports import jobs, labels, services
from crm.imports.blank import blank_template
from crm.imports.forms import CommitForm, DeleteForm, LabelAliasForm, UploadForm
from crm.imports.mappings import remember_mapping
from crm.imports.models import ImportBatch, ImportJob, LabelAlias
from crm.imports.outcome import Report, options_signature
from crm.imports.pages import (
    expired,
    preview_page,
    preview_run,
    repreview,
    scratch,
    start_job,
)
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
    with scratch() as path:
        form.file.data.save(path)
        if jobs.is_big(path):
            token = keep_upload(current_user, filename, path.read_bytes())
            return start_job(token, filename, options, dry_run=True)
        try:
            report = preview_run(path, filename, options)
        except ImportFileError as exc:
            current_app.logger.info("Import preview of %r refused: %s", filename, exc.message)
            form.file.errors = [exc.message]
            return _upload_page(form, 400)
        token = keep_upload(current_user, filename, path.read_bytes())
    db.session.commit()
    return preview_page(report, token)


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
            return repreview(form, form.options(request.form))
        return expired()
    options = form.options(request.form)
    changed = form.previewed.data and form.previewed.data != options_signature(options)
    if request.form.get("action") == "preview" or changed:
        return repreview(form, options, changed=bool(changed))
    peek = peek_upload(current_user, form.token.data)
    if peek is None:  # never previewed, someone else's, expired, or already imported
        return expired()
    filename, body = peek
    with scratch(body) as path:
        if jobs.is_big(path):
            return start_job(form.token.data, filename, options, dry_run=False)
        if take_upload(current_user, form.token.data) is None:
            return expired()  # the other press of 确认导入 took it a moment ago
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
            return expired()
        return preview_page(Report.from_json(item.report), item.token)
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
