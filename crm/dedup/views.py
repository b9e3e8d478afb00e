"""The admins' duplicate review: candidate pairs side by side, merge, and undo."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm.dedup import merge, services
from crm.dedup.models import MergeRecord
from crm.errors import ValidationError
from crm.extensions import db
from crm.policy import Level, access
from crm.web import id_arg

bp = Blueprint("dedup", __name__, url_prefix="/admin/duplicates")


@bp.route("/")
@access(Level.ADMIN)
def index() -> str:
    """Candidate pairs of one kind, most alike first, and recent merges."""
    kind = request.args.get("kind", "enterprises")
    if kind not in services.KINDS:
        kind = "enterprises"
    threshold = request.args.get("threshold", type=float) or float(
        current_app.config["DEDUP_THRESHOLD"]
    )
    threshold = min(100.0, max(50.0, threshold))
    pairs = services.candidates(kind, threshold)
    return render_template(
        "dedup/index.html",
        kind=kind,
        labels=services.LABELS,
        pairs=pairs,
        threshold=threshold,
        merges=merge.history(20),
        form=FlaskForm(),
    )


@bp.route("/merge", methods=["POST"])
@access(Level.ADMIN)
def merge_pair() -> Response:
    """Keep one record of a pair and fold the other into it."""
    kind = request.form.get("kind", "")
    keep_id = id_arg("keep", request.form)
    merge_id = id_arg("merge", request.form)
    if FlaskForm().validate_on_submit() and keep_id and merge_id:
        try:
            record = merge.merge(current_user, kind, keep_id, merge_id)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            message = f"已把“{record.merged_name}”合并到“{record.kept_name}”，可在下方撤销。"
            flash(message, "success")
    return redirect(url_for("dedup.index", kind=kind))


@bp.route("/dismiss", methods=["POST"])
@access(Level.ADMIN)
def dismiss() -> Response:
    """不是重复: the pair is two records and is not listed again."""
    kind = request.form.get("kind", "")
    a_id, b_id = id_arg("a", request.form), id_arg("b", request.form)
    if FlaskForm().validate_on_submit() and a_id and b_id:
        try:
            services.dismiss(current_user, kind, a_id, b_id)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            flash("已标记为不是重复，这一对不会再列出。", "success")
    return redirect(url_for("dedup.index", kind=kind))


@bp.route("/merges/<int:merge_id>/undo", methods=["POST"])
@access(Level.ADMIN)
def undo(merge_id: int) -> Response:
    """Split a merged pair again."""
    record = db.get_or_404(MergeRecord, merge_id)
    if FlaskForm().validate_on_submit():
        try:
            merge.undo(current_user, record)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            flash(f"已撤销合并：“{record.merged_name}”已恢复。", "success")
    return redirect(url_for("dedup.index", kind=record.kind))
