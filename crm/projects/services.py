"""Registering and editing 科技项目 and the programmes (科技计划) they apply to; the tasks before
each programme's 申报截止; the list's filters and the deadline calendar. Moving a project along
is `crm.projects.stages`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.auth.services import is_officer
from crm.clock import local_today
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise, enterprise_industry
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.projects import stages
from crm.projects.models import Level, Programme, Project, ProjectPartner, ProjectStage
from crm.queries import get_live, live, reference
from crm.visits.models import Task

logger = logging.getLogger(__name__)

#: a task to prepare the application falls due this many days before the deadline
PREPARE_DAYS = 7
NAME_SEPARATORS = re.compile(r"[\n、，,;；]+")


def get_project(project_id: int) -> Project:
    return get_live(Project, project_id, message="这个项目不存在或已删除。")


# ---- programmes (kept by admins) ---------------------------------------------------------------


@dataclass
class ProgrammeData:
    name: str
    level: Level
    department: str | None = None
    deadline: date | None = None
    active: bool = True
    notes: str | None = None


def programmes(active_only: bool = True) -> list[Programme]:
    stmt = sa.select(Programme).order_by(Programme.active.desc(), Programme.level, Programme.name)
    if active_only:
        stmt = stmt.where(Programme.active.is_(True))
    return list(db.session.scalars(stmt))


def get_programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("这个科技计划不存在。")
    return programme


def save_programme(
    user: User, data: ProgrammeData, programme: Programme | None = None, version: int = 0
) -> Programme:
    """Add or change a programme (admins); a new or moved deadline sets the preparation tasks
    of the projects applying to it."""
    policy.authorize(policy.is_admin(user), "只有管理员可以维护科技计划。")
    name = (data.name or "").strip()
    if not name:
        raise ValidationError("请填写计划名称。", field="name")
    same = db.session.scalar(sa.select(Programme).where(Programme.name == name))
    if same is not None and same is not programme:
        raise ValidationError(f"已有名为“{name}”的科技计划。", field="name")
    if programme is None:
        programme = Programme(name=name, level=data.level)
        db.session.add(programme)
    elif programme.version != version:
        raise Conflict()
    programme.name, programme.level = name, Level(data.level)
    programme.department = (data.department or "").strip() or None
    programme.deadline, programme.active = data.deadline, bool(data.active)
    programme.notes = (data.notes or "").strip() or None
    db.session.flush()
    for project in applying(programme):
        prepare_task(project)
    db.session.flush()
    logger.info("Programme %r saved by %s", programme, user.username)
    return programme


def applying(programme: Programme) -> list[Project]:
    """The live projects being prepared for this programme (at 申报)."""
    return list(
        db.session.scalars(
            sa.select(Project).where(
                Project.programme_id == programme.id,
                Project.stage == ProjectStage.APPLYING,
                live(Project),
            )
        )
    )


def prepare_task(project: Project) -> Task | None:
    """The task of preparing the application before the programme's deadline, for the officer
    in charge: made once per deadline (a moved deadline moves the open task's date)."""
    deadline = project.programme.deadline
    if deadline is None or project.officer_id is None or project.stage != ProjectStage.APPLYING:
        return None
    today = local_today()
    if deadline < today:
        return None
    due = max(today, deadline - timedelta(days=PREPARE_DAYS))
    when = f"{deadline.month}月{deadline.day}日截止"
    title = f"{stages.PREPARATION}{project.programme.name}”申报材料：{project.title}（{when}）"
    task = db.session.scalar(
        sa.select(Task).where(
            Task.project_id == project.id, Task.done_at.is_(None), Task.deleted_at.is_(None)
        )
    )
    if task is None:
        task = Task(
            project_id=project.id,
            enterprise_id=project.enterprise_id,
            assignee_id=project.officer_id,
        )
        db.session.add(task)
    task.title, task.due_on, task.assignee_id = title[:200], due, project.officer_id
    return task


# ---- projects ----------------------------------------------------------------------------------


@dataclass
class ProjectData:
    """What an officer writes about a project (its stage moves are `stages.move`'s)."""

    title: str
    programme_id: int | None
    year: int | None = None
    level: Level | None = None  # the programme's if not given
    number: str | None = None
    grant_amount: Decimal | None = None  # yuan
    self_funding: Decimal | None = None  # yuan
    applied_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    officer_id: int | None = None
    cooperation_id: int | None = None
    suggestion_id: int | None = None
    notes: str | None = None
    # partners: ids (the API) and/or names, one per line or separated by 、 (the web form);
    # None leaves a record's partners as they are
    partner_institution_ids: list[int] | None = None
    partner_researchers: str | None = None
    partner_enterprises: str | None = None
    partner_researcher_ids: list[int] | None = field(default=None)
    partner_enterprise_ids: list[int] | None = field(default=None)
    enterprise_id: int | None = None  # the lead firm, when registering (its page names it)


def problems(data: ProjectData, project: Project | None = None) -> list[ValidationError]:
    """Every rule the data breaks, each naming its field (a form shows them all at once)."""
    found: list[ValidationError] = []
    if not (data.title or "").strip():
        found.append(ValidationError("请填写项目名称。", field="title"))
    if data.programme_id is None:
        found.append(ValidationError("请选择科技计划。", field="programme_id"))
    else:
        programme = db.session.get(Programme, data.programme_id)
        if programme is None:
            found.append(
                ValidationError(
                    "没有这个科技计划：请从列表中选择，或请管理员先添加。", field="programme_id"
                )
            )
        elif not programme.active and (project is None or project.programme_id != programme.id):
            found.append(ValidationError(f"“{programme.name}”已停用。", field="programme_id"))
    for name, label in (("grant_amount", "财政资助"), ("self_funding", "自筹经费")):
        value = getattr(data, name)
        if value is not None and value < 0:
            found.append(ValidationError(f"{label}不能为负数。", field=name))
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        found.append(ValidationError("结束日期不能早于开始日期。", field="ends_on"))
    if data.year is not None and not 1990 <= data.year <= 2100:
        found.append(ValidationError("申报年度应在 1990–2100 之间。", field="year"))
    number = (data.number or "").strip()
    if number and stages.taken(number, project.id if project else None):
        found.append(ValidationError(f"项目编号“{number}”已被另一个项目使用。", field="number"))
    if project is not None and not number and project.stage in stages.APPROVED:
        found.append(ValidationError("已立项的项目须有项目编号。", field="number"))
    found += _origin_problems(data, project)
    for check in (_institution_ids, _researcher_ids, _enterprise_ids):
        try:
            check(data, project)
        except ValidationError as exc:
            found.append(exc)
    return found


def _origin_problems(data: ProjectData, project: Project | None) -> list[ValidationError]:
    """The officer in charge is an active officer; the cooperation and the suggestion a project
    comes from are its firm's (a suggestion: an accepted one). What it already has is kept."""
    found = []
    had_officer, had_coop, had_suggestion = (
        (project.officer_id, project.cooperation_id, project.suggestion_id)
        if project is not None
        else (None, None, None)
    )
    if data.officer_id is not None and data.officer_id != had_officer:
        if not is_officer(data.officer_id):
            found.append(ValidationError("负责人须是在岗的联络员或管理员。", field="officer_id"))
    firm = project.enterprise_id if project is not None else data.enterprise_id
    if data.cooperation_id is not None and data.cooperation_id != had_coop:
        coop = db.session.get(Cooperation, data.cooperation_id)
        if coop is None or coop.deleted_at is not None or coop.enterprise_id != firm:
            found.append(ValidationError("所选合作不存在或不属于该企业。", field="cooperation_id"))
    if data.suggestion_id is not None and data.suggestion_id != had_suggestion:
        suggestion = db.session.get(Suggestion, data.suggestion_id)
        if (
            suggestion is None
            or suggestion.status != SuggestionStatus.ACCEPTED
            or suggestion.need.enterprise_id != firm
        ):
            found.append(
                ValidationError("只能以该企业已采纳的推荐申报项目。", field="suggestion_id")
            )
    return found


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in NAME_SEPARATORS.split(text or "") if n.strip()]


