"""科技项目: the list, a project's page (history, move, attachments), registering and editing,
the 申报截止 calendar, and the programmes admins keep."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.audit import pages as audit
from crm.auth.services import officers
from crm.clock import local_today
from crm.cooperation import attachments
from crm.cooperation.services import get_cooperation
from crm.enterprises.models import Industry, Town
from crm.enterprises.services import get_enterprise
from crm.errors import NotFound
from crm.extensions import db
from crm.forms import choices
from crm.institutions.models import Institution
from crm.matching.models import Suggestion, SuggestionStatus
from crm.money import to_wan
from crm.policy import Level, access
from crm.projects import deadlines, lists, services, stages
from crm.projects.forms import MoveForm, ProgrammeForm, ProjectForm
from crm.projects.models import Level as ProjectLevel
from crm.projects.models import Project, ProjectStage
from crm.urls import is_safe_next
from crm.web import id_arg, paginate, run_action, save_form, save_step

bp = Blueprint("projects", __name__)


def _choice(kind: Any, name: str) -> Any:
    value = request.args.get(name, "")
    return kind(value) if value in {c.value for c in kind} else None


def _filters() -> lists.Filters:
    year = request.args.get("year", "")
    return lists.Filters(
        level=_choice(ProjectLevel, "level"),
        programme_id=id_arg("programme_id"),
        stage=_choice(ProjectStage, "stage"),
        year=int(year) if year.isascii() and year.isdigit() and 1990 <= int(year) <= 2100 else None,
        town_id=id_arg("town_id"),
        industry_id=id_arg("industry_id"),
        officer_id=id_arg("officer_id"),
        q=(request.args.get("q") or "").strip()[:100] or None,
    )


@bp.route("/projects")
@access(Level.SIGNED_IN)
def index() -> str:
    filters = _filters()
    page = paginate(lists.selected(filters))
    years = db.session.scalars(
        sa.select(Project.year).where(Project.deleted_at.is_(None)).distinct()
    ).all()
    this_year = local_today().year
    return render_template(
        "projects/index.html",
        page=page,
        filters=filters,
        levels=list(ProjectLevel),
        stages=list(stages.BOARD),
        programmes=deadlines.programmes(active_only=False),
        towns=db.session.execute(sa.select(Town.id, Town.name).order_by(Town.code)).all(),
        industries=db.session.execute(
            sa.select(Industry.id, Industry.name).order_by(Industry.sort_order, Industry.name)
        ).all(),
        officers=officers(),
        years=sorted({*years, this_year}, reverse=True),
    )


@bp.route("/projects/calendar")
@access(Level.SIGNED_IN)
def calendar() -> str:
    """申报截止: programmes by deadline, each with the firms being prepared for it."""
    today = local_today()
    return render_template("projects/calendar.html", deadlines=lists.calendar(today), today=today)


# ---- a project's page and its moves ------------------------------------------------------------


def _move_form(project: Project) -> MoveForm:
    return MoveForm(formdata=None, version=project.version, on=local_today())


def _detail(project: Project, form: MoveForm, status: int = 200) -> tuple[str, int]:
    may = policy.can_edit_project(current_user, project)
    moves = stages.next_stages(project.stage) if may else []
    form.to.choices = choices((s.value, s.label) for s in moves)
    achievements = lists.achievements_of(project)
    return render_template(
        "projects/detail.html",
        project=project,
        form=form,
        moves=moves,
        may_edit=may,
        achievements=achievements,
        **audit.history_context(current_user, "project", project.id),
    ), status


@bp.route("/projects/<int:project_id>")
@access(Level.SIGNED_IN)
def detail(project_id: int) -> tuple[str, int]:
    project = services.get_project(project_id)
    form = _move_form(project)
    wanted = request.args.get("to")
    if wanted in {s.value for s in stages.next_stages(project.stage)}:
        form.to.data = wanted
    form.next.data = request.args.get("next", "")
    return _detail(project, form)


@bp.route("/projects/<int:project_id>/move", methods=["POST"])
@access(Level.OFFICER)
def move(project_id: int) -> Response | tuple[str, int]:
    """Move on by the rules; what is missing (项目编号, 原因 …) is asked on the page."""
    project = services.get_project(project_id)
    policy.authorize(  # before the form: a refusal says who may, whatever was sent
        policy.can_edit_project(current_user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以推进。",
    )
    form = MoveForm(project=project)
    form.to.choices = choices((s.value, s.label) for s in ProjectStage)
    step = form.step()
    if not form.validate_on_submit() or step is None:
        return _detail(project, form, 400)
    refused = save_step(
        form,
        lambda: stages.move(current_user, project, step),
        reload=lambda: services.get_project(project_id),
        show=_detail,
        fresh=_move_form,
        default="to",
    )
    if refused is not None:
        return refused
    flash(f"“{project.title}”已进入{project.stage.label}阶段。", "success")
    target = form.next.data if is_safe_next(form.next.data) else None
    return redirect(target or url_for("projects.detail", project_id=project.id))


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
@access(Level.OFFICER)
def upload(project_id: int) -> Response:
    """申报书, 立项通知, 验收报告: kept with the project like a cooperation's files."""
    project = services.get_project(project_id)
    policy.authorize(
        policy.can_edit_project(current_user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以上传附件。",
    )
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的文件。", "warning")
    else:
        run_action(
            lambda: attachments.add(current_user, project, upload.filename, upload.stream),
            lambda attachment: f"已上传 {attachment.filename}。",
        )
    return redirect(url_for("projects.detail", project_id=project.id, _anchor="attachments"))


# ---- registering and editing -------------------------------------------------------------------


def _fill_choices(form: ProjectForm, project: Project | None = None) -> None:
    current = project.programme_id if project else None
    form.programme_id.choices = choices(
        [("", "（请选择）")]
        + [
            (str(p.id), f"{p.name}（{p.level.label}）")
            for p in deadlines.programmes(active_only=False)
            if p.active or p.id == current
        ]
    )
    form.officer_id.choices = choices((str(u.id), u.display_name) for u in officers())
    kept = [p.institution for p in project.partners if p.institution] if project else []
    form.partner_institution_ids.choices = choices(
        [
            (str(i), n)
            for i, n in db.session.execute(
                sa.select(Institution.id, Institution.name)
                .where(Institution.deleted_at.is_(None))
                .order_by(Institution.name_sort)
            )
        ]
        + [(str(i.id), f"{i.name}（已删除）") for i in kept if i.deleted_at is not None]
    )


def _origin(enterprise_id: int) -> tuple[Any, Any]:
    """The cooperation or accepted suggestion a new project comes from (?cooperation_id=,
    ?suggestion_id=), if it is this firm's."""
    coop = suggestion = None
    if coop_id := id_arg("cooperation_id"):
        coop = get_cooperation(coop_id)
        if coop.enterprise_id != enterprise_id:
            raise NotFound("这条合作不属于该企业。")
    elif suggestion_id := id_arg("suggestion_id"):
        suggestion = db.session.get(Suggestion, suggestion_id)
        if (
            suggestion is None
            or suggestion.need.enterprise_id != enterprise_id
            or suggestion.status != SuggestionStatus.ACCEPTED
        ):
            raise NotFound("没有这条已采纳的推荐。")
    return coop, suggestion


@bp.route("/enterprises/<int:enterprise_id>/projects/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create(enterprise_id: int) -> Response | tuple[str, int]:
    """登记申报: a project this firm is applying for (from a cooperation or a suggestion)."""
    ent = get_enterprise(enterprise_id)
    form = ProjectForm(enterprise_id=ent.id)
    _fill_choices(form)
    if request.method == "GET":
        coop, suggestion = _origin(ent.id)
        for name, value in services.prefill(coop, suggestion).items():
            getattr(form, name).data = value
        form.officer_id.data = current_user.id
        form.year.data = local_today().year
        if programme_id := id_arg("programme_id"):
            form.programme_id.data = programme_id
    return save_form(
        form,
        lambda: services.create(current_user, ent, form.data_()),
        template="projects/form.html",
        done=lambda project: url_for("projects.detail", project_id=project.id),
        success=lambda project: (
            "已登记项目，当前阶段：申报。"
            + ("已为负责人添加申报截止前的待办。" if project.programme.deadline else "")
        ),
        default_field="title",
        ent=ent,
        project=None,
    )


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def edit(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(project_id)
    policy.authorize(
        policy.can_edit_project(current_user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以修改。",
    )
    form = ProjectForm(obj=project if request.method == "GET" else None, project=project)
    _fill_choices(form, project)
    if request.method == "GET":
        # "按计划" while it is the programme's: a change of programme then changes the level
        form.level.data = "" if project.level == project.programme.level else project.level.value
        form.grant_amount.data = to_wan(project.grant_amount)
        form.self_funding.data = to_wan(project.self_funding)
        form.partner_institution_ids.data = [
            p.institution_id for p in project.partners if p.institution_id
        ]
        form.partner_researchers.data = "、".join(
            p.researcher.name for p in project.partners if p.researcher
        )
        form.partner_enterprises.data = "、".join(
            p.enterprise.name for p in project.partners if p.enterprise
        )
    return save_form(
        form,
        lambda: services.update(current_user, project, form.data_(), int(form.version.data or 0)),
        template="projects/form.html",
        done=lambda saved: url_for("projects.detail", project_id=saved.id),
        default_field="title",
        record=project,
        ent=project.enterprise,
        project=project,
    )


# ---- programmes (admins) -----------------------------------------------------------------------


@bp.route("/programmes")
@access(Level.SIGNED_IN)
def programmes() -> str:
    return render_template(
        "projects/programmes.html", programmes=deadlines.programmes(active_only=False)
    )


@bp.route("/programmes/new", methods=["GET", "POST"])
@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@access(Level.ADMIN)
def programme_form(programme_id: int | None = None) -> Response | tuple[str, int]:
    programme = deadlines.get_programme(programme_id) if programme_id else None
    form = ProgrammeForm(obj=programme if request.method == "GET" else None)
    if request.method == "GET" and programme is not None:
        form.level.data = programme.level.value
    return save_form(
        form,
        lambda: deadlines.save_programme(
            current_user,
            deadlines.ProgrammeData(
                name=form.name.data or "",
                level=ProjectLevel(form.level.data),
                department=form.department.data,
                deadline=form.deadline.data,
                active=bool(form.active.data),
                notes=form.notes.data,
            ),
            programme,
            int(form.version.data or 0),
        ),
        template="projects/programme_form.html",
        done=lambda _saved: url_for("projects.programmes"),
        success=lambda saved: f"已保存科技计划“{saved.name}”。",
        default_field="name",
        record=programme,
        programme=programme,
    )
