"""Delete buttons and the admins' recycle bin."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm.errors import ValidationError
from crm.extensions import db
from crm.policy import Level, access
from crm.trash import services
from crm.web import paginate

bp = Blueprint("trash", __name__)


@bp.route("/trash/<kind>/<int:record_id>/delete", methods=["POST"])
@access(Level.OFFICER)
def delete(kind: str, record_id: int) -> Response:
    """Move a record to the recycle bin (owner's department or admin)."""
    if FlaskForm().validate_on_submit():
        try:
            record = services.delete(current_user, kind, record_id)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            spec = services.KINDS[kind]
            name = getattr(record, spec.title)
            flash(f"已删除{spec.label}“{name}”，管理员可在回收站恢复。", "success")
    return redirect(_after_delete(kind, record_id))


def _after_delete(kind: str, record_id: int) -> str:
    """Back to the enterprise a deleted need, contact or visit belonged to, else home."""
    _, record = services.get(kind, record_id)
    enterprise_id = getattr(record, "enterprise_id", None)
    if kind != "enterprise" and enterprise_id:
        return url_for("enterprises.detail", enterprise_id=enterprise_id)
    return url_for("main.home")


@bp.route("/admin/trash")
@access(Level.ADMIN)
def index() -> str:
    """Deleted records of one kind, with a restore button each."""
    kind = request.args.get("kind", "enterprise")
    if kind not in services.KINDS:
        kind = "enterprise"
    page = paginate(services.deleted(kind))
    return render_template(
        "trash/index.html", page=page, kind=kind, kinds=services.KINDS, form=FlaskForm()
    )


@bp.route("/admin/trash/<kind>/<int:record_id>/restore", methods=["POST"])
@access(Level.ADMIN)
def restore(kind: str, record_id: int) -> Response:
    """Bring a record back."""
    if FlaskForm().validate_on_submit():
        try:
            services.restore(current_user, kind, record_id)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            flash("已恢复。", "success")
    return redirect(url_for("trash.index", kind=kind))