def _kept(project: Project | None, column: str) -> dict[str, int]:
    """The partners of this kind the project already has, by name: a save keeps them as they
    are, even if deleted or renamed in the library since (as `queries.reference` does)."""
    if project is None:
        return {}
    found = {}
    for partner in project.partners:
        record = getattr(partner, column.removesuffix("_id"))
        if record is not None:
            found[record.name] = record.id
    return found


def _researcher_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_researcher_ids is None and data.partner_researchers is None:
        return None
    kept = _kept(project, "researcher_id")
    ids = list(data.partner_researcher_ids or [])
    for name in _names(data.partner_researchers):
        if name in kept:
            ids.append(kept[name])
            continue
        found = list(
            db.session.scalars(
                sa.select(Researcher.id)
                .where(Researcher.name == name, Researcher.deleted_at.is_(None))
                .limit(2)
            )
        )
        if not found:
            raise ValidationError(f"专家库里没有“{name}”。", field="partner_researchers")
        if len(found) > 1:
            raise ValidationError(
                f"专家库里有多位“{name}”，请在专家页面核对后再填写。", field="partner_researchers"
            )
        ids.append(found[0])
    return _checked(ids, Researcher, set(kept.values()), "partner_researchers", "专家")


def _enterprise_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_enterprise_ids is None and data.partner_enterprises is None:
        return None
    kept = _kept(project, "enterprise_id")
    ids = list(data.partner_enterprise_ids or [])
    for name in _names(data.partner_enterprises):
        firm = kept.get(name) or db.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.name == name, Enterprise.deleted_at.is_(None))
        )
        if firm is None:
            raise ValidationError(
                f"企业库里没有“{name}”，请写企业全称或先登记该企业。", field="partner_enterprises"
            )
        ids.append(firm)
    lead = project.enterprise_id if project is not None else None
    ids = [i for i in ids if i != lead]
    return _checked(ids, Enterprise, set(kept.values()), "partner_enterprises", "企业")


