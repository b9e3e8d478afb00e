"""Visits and tasks: what an officer has to do and has done."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.clock import start_of
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.needs import services as needs
from crm.queries import get_live
from crm.visits.models import Task, Visit

logger = logging.getLogger(__name__)

TASK_DAYS = 7  # a visit's next step without a due date is due this many days later
AHEAD_DAYS = 7  # the home page shows the tasks due within this many days after today


@dataclass
class StaleEnterprise:
    enterprise: Enterprise
    last_visit: date | None


@dataclass
class Overview:
    overdue: list[Task]
    due_today: list[Task]
    ahead: list[Task]  # due in the next AHEAD_DAYS days (not today)
    recent_visits: list[Visit]
    stale: list[StaleEnterprise]
    enterprise_count: int


def open_tasks(user: User) -> sa.Select[tuple[Task]]:
    """A user's open tasks, with the enterprise each links to (shown beside it)."""
    return (
        sa.select(Task)
        .where(Task.assignee_id == user.id, Task.done_at.is_(None), Task.deleted_at.is_(None))
        .options(selectinload(Task.enterprise))
    )


def last_visits() -> sa.Subquery:
    """Each enterprise's latest (not deleted) visit date."""
    return (
        sa.select(Visit.enterprise_id, sa.func.max(Visit.visited_on).label("last_visit"))
        .where(Visit.deleted_at.is_(None))
        .group_by(Visit.enterprise_id)
        .subquery()
    )


def officer_overview(user: User, today: date, stale_days: int, limit: int = 10) -> Overview:
    """The home page of an officer: overdue tasks, today's, those due in the next days,
    recent visits, neglected firms."""
    overdue = db.session.scalars(
        open_tasks(user).where(Task.due_on < today).order_by(Task.due_on).limit(limit)
    ).all()
    due_today = db.session.scalars(
        open_tasks(user).where(Task.due_on == today).order_by(Task.id).limit(limit)
    ).all()
    ahead = db.session.scalars(
        open_tasks(user)
        .where(Task.due_on > today, Task.due_on <= today + timedelta(days=AHEAD_DAYS))
        .order_by(Task.due_on, Task.id)
        .limit(limit)
    ).all()
    recent = db.session.scalars(
        sa.select(Visit)
        .where(Visit.officer_id == user.id, Visit.deleted_at.is_(None))
        .options(selectinload(Visit.enterprise))
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
        .limit(5)
    ).all()
    last = last_visits()
    mine = sa.and_(Enterprise.owner_id == user.id, Enterprise.deleted_at.is_(None))
    cutoff = today - timedelta(days=stale_days)
    stale_rows = db.session.execute(
        sa.select(Enterprise, last.c.last_visit)
        .outerjoin(last, last.c.enterprise_id == Enterprise.id)
        .where(
            mine,
            sa.or_(
                # never visited: neglected once it has been on the books that long, not the
                # day it is registered
                sa.and_(last.c.last_visit.is_(None), Enterprise.created_at < start_of(cutoff)),
                last.c.last_visit < cutoff,
            ),
        )
        .order_by(last.c.last_visit.is_not(None), last.c.last_visit, Enterprise.name_sort)
        .limit(limit)
    ).all()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise).where(mine))
    return Overview(
        overdue=list(overdue),
        due_today=list(due_today),
        ahead=list(ahead),
        recent_visits=list(recent),
        stale=[StaleEnterprise(e, d) for e, d in stale_rows],
        enterprise_count=count or 0,
    )


@dataclass
class NeedEntry:
    title: str
    description: str | None = None


@dataclass
class VisitData:
    visited_on: date
    notes: str | None = None
    companion_ids: list[int] = field(default_factory=list)
    needs: list[NeedEntry] = field(default_factory=list)
    next_step: str | None = None
    next_due: date | None = None


def default_due(today: date) -> date:
    """The due date of a visit's next step logged today without one."""
    return today + timedelta(days=TASK_DAYS)


def check_visited_on(visited_on: date, today: date) -> None:
    """A visit has happened: its date is not after today."""
    if visited_on > today:
        raise ValidationError("走访日期不能晚于今天。", field="visited_on")


def check_need_entry(entry: NeedEntry) -> None:
    """A need found on a visit has a title if it has a description."""
    if (entry.description or "").strip() and not entry.title.strip():
        raise ValidationError("填写了需求描述，请同时填写需求名称。", field="needs")


RESENT_WITHIN = timedelta(minutes=30)


