"""生成匹配 on a need, and the officer's decision on each suggestion."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching import suggestions
from crm.matching.forms import DecideForm
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.services import get_need
from crm.policy import Level, access

bp = Blueprint("matching", __name__)


@bp.route("/needs/<int:record_id>/match", methods=["POST"])
@access(Level.OFFICER)
def generate(record_id: int) -> Response:
    """Match the need now and keep the best candidates as suggestions."""
    need = get_need(record_id)
    if FlaskForm().validate_on_submit():
        result = suggestions.generate(current_user, need)
        db.session.commit()
        flash(
            f"已生成匹配：新增 {result.added} 条推荐，更新 {result.refreshed} 条。"
            if result.added or result.refreshed
            else "没有找到新的匹配对象。",
            "success",
        )
    return redirect(url_for("needs.detail", record_id=need.id, _anchor="suggestions"))


@bp.route("/suggestions/<int:suggestion_id>/decide", methods=["POST"])
@access(Level.OFFICER)
def decide(suggestion_id: int) -> Response:
    """已联系 / 采纳 (→ 合作意向) / 否决 with a reason."""
    suggestion = db.get_or_404(Suggestion, suggestion_id)
    form = DecideForm()
    back = url_for("needs.detail", record_id=suggestion.need_id, _anchor="suggestions")
    if not form.validate_on_submit():
        flash("请求无效，请刷新页面后重试。", "warning")
        return redirect(back)
    status = SuggestionStatus(form.status.data)
    try:
        lead = suggestions.decide(
            current_user,
            suggestion,
            status,
            int(form.version.data),
            form.reason.data or None,
            form.note.data,
        )
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(back)
    db.session.commit()
    if lead is not None:
        flash(f"已采纳，合作意向“{lead.title}”已进入合作管道。", "success")
    else:
        flash(f"已标记为“{status.label}”。", "success")
    return redirect(back)