def _institution_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_institution_ids is None:
        return None
    kept = set(_kept(project, "institution_id").values())
    return _checked(
        list(data.partner_institution_ids), Institution, kept, "partner_institution_ids", "高校院所"
    )


def _checked(ids: list[int], model: Any, kept: set[int], field: str, what: str) -> list[int]:
    """The ids once each; a new one must be a live record, one the project has is kept."""
    for record_id in ids:
        if record_id not in kept:
            reference(model, record_id, None, field=field, what=what)
    return list(dict.fromkeys(ids))


def _set_partners(project: Project, data: ProjectData) -> None:
    wanted: dict[str, list[int] | None] = {
        "institution_id": _institution_ids(data, project),
        "researcher_id": _researcher_ids(data, project),
        "enterprise_id": _enterprise_ids(data, project),
    }
    for column, ids in wanted.items():
        if ids is None:
            continue
        have = {getattr(p, column): p for p in project.partners if getattr(p, column) is not None}
        for gone in set(have) - set(ids):
            project.partners.remove(have[gone])
        for new in ids:
            if new not in have:
                project.partners.append(ProjectPartner(**{column: new}))


def _apply(user: User, project: Project, data: ProjectData) -> None:
    if found := problems(data, project if project.id else None):
        raise found[0]
    programme = db.session.get(Programme, data.programme_id)
    if programme is None:  # problems() said so already; for the type checker
        raise ValidationError("请选择科技计划。", field="programme_id")
    project.title = data.title.strip()
    project.programme_id, project.programme = programme.id, programme
    project.level = Level(data.level) if data.level else programme.level
    project.year = data.year or project.year or local_today().year
    project.number = (data.number or "").strip() or None
    project.grant_amount, project.self_funding = data.grant_amount, data.self_funding
    project.applied_on, project.starts_on, project.ends_on = (
        data.applied_on,
        data.starts_on,
        data.ends_on,
    )
    project.officer_id = reference(
        User, data.officer_id, project.officer_id, field="officer_id", what="负责人"
    ) or (project.officer_id if project.id else user.id)
    project.cooperation_id = reference(
        Cooperation,
        data.cooperation_id,
        project.cooperation_id,
        field="cooperation_id",
        what="合作",
    )
    project.suggestion_id = reference(
        Suggestion, data.suggestion_id, project.suggestion_id, field="suggestion_id", what="推荐"
    )
    project.notes = (data.notes or "").strip() or None
    _set_partners(project, data)


