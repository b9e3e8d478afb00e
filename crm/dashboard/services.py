"""What leadership reviews: progress toward the targets, the funnel from need to accepted
work, visits per officer, where cooperation happens, and the deals that have stalled.

Every figure is an aggregate query over the records of one year; nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from crm.auth.models import Department, User
from crm.cooperation import board, stages
from crm.cooperation.models import Cooperation, Stage, StageChange
from crm.enterprises.models import Industry, enterprise_industry
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need
from crm.targets import services as targets
from crm.targets.metrics import METRICS
from crm.visits.models import Visit


def _span(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _moments(year: int) -> tuple[datetime, datetime]:
    """The year as instants, for timestamps: it starts and ends at local midnight."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


@dataclass
class Step:
    label: str
    count: int
    rate: float | None  # of the step before


def funnel(year: int) -> list[Step]:
    """Needs registered that year → with suggestions → one accepted → its cooperation
    signed → accepted (验收)."""
    start, end = _moments(year)
    needs = (
        sa.select(Need.id)
        .where(Need.deleted_at.is_(None), Need.created_at >= start, Need.created_at < end)
        .cte("year_needs")
    )
    # one row per need with suggestions, whether one was accepted
    suggested = (
        sa.select(
            Suggestion.need_id,
            sa.func.max(
                sa.case((Suggestion.status == SuggestionStatus.ACCEPTED, 1), else_=0)
            ).label("accepted"),
        )
        .join(needs, needs.c.id == Suggestion.need_id)
        .group_by(Suggestion.need_id)
        .cte("suggested")
    )
    # the stages the leads from those suggestions reached
    moved = (
        sa.select(Suggestion.need_id, StageChange.to_stage)
        .join(needs, needs.c.id == Suggestion.need_id)
        .join(Cooperation, Cooperation.suggestion_id == Suggestion.id)
        .join(StageChange, StageChange.cooperation_id == Cooperation.id)
        .where(
            Cooperation.deleted_at.is_(None),
            StageChange.to_stage.in_([Stage.SIGNED, Stage.ACCEPTANCE]),
        )
        .cte("moved")
    )

    def reached(stage: Stage) -> Any:
        return (
            sa.select(sa.func.count(sa.distinct(moved.c.need_id)))
            .where(moved.c.to_stage == stage)
            .scalar_subquery()
        )

    counts = db.session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(needs).scalar_subquery(),
            sa.select(sa.func.count()).select_from(suggested).scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(suggested)
            .where(suggested.c.accepted == 1)
            .scalar_subquery(),
            reached(Stage.SIGNED),
            reached(Stage.ACCEPTANCE),
        )
    ).one()
    labels = ("登记需求", "有匹配推荐", "采纳推荐", "签约", "验收")
    steps, previous = [], None
    for label, count in zip(labels, counts, strict=True):
        rate = count / previous if previous else None
        steps.append(Step(label, int(count), rate))
        previous = count
    return steps


def visits_by_officer(year: int) -> dict[str, list[int]]:
    """Each officer's visits in each month of the year (officers who visited at all)."""
    start, end = _span(year)
    month = sa.func.extract("month", Visit.visited_on)
    rows = db.session.execute(
        sa.select(Visit.officer_id, month, sa.func.count())
        .where(Visit.deleted_at.is_(None), Visit.visited_on >= start, Visit.visited_on < end)
        .group_by(Visit.officer_id, month)
    ).all()
    names = dict(
        db.session.execute(
            sa.select(User.id, User.display_name).where(User.id.in_({r[0] for r in rows}))
        ).all()
    )
    out: dict[str, list[int]] = {}
    for officer_id, m, count in rows:
        out.setdefault(names[officer_id], [0] * 12)[int(m) - 1] += int(count)
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1])))