def just_logged(officer: User, enterprise: Enterprise, data: VisitData) -> Visit | None:
    """The same visit this officer logged in the last half hour, if this one repeats it: the
    form sent again after the back button (a fresh form, so its one-time key is new) would
    otherwise log the visit, its needs and its task twice."""
    earlier = db.session.scalars(
        sa.select(Visit)
        .where(
            Visit.officer_id == officer.id,
            Visit.enterprise_id == enterprise.id,
            Visit.visited_on == data.visited_on,
            Visit.created_at >= utcnow() - RESENT_WITHIN,
            Visit.deleted_at.is_(None),
        )
        .options(selectinload(Visit.needs))
    )
    titles = [n.title.strip() for n in data.needs if n.title.strip()]
    for visit in earlier:
        if (
            (visit.notes or "") == (data.notes or "").strip()
            and (visit.next_steps or "") == (data.next_step or "").strip()
            and sorted(n.title for n in visit.needs) == sorted(titles)
        ):
            return visit
    return None


def log_visit(officer: User, enterprise: Enterprise, data: VisitData, today: date) -> Visit:
    """Record a visit with the needs found there and the next step as a task."""
    policy.authorize(policy.can_write(officer), "只有联络员可以记录走访。")
    check_visited_on(data.visited_on, today)
    for need in data.needs:
        check_need_entry(need)
    companions = (
        list(
            db.session.scalars(
                sa.select(User).where(
                    User.id.in_(data.companion_ids), User.id != officer.id, User.active
                )
            )
        )
        if data.companion_ids
        else []
    )
    visit = Visit(
        enterprise=enterprise,
        officer=officer,
        visited_on=data.visited_on,
        notes=(data.notes or "").strip() or None,
        next_steps=(data.next_step or "").strip() or None,
        companions=companions,
    )
    db.session.add(visit)
    for entry in data.needs:  # each by the needs' own rule (only for firms the officer keeps)
        if entry.title.strip():
            needs.create_need(
                officer, enterprise, needs.NeedData(entry.title, entry.description), visit=visit
            )
    if visit.next_steps:
        db.session.add(
            Task(
                title=visit.next_steps,
                assignee=officer,
                due_on=data.next_due or default_due(today),
                enterprise=enterprise,
                visit=visit,
            )
        )
    db.session.flush()
    logger.info("Visit %r to %r logged by %s", visit, enterprise, officer.username)
    return visit


def follow_up(visit: Visit) -> Task | None:
    """The task a visit's next step became, if it had one."""
    return db.session.scalar(
        sa.select(Task).where(Task.visit_id == visit.id, Task.deleted_at.is_(None)).limit(1)
    )


def get_task(task_id: int) -> Task:
    return get_live(Task, task_id, message="待办不存在或已被删除。")


def complete_task(user: User, task: Task, done: bool = True) -> Task:
    """Mark a task done (or open again)."""
    policy.authorize(policy.can_edit_task(user, task), "只能处理分配给自己的待办。")
    task.done_at = utcnow() if done else None
    db.session.flush()
    logger.info("Task %r %s by %s", task, "done" if done else "reopened", user.username)
    return task


def reassign_task(user: User, task: Task, assignee_id: int) -> Task:
    """Admins hand a task to another officer."""
    policy.authorize(policy.is_admin(user), "只有管理员可以改派待办。")
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.active or not policy.can_write(assignee):
        raise ValidationError("只能改派给启用的联络员。", field="assignee_id")
    task.assignee = assignee
    db.session.flush()
    logger.info("Task %r reassigned to %s by %s", task, assignee.username, user.username)
    return task


def task_list(user: User, assignee_id: int | None, include_done: bool) -> sa.Select[tuple[Task]]:
    """Tasks of one officer (admins may pick anyone), open first by due date."""
    who = assignee_id if (assignee_id and policy.is_admin(user)) else user.id
    stmt = (
        sa.select(Task)
        .where(Task.assignee_id == who, Task.deleted_at.is_(None))
        .options(selectinload(Task.enterprise), selectinload(Task.assignee))
    )
    if not include_done:
        stmt = stmt.where(Task.done_at.is_(None))
    return stmt.order_by(Task.done_at.is_not(None), Task.due_on.is_(None), Task.due_on, Task.id)


def get_visit(visit_id: int) -> Visit:
    return get_live(Visit, visit_id, message="走访记录不存在或已被删除。")


def update_visit(
    user: User, visit: Visit, visited_on: date, notes: str | None, today: date, version: int
) -> Visit:
    """Correct a visit's date or notes (the officer who logged it, or an admin)."""
    policy.authorize(policy.can_edit_visit(user, visit), "只能修改自己记录的走访。")
    if visit.version != version:
        raise Conflict()
    check_visited_on(visited_on, today)
    visit.visited_on = visited_on
    visit.notes = (notes or "").strip() or None
    db.session.flush()
    logger.info("Visit %r corrected by %s", visit, user.username)
    return visit
