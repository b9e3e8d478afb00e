"""The programmes (科技计划) admins keep, and the task their 申报截止 sets going: preparing each
application a week before it, for the officer in charge — made when a project is registered at
申报 and moved when the deadline is."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.projects import stages
from crm.projects.models import Level, Programme, Project, ProjectStage
from crm.queries import live
from crm.visits.models import Task

logger = logging.getLogger(__name__)

#: a task to prepare the application falls due this many days before the deadline
PREPARE_DAYS = 7


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
