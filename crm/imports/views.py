"""Import pages: upload → preview (a dry run) → commit → batch page (revert), templates, and
the export download every list page offers."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from crm import policy
from crm.clock import local_today
from crm.extensions import db
from crm.imports import export, services
from crm.imports.columns import EXPORTS, SHEETS
from crm.imports.forms import CommitForm, UploadForm
from crm.imports.models import ImportBatch
from crm.imports.reader import ImportFileError
from crm.policy import Level, access

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
    return render_template("imports/index.html", form=form, sheets=SHEETS, recent=recent), status


@bp.route("/", methods=["GET"])
@access(Level.OFFICER)
def index() -> tuple[str, int]:
    """Upload a file; the templates; recent batches."""
    return _upload_page(UploadForm())


@bp.route("/preview", methods=["POST"])
@access(Level.OFFICER)
def preview() -> tuple[str, int] | str:
    """Show what importing the upload would do, and keep it for 确认导入."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    filename = _display_name(form.file.data.filename)
    with _scratch() as path:
        form.file.data.save(path)
        try:
            report = services.run_import(
                current_user,
                path,
                filename,
                services.Options(kind=form.kind.data or None),
                dry_run=True,
            )
        except ImportFileError as exc:
            current_app.logger.info("Import preview of %r refused: %s", filename, exc.message)
            form.file.errors = [exc.message]
            return _upload_page(form, 400)
        finally:
            db.session.rollback()  # a preview writes nothing
        token = services.keep_upload(current_user, filename, path.read_bytes())
    db.session.commit()
    confirm = CommitForm(formdata=None, token=token, kind=report.kind)  # not the upload's fields
    return render_template("imports/preview.html", report=report, form=confirm)


@bp.route("/commit", methods=["POST"])
@access(Level.OFFICER)
def commit() -> Response:
    """Import the previewed file for real, in one transaction."""
    form = CommitForm()
    upload = (
        services.take_upload(current_user, form.token.data) if form.validate_on_submit() else None
    )
    if upload is None:  # never previewed, someone else's, expired, or already imported
        db.session.rollback()
        flash("这份预览已失效或已经导入，请重新上传文件。", "warning")
        return redirect(url_for("imports.index"))
    filename, body = upload
    with _scratch(body) as path:
        try:
            report = services.run_import(
                current_user, path, filename, services.Options(kind=form.kind.data)
            )
        except ImportFileError as exc:
            db.session.rollback()  # the upload is kept: it can be confirmed again
            flash(exc.message, "danger")
            return redirect(url_for("imports.index"))
    db.session.commit()
    flash(f"已导入{report.label}：{report.summary()}。", "success")
    return redirect(url_for("imports.batch", batch_id=report.batch_id))


@bp.route("/<int:batch_id>")
@access(Level.OFFICER)
def batch(batch_id: int) -> str:
    """One import: counts, every row message, and the revert button (admins)."""
    item = db.get_or_404(ImportBatch, batch_id)
    if not (policy.is_admin(current_user) or item.user_id == current_user.id):
        abort(403)
    return render_template("imports/batch.html", batch=item, sheet=SHEETS.get(item.kind))


@bp.route("/<int:batch_id>/revert", methods=["POST"])
@access(Level.ADMIN)
def revert(batch_id: int) -> Response:
    """Undo a committed import."""
    item = db.get_or_404(ImportBatch, batch_id)
    result = services.revert(current_user, item)
    db.session.commit()
    message = (
        f"已撤销批次 #{item.id}：{result.removed} 条新增记录移入回收站，"
        f"{result.restored} 处修改已还原"
    )
    if result.kept:
        message += f"；{len(result.kept)} 处在导入后又被修改过，保留了现值"
    flash(message + "。", "success")
    return redirect(url_for("imports.batch", batch_id=item.id))


@bp.route("/templates/<kind>.xlsx")
@access(Level.SIGNED_IN)
def template(kind: str) -> Response:
    """A blank template with an example row and a sheet of notes."""
    if kind not in SHEETS:
        abort(404)
    return _attachment(services.template(kind), f"{SHEETS[kind].label}导入模板.xlsx", XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _attachment(body: object, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    ascii_name = "export" + PurePosixPath(filename).suffix
    response.headers["Content-Disposition"] = (
        f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "no-store"  # may hold personal data
    return response


def download(spec: export.ExportSpec, fmt: str) -> Response:
    """The export of a list page (its own filtered query), audited, then streamed."""
    total = export.count(spec)
    export.record(current_user, spec, fmt, total)
    db.session.commit()
    name = f"{EXPORTS[spec.kind].label}-{local_today():%Y%m%d}.{fmt}"
    # the body is read after this request's session is gone: nothing in it may need the session
    lines = export.rows(spec, policy.can_see_personal_data(current_user))
    if fmt == "csv":
        return _attachment(stream_with_context(export.csv_chunks(lines)), name, CSV)
    tmp = export.xlsx_file(lines, EXPORTS[spec.kind].label)

    def blocks():  # type: ignore[no-untyped-def]
        with tmp:
            while block := tmp.read(1 << 16):
                yield block

    return _attachment(blocks(), name, XLSX)


def export_format() -> str | None:
    """`?format=xlsx|csv` on a list page asks for its export."""
    fmt = request.args.get("format")
    return fmt if fmt in ("xlsx", "csv") else None