def _active(year: int) -> Any:
    """Cooperation records that moved that year and were not terminated."""
    start, end = _span(year)
    return sa.and_(
        Cooperation.deleted_at.is_(None),
        Cooperation.stage != Stage.TERMINATED,
        Cooperation.stage_changed_on >= start,
        Cooperation.stage_changed_on < end,
    )


def cooperation_by_industry(year: int) -> list[tuple[str, int]]:
    rows = db.session.execute(
        sa.select(Industry.name, sa.func.count(sa.distinct(Cooperation.id)))
        .join(enterprise_industry, enterprise_industry.c.industry_id == Industry.id)
        .join(Cooperation, Cooperation.enterprise_id == enterprise_industry.c.enterprise_id)
        .where(_active(year))
        .group_by(Industry.name)
        .order_by(sa.func.count(sa.distinct(Cooperation.id)).desc())
    )
    return [(name, int(n)) for name, n in rows]


def cooperation_by_institution(year: int, limit: int = 10) -> list[tuple[str, int]]:
    """By the institution worked with (directly, or through its researcher)."""
    institution_id = sa.func.coalesce(Cooperation.institution_id, Researcher.institution_id)
    rows = db.session.execute(
        sa.select(Institution.name, sa.func.count(Cooperation.id))
        .select_from(Cooperation)
        .outerjoin(Researcher, Cooperation.researcher_id == Researcher.id)
        .join(Institution, Institution.id == institution_id)
        .where(_active(year))
        .group_by(Institution.name)
        .order_by(sa.func.count(Cooperation.id).desc())
        .limit(limit)
    )
    return [(name, int(n)) for name, n in rows]


def stalled(user: Any, limit: int = 10) -> list[board.Card]:
    """Open deals without activity for the stale period, quietest first."""
    columns = board.cards(user, board.stale_records(limit))
    cards = [c for stage in stages.OPEN for c in columns[stage]]
    return sorted(cards, key=lambda c: c.last_activity)


@dataclass
class DepartmentProgress:
    department: Department
    cells: dict[str, int | None]  # metric code → percent of its share


def by_department(year: int, known: targets.Actuals | None = None) -> list[DepartmentProgress]:
    """Each department's progress on the targets split to it."""
    progress = targets.department_progress(year, known)
    departments = db.session.scalars(
        sa.select(Department)
        .where(Department.active.is_(True), Department.id.in_(list(progress)))
        .order_by(Department.name)
    ).all()
    return [
        DepartmentProgress(d, {p.metric.code: p.percent for p in progress[d.id]})
        for d in departments
    ]


def split_metrics(progress: list[DepartmentProgress]) -> list[Any]:
    """The metrics some department has a share of, in the plan's order."""
    codes = {code for p in progress for code in p.cells}
    return [m for m in METRICS if m.code in codes]


@dataclass
class Headline:
    needs: int  # registered that year
    visits: int
    signed: int  # cooperation moved to 签约 that year
    accepted: int  # moved to 验收 that year


def headline(year: int) -> Headline:
    start, end = _span(year)
    since, until = _moments(year)

    def moved_to(stage: Stage) -> Any:
        return (
            sa.select(sa.func.count(sa.distinct(StageChange.cooperation_id)))
            .join(Cooperation, Cooperation.id == StageChange.cooperation_id)
            .where(
                Cooperation.deleted_at.is_(None),
                StageChange.to_stage == stage,
                StageChange.changed_on >= start,
                StageChange.changed_on < end,
            )
            .scalar_subquery()
        )

    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count(Need.id))
            .where(Need.deleted_at.is_(None), Need.created_at >= since, Need.created_at < until)
            .scalar_subquery(),
            sa.select(sa.func.count(Visit.id))
            .where(Visit.deleted_at.is_(None), Visit.visited_on >= start, Visit.visited_on < end)
            .scalar_subquery(),
            moved_to(Stage.SIGNED),
            moved_to(Stage.ACCEPTANCE),
        )
    ).one()
    return Headline(*(int(v) for v in row))
