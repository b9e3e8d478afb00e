"""Logging a visit from an enterprise's page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy, submissions
from crm.auth.services import officers
from crm.clock import local_today
from crm.enterprises.services import get_enterprise
from crm.errors import ValidationError
from crm.exports.downloads import download, export_format
from crm.exports.services import ExportSpec
from crm.extensions import db
from crm.forms import attach_error, choices
from crm.policy import Level, access
from crm.urls import is_safe_next
from crm.visits import services
from crm.visits.forms import ReassignForm, TaskDoneForm, VisitEditForm, VisitForm
from crm.visits.models import Visit
from crm.web import id_arg, list_args, paginate, save_form

bp = Blueprint("visits", __name__)


@bp.route("/enterprises/<int:enterprise_id>/visits/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create(enterprise_id: int) -> Response | tuple[str, int] | str:
    """Log a visit: date, notes, needs found and the next step, in one form."""
    ent = get_enterprise(enterprise_id)
    today = local_today()
    form = VisitForm()
    colleagues = officers(besides=current_user.id)
    form.companions.choices = choices((str(u.id), u.display_name) for u in colleagues)
    due = services.default_due(today)
    form.next_due.description = (
        f"默认 {services.TASK_DAYS} 天后（{due.isoformat()}），可修改；清空也按此日期"
    )
    if not form.is_submitted():
        form.visited_on.data = today
        form.next_due.data = due
    if form.validate_on_submit():
        data = services.VisitData(
            visited_on=form.visited_on.data,
            notes=form.notes.data,
            companion_ids=[i for i in form.companions.data or [] if i],
            needs=[
                services.NeedEntry(e.form.title.data or "", e.form.description.data)
                for e in form.needs
            ],
            next_step=form.next_step.data,
            next_due=form.next_due.data,
        )
        try:
            claimed = submissions.claim(form, current_user.id)  # a double tap logs one visit
            # sent again after the back button (a fresh key): the visit is there already
            earlier = services.just_logged(current_user, ent, data)
            visit = earlier or services.log_visit(current_user, ent, data, today)
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default="notes")
        else:
            target = url_for("enterprises.detail", enterprise_id=ent.id)
            said = "这次走访刚才已经保存过，没有再记一次。" if earlier else _saved(visit)
            submissions.fulfil(claimed, target)
            db.session.commit()
            flash(said, "info" if earlier else "success")
            return redirect(target)
    status = 400 if form.errors else 200
    return render_template("visits/form.html", form=form, ent=ent, today=today), status


def _saved(visit: Visit) -> str:
    """The save message: the needs found, and the task the next step became with its date."""
    found = len(visit.needs)
    said = f"已记录走访{f'，新增 {found} 条技术需求' if found else ''}"
    task = services.follow_up(visit)
    if task is not None and task.due_on is not None:
        said += f"，并新建待办「{task.title}」，截止 {task.due_on.isoformat()}"
    return said + "。"


def _back(target: str | None) -> Response:
    return redirect(target if is_safe_next(target) else url_for("visits.tasks"))


@bp.route("/tasks")
@access(Level.SIGNED_IN)
def tasks() -> str | Response:
    """My tasks (admins: anyone's), open ones first by due date; or their export."""
    assignee_id = id_arg("assignee")
    include_done = request.args.get("done") == "1"
    stmt = services.task_list(current_user, assignee_id, include_done)
    args = list_args()
    if fmt := export_format():
        return download(ExportSpec("tasks", stmt, args), fmt)
    page = paginate(stmt)
    reassign = ReassignForm()
    people = officers()
    reassign.assignee_id.choices = choices((str(u.id), u.display_name) for u in people)
    return render_template(
        "visits/tasks.html",
        page=page,
        today=local_today(),
        done_form=TaskDoneForm(),
        reassign=reassign,
        officers=people,
        assignee_id=assignee_id,
        include_done=include_done,
        args=args,
    )


@bp.route("/tasks/<int:task_id>/done", methods=["POST"])
@access(Level.OFFICER)
def task_done(task_id: int) -> Response:
    """Mark a task done, or open it again."""
    form = TaskDoneForm()
    task = services.get_task(task_id)
    if form.validate_on_submit():
        services.complete_task(current_user, task, done=form.done.data != "0")
        db.session.commit()
        flash("已完成待办。" if task.done else "已重新打开待办。", "success")
    return _back(form.next.data)


@bp.route("/tasks/<int:task_id>/assign", methods=["POST"])
@access(Level.ADMIN)
def task_assign(task_id: int) -> Response:
    """Hand a task to another officer (admins)."""
    form = ReassignForm()
    task = services.get_task(task_id)
    if form.validate_on_submit():
        try:
            services.reassign_task(current_user, task, form.assignee_id.data)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(f"已改派给 {task.assignee.display_name}。", "success")
    return _back(form.next.data)


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def edit(visit_id: int) -> Response | tuple[str, int]:
    """Correct the date or notes of a visit one logged."""
    visit = services.get_visit(visit_id)
    policy.authorize(policy.can_edit_visit(current_user, visit), "只能修改自己记录的走访。")
    form = VisitEditForm(obj=visit if request.method == "GET" else None)
    return save_form(
        form,
        lambda: services.update_visit(
            current_user,
            visit,
            form.visited_on.data,
            form.notes.data,
            local_today(),
            int(form.version.data or 0),
        ),
        template="visits/edit.html",
        done=lambda v: url_for("enterprises.detail", enterprise_id=v.enterprise_id),
        success="已保存走访记录。",
        default_field="notes",
        record=visit,
        conflict=lambda: form.notes.data,
        visit=visit,
    )
