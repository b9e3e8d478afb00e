"""The cooperation pipeline (kanban and list), a cooperation's page, and moving it on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm import policy
from crm.auth.models import Department, User
from crm.clock import local_today
from crm.cooperation import attachments, board, services, stages
from crm.cooperation.forms import CooperationForm, MoveForm
from crm.cooperation.models import Attachment, Cooperation, CooperationType, Origin, Stage
from crm.enterprises.models import Industry
from crm.enterprises.services import get_enterprise
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.links import record_url
from crm.money import to_wan, to_yuan
from crm.policy import Level, access
from crm.queries import get_live
from crm.urls import is_safe_next
from crm.web import id_arg, paginate, run_action, save_form, save_step, year_arg

bp = Blueprint("cooperation", __name__)


def _filters() -> board.Filters:
    year = request.args.get("year", "")
    return board.Filters(
        officer_id=id_arg("officer_id"),
        department_id=id_arg("department_id"),
        industry_id=id_arg("industry_id"),
        institution_id=id_arg("institution_id"),
        year=year_arg() if year else None,
        terminated=request.args.get("terminated") == "1",
    )


def _filter_choices() -> dict[str, Any]:
    """The filters' options, as (id, name) rows; institutions: those some live cooperation
    record has as its partner, directly or through its expert (not every institution known)."""
    live = Cooperation.deleted_at.is_(None)
    partners = sa.union(
        sa.select(Cooperation.institution_id).where(live),
        sa.select(Researcher.institution_id)
        .join(Cooperation, Cooperation.researcher_id == Researcher.id)
        .where(live),
    )
    return {
        "officers": db.session.execute(
            sa.select(User.id, User.display_name)
            .where(User.active.is_(True))
            .order_by(User.display_name)
        ).all(),
        "departments": db.session.execute(
            sa.select(Department.id, Department.name).order_by(Department.name)
        ).all(),
        "industries": db.session.execute(
            sa.select(Industry.id, Industry.name).order_by(Industry.sort_order, Industry.name)
        ).all(),
        "institutions": db.session.execute(
            sa.select(Institution.id, Institution.name)
            .where(Institution.deleted_at.is_(None), Institution.id.in_(partners))
            .order_by(Institution.name_sort)
        ).all(),
    }


@bp.route("/pipeline")
@access(Level.SIGNED_IN)
def pipeline() -> str:
    """合作管道: every cooperation by stage (board), or as a list (`view=list`)."""
    filters = _filters()
    view = "list" if request.args.get("view") == "list" else "board"
    page = None
    if view == "list":
        page = paginate(board.selected(filters))
        records, counts = list(page.items), {}
    else:
        records, counts = board.board(filters)
    columns = board.cards(current_user, records)
    return render_template(
        "cooperation/pipeline.html",
        board=columns,
        counts=counts,
        page=page,
        per_column=board.PER_COLUMN,
        stages=stages.BOARD if filters.terminated else stages.FLOW,
        view=view,
        filters=filters,
        total=page.total if page else sum(counts.values()),
        stale=sum(card.stale for cards in columns.values() for card in cards),
        here=request.full_path.rstrip("?"),
        **_filter_choices(),
    )


@bp.route("/cooperation/<int:coop_id>")
@access(Level.SIGNED_IN)
def detail(coop_id: int) -> str:
    coop = services.get_cooperation(coop_id)
    form = _move_form(coop)
    wanted = request.args.get("to")
    moves = stages.next_stages(coop.stage)
    if wanted in {s.value for s in moves}:
        form.to.data = wanted
    form.next.data = request.args.get("next", "")
    return _detail(coop, form)


def _move_form(coop: Cooperation) -> MoveForm:
    """A fresh move form, its dates pre-filled with today (the county's): a move is mostly
    recorded the day it happens, and 签约 the day the contract is signed."""
    today = local_today()
    return MoveForm(formdata=None, version=coop.version, on=today, signed_on=today)


def _detail(coop: Any, form: MoveForm, status: int = 200) -> Any:
    moves = (
        stages.next_stages(coop.stage) if policy.can_edit_cooperation(current_user, coop) else []
    )
    form.to.choices = [(s.value, s.label) for s in moves]
    return render_template(
        "cooperation/detail.html", coop=coop, form=form, moves=moves, Stage=Stage
    ), status


@bp.route("/cooperation/<int:coop_id>/move", methods=["POST"])
@access(Level.OFFICER)
def move(coop_id: int) -> Response | tuple[str, int]:
    """Move on by the rules; what is missing (签约日期, 终止原因 …) is asked on the page."""
    coop = services.get_cooperation(coop_id)
    may = policy.can_edit_cooperation(current_user, coop)  # else `move` refuses (403)
    form = MoveForm(coop=coop if may else None)
    form.to.choices = [(s.value, s.label) for s in Stage]
    step = form.step()
    if not form.validate_on_submit() or step is None:  # every field's error, and the rules'
        return _detail(coop, form, 400)
    refused = save_step(
        form,
        lambda: stages.move(current_user, coop, step),
        reload=lambda: services.get_cooperation(coop_id),
        show=_detail,
        fresh=_move_form,
        default="to",
    )
    if refused is not None:
        return refused
    flash(f"“{coop.title}”已进入{coop.stage.label}阶段。", "success")
    target = form.next.data if is_safe_next(form.next.data) else None
    return redirect(target or url_for("cooperation.detail", coop_id=coop.id))


# ---- attachments -------------------------------------------------------------------------------


@bp.route("/cooperation/<int:coop_id>/attachments", methods=["POST"])
@access(Level.OFFICER)
def upload(coop_id: int) -> Response:
    coop = services.get_cooperation(coop_id)
    policy.authorize(
        policy.can_edit_cooperation(current_user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以上传附件。",
    )
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的文件。", "warning")
    else:
        run_action(
            lambda: attachments.add(current_user, coop, upload.filename, upload.stream),
            lambda attachment: f"已上传 {attachment.filename}。",
        )
    return redirect(url_for("cooperation.detail", coop_id=coop.id, _anchor="attachments"))


@bp.route("/attachments/<int:attachment_id>")
@access(Level.SIGNED_IN)
def attachment(attachment_id: int) -> Response:
    """The file, to whoever may see its cooperation record, as the type its content is."""
    item = get_live(Attachment, attachment_id)  # a deleted record's files are gone too
    response = send_file(
        attachments.path_of(item),
        mimetype=item.content_type,
        download_name=item.filename,
        as_attachment=item.content_type == "application/pdf" and request.args.get("view") != "1",
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/attachments/<int:attachment_id>/delete", methods=["POST"])
@access(Level.OFFICER)
def delete_attachment(attachment_id: int) -> Response:
    item = get_live(Attachment, attachment_id)
    owner = item.owner
    page = record_url(type(owner).__tablename__, owner.id) if owner else url_for("main.home")
    path, name = attachments.path_of(item), item.filename
    if FlaskForm().validate_on_submit():
        attachments.remove(current_user, item)
        db.session.commit()
        path.unlink(missing_ok=True)  # after the commit: a rolled-back delete keeps its file
        flash(f"已删除附件 {name}。", "success")
    return redirect(page + "#attachments")


# ---- registering and editing ------------------------------------------------------------------


def _institution_choices(current: Institution | None = None) -> list[tuple[str, str]]:
    """Live institutions; and the record's own even if deleted since (kept by a plain save)."""
    rows = db.session.execute(
        sa.select(Institution.id, Institution.name)
        .where(Institution.deleted_at.is_(None))
        .order_by(Institution.name_sort)
    )
    pairs = [("", "（不填）")] + [(str(i), n) for i, n in rows]
    if current is not None and current.deleted_at is not None:
        pairs.append((str(current.id), f"{current.name}（已删除）"))
    return pairs


def _details(form: CooperationForm) -> services.Details:
    amount = form.amount.data
    return services.Details(
        title=form.title.data or "",
        type=CooperationType(form.type.data),
        institution_id=form.institution_id.data,
        researcher_name=form.researcher_name.data,
        amount=to_yuan(amount),
        contract_no=form.contract_no.data,
        origin=Origin(form.origin.data),
        notes=form.notes.data,
    )


@bp.route("/enterprises/<int:enterprise_id>/cooperation/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create(enterprise_id: int) -> Response | tuple[str, int]:
    """登记合作: a cooperation of this enterprise found outside matching (a visit, an event…)."""
    ent = get_enterprise(enterprise_id)
    form = CooperationForm()
    form.institution_id.choices = _institution_choices()
    if request.method == "GET":
        form.origin.data = Origin.MANUAL.value
    return save_form(
        form,
        lambda: services.create(current_user, ent, _details(form)),
        template="cooperation/form.html",
        done=lambda coop: url_for("cooperation.detail", coop_id=coop.id),
        success="已登记合作，当前阶段：意向。",
        default_field="title",
        ent=ent,
        coop=None,
    )


@bp.route("/cooperation/<int:coop_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def edit(coop_id: int) -> Response | tuple[str, int]:
    """Edit a cooperation's details (whoever may move it along); its stages are `move`'s."""
    coop = services.get_cooperation(coop_id)
    policy.authorize(
        policy.can_edit_cooperation(current_user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以修改。",
    )
    form = CooperationForm(obj=coop if request.method == "GET" else None, coop=coop)
    form.institution_id.choices = _institution_choices(coop.institution)
    if request.method == "GET":
        form.type.data, form.origin.data = coop.type.value, coop.origin.value
        form.institution_id.data = coop.institution_id
        form.researcher_name.data = coop.researcher.name if coop.researcher else ""
        form.amount.data = to_wan(coop.amount)
    return save_form(
        form,
        lambda: services.update(current_user, coop, _details(form), int(form.version.data or 0)),
        template="cooperation/form.html",
        done=lambda saved: url_for("cooperation.detail", coop_id=saved.id),
        default_field="title",
        record=coop,
        conflict=lambda: _details(form),
        ent=coop.enterprise,
        coop=coop,
    )