def create(user: User, enterprise: Enterprise, data: ProjectData) -> Project:
    """A new project at 申报 led by a firm the officer may edit, with its history and the task
    of preparing it before the programme's deadline."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise), "您只能为本人或本科室负责的企业登记项目。"
    )
    data.enterprise_id = enterprise.id
    project = Project(enterprise_id=enterprise.id, enterprise=enterprise)
    project.stage = ProjectStage.APPLYING
    with db.session.no_autoflush:
        _apply(user, project, data)
        today = local_today()  # a planned application date is no move in the future
        stages.start(project, user.id, min(data.applied_on or today, today), "登记申报")
    db.session.add(project)
    db.session.flush()
    prepare_task(project)
    db.session.flush()
    logger.info("Project %s registered by %s", project.id, user.username)
    return project


def update(user: User, project: Project, data: ProjectData, version: int) -> Project:
    policy.authorize(
        policy.can_edit_project(user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以修改。",
    )
    if project.version != version:
        raise Conflict()
    with db.session.no_autoflush:
        _apply(user, project, data)
    db.session.flush()
    prepare_task(project)
    db.session.flush()
    return project


def prefill(cooperation: Cooperation | None, suggestion: Suggestion | None) -> dict[str, Any]:
    """What a project registered from a cooperation or an accepted suggestion starts with."""
    if cooperation is not None:
        return {
            "title": cooperation.title,
            "cooperation_id": cooperation.id,
            "suggestion_id": cooperation.suggestion_id,
            "partner_institution_ids": [cooperation.institution_id]
            if cooperation.institution_id
            else [],
            "partner_researchers": cooperation.researcher.name if cooperation.researcher else "",
        }
    if suggestion is not None:
        researcher = suggestion.researcher
        return {
            "title": suggestion.need.title,
            "suggestion_id": suggestion.id,
            "partner_institution_ids": [researcher.institution_id]
            if researcher is not None and researcher.institution_id
            else [],
            "partner_researchers": researcher.name if researcher is not None else "",
        }
    return {}


def achievements_of(project: Project) -> list[Achievement]:
    """The live achievements (科技成果) this project produced."""
    return list(
        db.session.scalars(
            sa.select(Achievement).where(
                Achievement.project_id == project.id, Achievement.deleted_at.is_(None)
            )
        )
    )


def of_enterprise(enterprise_id: int) -> list[Project]:
    """A firm's live projects, as the lead or a partner, newest first."""
    partner = sa.select(ProjectPartner.project_id).where(
        ProjectPartner.enterprise_id == enterprise_id
    )
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(
                live(Project),
                sa.or_(Project.enterprise_id == enterprise_id, Project.id.in_(partner)),
            )
            .order_by(Project.year.desc(), Project.id.desc())
        )
    )


# ---- lists and the calendar ---------------------------------------------------------------------


@dataclass
class Filters:
    level: Level | None = None
    programme_id: int | None = None
    stage: ProjectStage | None = None
    year: int | None = None
    town_id: int | None = None
    industry_id: int | None = None
    officer_id: int | None = None
    q: str | None = None


