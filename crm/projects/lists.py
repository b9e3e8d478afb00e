"""The projects as officers read them: the list's filters, the 申报截止 calendar (each
programme with the firms being prepared for it) and a project's achievements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.enterprises.models import Enterprise, enterprise_industry
from crm.extensions import db
from crm.institutions.models import Achievement
from crm.projects.models import Level, Programme, Project, ProjectStage


def achievements_of(project: Project) -> list[Achievement]:
    """The live achievements (科技成果) this project produced."""
    return list(
        db.session.scalars(
            sa.select(Achievement).where(
                Achievement.project_id == project.id, Achievement.deleted_at.is_(None)
            )
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
