"""The cultivation pool as officers read it: the board's columns (one per stage) for a year,
its filters, each card's firm, officer and last step; and a firm's own pool entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.cultivation.models import Candidate, CoachingStep, PoolStage, StepKind
from crm.cultivation.services import BOARD
from crm.enterprises.models import Enterprise, RecognitionKind
from crm.extensions import db

PER_COLUMN = 50  # cards a column shows; the filters narrow the rest down


@dataclass
class Filters:
    year: int
    kind: RecognitionKind | None = None
    officer_id: int | None = None
    department_id: int | None = None


@dataclass
class Card:
    candidate: Candidate
    last_on: date | None  # the last step's date (the day it was pooled, before any)
    last_kind: StepKind | None


def selected(filters: Filters, *columns: Any) -> Any:
    """The live entries of live firms the filters ask for (or `columns` of them)."""
    stmt = (
        sa.select(*(columns or (Candidate,)))
        .select_from(Candidate)
        .join(Enterprise, Candidate.enterprise_id == Enterprise.id)
        .where(
            Candidate.deleted_at.is_(None),
            Enterprise.deleted_at.is_(None),
            Candidate.year == filters.year,
        )
    )
    if filters.kind is not None:
        stmt = stmt.where(Candidate.kind == filters.kind)
    if filters.officer_id:
        stmt = stmt.where(Candidate.officer_id == filters.officer_id)
    if filters.department_id:
        stmt = stmt.where(Enterprise.department_id == filters.department_id)
    return stmt


def board(
    filters: Filters, per_column: int = PER_COLUMN
) -> tuple[dict[PoolStage, list[Card]], dict[PoolStage, int]]:
    """Each stage's first `per_column` cards (by firm name), and each stage's count."""
    counts = {
        PoolStage(stage): int(n)
        for stage, n in db.session.execute(
            selected(filters, Candidate.stage, sa.func.count()).group_by(Candidate.stage)
        )
    }
    by_name = (Enterprise.name_sort, Candidate.id)
    place = sa.func.row_number().over(partition_by=Candidate.stage, order_by=by_name)
    ranked = selected(filters, Candidate.id, place.label("place")).subquery()
    top = sa.select(ranked.c.id).where(ranked.c.place <= per_column)
    records = db.session.scalars(
        selected(filters)
        .where(Candidate.id.in_(top))
        .options(selectinload(Candidate.enterprise), selectinload(Candidate.officer))
        .order_by(*by_name)
    )
    return cards(list(records)), counts


def cards(records: list[Candidate]) -> dict[PoolStage, list[Card]]:
    last = last_steps([c.id for c in records])
    columns: dict[PoolStage, list[Card]] = {stage: [] for stage in BOARD}
    for candidate in records:
        on, kind = last.get(candidate.id, (candidate.stage_changed_on, None))
        columns[candidate.stage].append(Card(candidate, on, kind))
    return columns


def last_steps(candidate_ids: list[int]) -> dict[int, tuple[date, StepKind]]:
    """Each candidate's latest step: (its date, its kind), in one query."""
    if not candidate_ids:
        return {}
    place = sa.func.row_number().over(
        partition_by=CoachingStep.candidate_id,
        order_by=(CoachingStep.done_on.desc(), CoachingStep.id.desc()),
    )
    ranked = (
        sa.select(
            CoachingStep.candidate_id, CoachingStep.done_on, CoachingStep.kind, place.label("n")
        )
        .where(CoachingStep.candidate_id.in_(candidate_ids))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked.c.candidate_id, ranked.c.done_on, ranked.c.kind).where(ranked.c.n == 1)
    )
    return {cid: (on, StepKind(kind)) for cid, on, kind in rows}


def entries_of(enterprise_id: int) -> list[Candidate]:
    """A firm's live pool entries, the latest year first."""
    return list(
        db.session.scalars(
            sa.select(Candidate)
            .where(Candidate.enterprise_id == enterprise_id, Candidate.deleted_at.is_(None))
            .options(selectinload(Candidate.officer))
            .order_by(Candidate.year.desc(), Candidate.kind)
        )
    )


def pooled(enterprise_ids: list[int], kind: RecognitionKind, year: int) -> set[int]:
    """Which of these firms have an entry (deleted ones too) for (kind, year)."""
    if not enterprise_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Candidate.enterprise_id).where(
                Candidate.enterprise_id.in_(enterprise_ids),
                Candidate.kind == kind,
                Candidate.year == year,
            )
        )
    )


def years(this_year: int) -> list[int]:
    """The years the board offers: those with entries, this year and the next, latest first."""
    found = set(db.session.scalars(sa.select(Candidate.year).distinct()))
    return sorted(found | {this_year, this_year + 1}, reverse=True)