def selected(filters: Filters) -> sa.Select[tuple[Project]]:
    """The live projects the filters select, newest year first."""
    stmt = (
        sa.select(Project)
        .join(Enterprise, Project.enterprise_id == Enterprise.id)
        .where(Project.deleted_at.is_(None), Enterprise.deleted_at.is_(None))
        .options(selectinload(Project.enterprise), selectinload(Project.programme))
    )
    if filters.level:
        stmt = stmt.where(Project.level == filters.level)
    if filters.programme_id:
        stmt = stmt.where(Project.programme_id == filters.programme_id)
    if filters.stage:
        stmt = stmt.where(Project.stage == filters.stage)
    if filters.year:
        stmt = stmt.where(Project.year == filters.year)
    if filters.town_id:
        stmt = stmt.where(Enterprise.town_id == filters.town_id)
    if filters.industry_id:
        stmt = stmt.where(
            Enterprise.id.in_(
                sa.select(enterprise_industry.c.enterprise_id).where(
                    enterprise_industry.c.industry_id == filters.industry_id
                )
            )
        )
    if filters.officer_id:
        stmt = stmt.where(Project.officer_id == filters.officer_id)
    if filters.q:
        words = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Project.title.like(words), Project.number.like(words), Enterprise.name.like(words)
            )
        )
    return stmt.order_by(Project.year.desc(), Project.stage_changed_on.desc(), Project.id.desc())


@dataclass
class Deadline:
    programme: Programme
    days_left: int
    projects: list[Project]  # the firms being prepared for it (projects at 申报), the first few
    preparing: int  # how many there are in all


#: a deadline shows this many of the firms being prepared for it (and how many more)
SHOWN_PER_DEADLINE = 30


def calendar(today: date, include_past_days: int = 30) -> list[Deadline]:
    """Programmes with a deadline from a month ago on, soonest first, each with the projects
    being prepared for it (the first `SHOWN_PER_DEADLINE` by firm, and their number)."""
    rows = db.session.scalars(
        sa.select(Programme)
        .where(
            Programme.active.is_(True),
            Programme.deadline.is_not(None),
            Programme.deadline >= today - timedelta(days=include_past_days),
        )
        .order_by(Programme.deadline, Programme.name)
    ).all()
    preparing: dict[int, list[Project]] = {}
    counts: dict[int, int] = {}
    if rows:
        applying = sa.and_(
            Project.programme_id.in_([p.id for p in rows]),
            Project.stage == ProjectStage.APPLYING,
            Project.deleted_at.is_(None),
            Enterprise.deleted_at.is_(None),
        )
        place = (
            sa.func.row_number()
            .over(partition_by=Project.programme_id, order_by=(Enterprise.name_sort, Project.id))
            .label("place")
        )
        ranked = (
            sa.select(Project.id, place)
            .join(Enterprise, Project.enterprise_id == Enterprise.id)
            .where(applying)
            .subquery()
        )
        first = sa.select(ranked.c.id).where(ranked.c.place <= SHOWN_PER_DEADLINE)
        for project in db.session.scalars(
            sa.select(Project)
            .join(Enterprise, Project.enterprise_id == Enterprise.id)
            .where(Project.id.in_(first))
            .options(selectinload(Project.enterprise), selectinload(Project.officer))
            .order_by(Enterprise.name_sort, Project.id)
        ):
            preparing.setdefault(project.programme_id, []).append(project)
        counts = dict(
            db.session.execute(
                sa.select(Project.programme_id, sa.func.count())
                .join(Enterprise, Project.enterprise_id == Enterprise.id)
                .where(applying)
                .group_by(Project.programme_id)
            ).all()
        )
    return [
        Deadline(
            p,
            (p.deadline - today).days,  # type: ignore[operator]
            preparing.get(p.id, []),
            counts.get(p.id, 0),
        )
        for p in rows
    ]
