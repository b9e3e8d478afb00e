"""Visits and tasks: what an officer has to do and has done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.visits.models import Task, Visit


@dataclass
class StaleEnterprise:
    enterprise: Enterprise
    last_visit: date | None


@dataclass
class Overview:
    overdue: list[Task]
    due_today: list[Task]
    recent_visits: list[Visit]
    stale: list[StaleEnterprise]
    enterprise_count: int


def open_tasks(user: User) -> sa.Select[tuple[Task]]:
    return sa.select(Task).where(
        Task.assignee_id == user.id, Task.done_at.is_(None), Task.deleted_at.is_(None)
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
    """The home page of an officer: overdue and today's tasks, recent visits, neglected firms."""
    overdue = db.session.scalars(
        open_tasks(user).where(Task.due_on < today).order_by(Task.due_on).limit(limit)
    ).all()
    due_today = db.session.scalars(
        open_tasks(user).where(Task.due_on == today).order_by(Task.id).limit(limit)
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
        .where(mine, sa.or_(last.c.last_visit.is_(None), last.c.last_visit < cutoff))
        .order_by(last.c.last_visit.is_not(None), last.c.last_visit, Enterprise.name)
        .limit(limit)
    ).all()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise).where(mine))
    return Overview(
        overdue=list(overdue),
        due_today=list(due_today),
        recent_visits=list(recent),
        stale=[StaleEnterprise(e, d) for e, d in stale_rows],
        enterprise_count=count or 0,
    )
