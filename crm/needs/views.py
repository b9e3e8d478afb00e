"""技术需求: the list, a need's page, register from an enterprise, edit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.audit import pages as audit
from crm.enterprises.services import get_enterprise
from crm.exports.downloads import download, export_format
from crm.exports.services import ExportSpec
from crm.matching import decisions, suggestions
from crm.needs import services
from crm.needs.forms import NeedForm
from crm.needs.models import NeedStatus
from crm.policy import Level, access
from crm.search.services import highlight
from crm.web import list_args, paginate, save_form

bp = Blueprint("needs", __name__)


@bp.route("/needs/")
@access(Level.SIGNED_IN)
def index() -> str | Response:
    """All needs, filtered by status or a word of the title / enterprise; or their export."""
    status = request.args.get("status") or None
    q = (request.args.get("q") or "").strip()[:100]
    args = list_args()
    stmt = services.list_query(status, q)
    if fmt := export_format():
        return download(ExportSpec("needs", stmt, args), fmt)
    page = paginate(stmt)
    return render_template(
        "needs/index.html", page=page, status=status, q=q, statuses=NeedStatus, args=args
    )


@bp.route("/needs/<int:record_id>")
@access(Level.SIGNED_IN)
def detail(record_id: int) -> str:
    """A 技术需求 and the enterprise it belongs to."""
    need = services.get_need(record_id)
    can_edit = policy.can_edit_enterprise(current_user, need.enterprise)
    return render_template(
        "needs/detail.html",
        item=need,
        can_edit=can_edit,
        suggestions=suggestions.for_need(need),
        reasons=decisions.REJECT_REASONS,
        highlight=highlight,
        **audit.history_context(current_user, "need", need.id),
    )


def _data(form: NeedForm) -> services.NeedData:
    return services.NeedData(
        title=form.title.data or "",
        description=form.description.data,
        budget=form.budget.data,
        status=NeedStatus(form.status.data or "open"),
    )


def _detail_url(need: Any) -> str:
    return url_for("needs.detail", record_id=need.id)


@bp.route("/enterprises/<int:enterprise_id>/needs/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create(enterprise_id: int) -> Response | tuple[str, int]:
    """Register a need of this enterprise."""
    ent = get_enterprise(enterprise_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, ent), "您只能为本人或本科室负责的企业登记需求。"
    )
    form = NeedForm()
    return save_form(
        form,
        lambda: services.create_need(current_user, ent, _data(form)),
        template="needs/form.html",
        done=_detail_url,
        success="已登记技术需求。",
        default_field="title",
        ent=ent,
        need=None,
    )


@bp.route("/needs/<int:record_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def edit(record_id: int) -> Response | tuple[str, int]:
    """Edit a need (its enterprise's owner or department); a stale form shows both versions."""
    need = services.get_need(record_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, need.enterprise),
        "您只能修改本人或本科室负责企业的需求。",
    )
    form = NeedForm(obj=need if request.method == "GET" else None)
    if request.method == "GET":
        form.status.data = need.status.value
    return save_form(
        form,
        lambda: services.update_need(current_user, need, _data(form), int(form.version.data or 0)),
        template="needs/form.html",
        done=_detail_url,
        default_field="title",
        record=need,
        conflict=lambda: _data(form),
        ent=need.enterprise,
        need=need,
    )
