"""The pipeline as officers and leadership read it: the board's columns, its filters, each
card's facts, and the cooperation that has stood still too long."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.clock import as_local, local_today, start_of
from crm.cooperation.models import Cooperation, Stage
from crm.cooperation.stages import BOARD, OPEN, next_stages
from crm.enterprises.models import Enterprise, enterprise_industry
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.visits.models import Visit
from crm.visits.services import last_visits


@dataclass
class Filters:
    officer_id: int | None = None
    department_id: int | None = None
    industry_id: int | None = None
    institution_id: int | None = None
    year: int | None = None  # of the last move (or of creation)
    terminated: bool = False  # show 终止 too

    def query_args(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}


@dataclass
class Card:
    coop: Cooperation
    last_activity: date
    stale: bool
    partner: str
    moves: list[Stage] = field(default_factory=list)


def card_loads() -> tuple[Any, ...]:
    """What a card, a list row or a report line shows of a cooperation, loaded with it."""
    return (
        selectinload(Cooperation.enterprise),
        selectinload(Cooperation.institution),
        selectinload(Cooperation.researcher).selectinload(Researcher.institution),
        selectinload(Cooperation.officer),
    )


PER_COLUMN = 20  # cards a board column shows (a phone screen or two); the rest: the list view


def pipeline(filters: Filters) -> list[Cooperation]:
    """The live cooperation records the filters select, with what a card shows loaded."""
    return list(db.session.scalars(selected(filters)))


def board(
    filters: Filters, per_column: int = PER_COLUMN
) -> tuple[list[Cooperation], dict[Stage, int]]:
    """The most recently moved `per_column` records of each stage, and each stage's count."""
    stmt = selected(filters)
    base = stmt.order_by(None).subquery()
    counts = {
        Stage(stage): int(n)
        for stage, n in db.session.execute(
            sa.select(base.c.stage, sa.func.count()).group_by(base.c.stage)
        )
    }
    # each column's first `per_column` in the board's order, all columns in one query (and one
    # load of what the cards show, rather than one per column)
    place = sa.func.row_number().over(
        partition_by=base.c.stage,
        order_by=(base.c.stage_changed_on.desc().nulls_last(), base.c.id.desc()),
    )
    ranked = sa.select(base.c.id, place.label("place")).subquery()
    top = sa.select(ranked.c.id).where(ranked.c.place <= per_column)
    records = list(
        db.session.scalars(stmt.where(Cooperation.id.in_(top), Cooperation.stage.in_(BOARD)))
    )
    return records, counts


def selected(filters: Filters) -> Any:
    """The statement selecting what the filters ask for, newest move first."""
    stmt = (
        sa.select(Cooperation)
        .join(Enterprise, Cooperation.enterprise_id == Enterprise.id)
        .where(Cooperation.deleted_at.is_(None))
        .options(*card_loads())
        .order_by(Cooperation.stage_changed_on.desc().nulls_last(), Cooperation.id.desc())
    )
    if not filters.terminated:
        stmt = stmt.where(Cooperation.stage != Stage.TERMINATED)
    if filters.officer_id:
        stmt = stmt.where(Cooperation.officer_id == filters.officer_id)
    if filters.department_id:
        stmt = stmt.where(Enterprise.department_id == filters.department_id)
    if filters.industry_id:
        stmt = stmt.where(
            Cooperation.enterprise_id.in_(
                sa.select(enterprise_industry.c.enterprise_id).where(
                    enterprise_industry.c.industry_id == filters.industry_id
                )
            )
        )
    if filters.institution_id:
        stmt = stmt.where(
            sa.or_(
                Cooperation.institution_id == filters.institution_id,
                Cooperation.researcher_id.in_(
                    sa.select(Researcher.id).where(
                        Researcher.institution_id == filters.institution_id
                    )
                ),
            )
        )
    if filters.year:
        start, end = date(filters.year, 1, 1), date(filters.year + 1, 1, 1)
        stmt = stmt.where(
            sa.or_(
                sa.and_(Cooperation.stage_changed_on >= start, Cooperation.stage_changed_on < end),
                sa.and_(Cooperation.stage_changed_on.is_(None), Cooperation.stage.in_(OPEN)),
            )
        )
    return stmt


def cards(user: User | Any, records: list[Cooperation]) -> dict[Stage, list[Card]]:
    """The board: each stage's cards, stale ones flagged, with the moves this user may make.
    A deal's last activity is its last stage move or the last visit to its enterprise
    (whichever is later); open deals quiet for `PIPELINE_STALE_DAYS` are stale."""
    days = int(current_app.config["PIPELINE_STALE_DAYS"])
    today = local_today()
    visits = last_visits()
    visited = dict(
        db.session.execute(
            sa.select(visits.c.enterprise_id, visits.c.last_visit).where(
                visits.c.enterprise_id.in_({c.enterprise_id for c in records})
            )
        ).all()
    )
    board: dict[Stage, list[Card]] = {stage: [] for stage in BOARD}
    for coop in records:
        started = coop.stage_changed_on or _local_date(coop.created_at)
        last = max(started, visited.get(coop.enterprise_id) or started)
        partner = (coop.researcher.name if coop.researcher else "") or (
            coop.institution.name if coop.institution else ""
        )
        if coop.researcher and coop.researcher.institution:
            partner += f" · {coop.researcher.institution.name}"
        board[coop.stage].append(
            Card(
                coop,
                last,
                coop.stage in OPEN and (today - last) > timedelta(days=days),
                partner,
                next_stages(coop.stage) if policy.can_edit_cooperation(user, coop) else [],
            )
        )
    return board


def stale_records(limit: int = 10) -> list[Cooperation]:
    """Open deals with neither a stage move nor a visit to their enterprise for the stale
    period, quietest first — found in SQL (the dashboard cannot afford the whole board)."""
    days = int(current_app.config["PIPELINE_STALE_DAYS"])
    cutoff = local_today() - timedelta(days=days)
    cutoff_moment = start_of(cutoff)
    visited = sa.exists().where(  # on the visit (enterprise, date) index, no aggregate
        Visit.enterprise_id == Cooperation.enterprise_id,
        Visit.visited_on >= cutoff,
        Visit.deleted_at.is_(None),
    )
    ids = (
        sa.select(Cooperation.id)
        .where(
            Cooperation.deleted_at.is_(None),
            Cooperation.stage.in_(OPEN),
            sa.or_(
                Cooperation.stage_changed_on < cutoff,
                sa.and_(
                    Cooperation.stage_changed_on.is_(None), Cooperation.created_at < cutoff_moment
                ),
            ),
            ~visited,
        )
        .order_by(Cooperation.stage_changed_on, Cooperation.id)
        .limit(limit)
    )
    return list(
        db.session.scalars(
            sa.select(Cooperation).where(Cooperation.id.in_(ids)).options(*card_loads())
        )
    )


def _local_date(moment: Any) -> date:
    return as_local(moment).date()
