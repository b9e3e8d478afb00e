"""The enterprise list: its filters and sorts, the last visit of each firm on a page, and the
towns and industries the filters and the enterprise form offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.enterprises.models import Enterprise, Industry, Recognition, RecognitionKind, Town
from crm.extensions import db
from crm.search.names import named
from crm.visits.models import Visit
from crm.visits.services import last_visits


@dataclass
class Filters:
    q: str = ""
    town_id: int | None = None
    industry_id: int | None = None
    flag: str = ""  # "above_scale" or a RecognitionKind value
    owner_id: int | None = None
    department_id: int | None = None
    not_visited_days: int | None = None
    sort: str = "name"  # name / last_visit / recent


SORTS = {"name": "名称", "last_visit": "最久未走访", "recent": "最近新增"}


def list_query(filters: Filters, today: date) -> sa.Select[Any]:
    """Enterprises (not deleted), filtered and sorted; pair with `last_visit_dates`."""
    last = last_visits()
    stmt = (
        sa.select(Enterprise)
        .outerjoin(last, last.c.enterprise_id == Enterprise.id)
        .where(Enterprise.deleted_at.is_(None))
        .options(
            selectinload(Enterprise.town),
            selectinload(Enterprise.industries),
            selectinload(Enterprise.owner),
        )
    )
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Enterprise.name.ilike(pattern),
                Enterprise.uscc.ilike(pattern),
                Enterprise.id.in_(named("enterprise", filters.q)),  # jcld, 锦程领带, lingdai
            )
        )
    if filters.town_id:
        stmt = stmt.where(Enterprise.town_id == filters.town_id)
    if filters.industry_id:
        stmt = stmt.where(Enterprise.industries.any(Industry.id == filters.industry_id))
    if filters.flag == "above_scale":
        stmt = stmt.where(Enterprise.is_above_scale.is_(True))
    elif filters.flag in {k.value for k in RecognitionKind}:
        stmt = stmt.where(
            Enterprise.recognitions.any(
                sa.and_(
                    Recognition.kind == RecognitionKind(filters.flag),
                    sa.or_(Recognition.expires_on.is_(None), Recognition.expires_on >= today),
                )
            )
        )
    if filters.owner_id:
        stmt = stmt.where(Enterprise.owner_id == filters.owner_id)
    if filters.department_id:
        stmt = stmt.where(Enterprise.department_id == filters.department_id)
    if filters.not_visited_days:
        cutoff = today - timedelta(days=filters.not_visited_days)
        stmt = stmt.where(sa.or_(last.c.last_visit.is_(None), last.c.last_visit < cutoff))
    if filters.sort == "last_visit":
        stmt = stmt.order_by(
            last.c.last_visit.is_not(None), last.c.last_visit, Enterprise.name_sort
        )
    elif filters.sort == "recent":
        stmt = stmt.order_by(Enterprise.created_at.desc(), Enterprise.id.desc())
    else:
        stmt = stmt.order_by(Enterprise.name_sort, Enterprise.name, Enterprise.id)
    return stmt


def last_visit_dates(enterprise_ids: list[int]) -> dict[int, date]:
    """The latest visit date of each of these enterprises (one query for a page)."""
    if not enterprise_ids:
        return {}
    rows = db.session.execute(
        sa.select(Visit.enterprise_id, sa.func.max(Visit.visited_on))
        .where(Visit.enterprise_id.in_(enterprise_ids), Visit.deleted_at.is_(None))
        .group_by(Visit.enterprise_id)
    )
    return {enterprise_id: last for enterprise_id, last in rows}


def towns() -> list[Town]:
    return list(db.session.scalars(sa.select(Town).where(Town.active).order_by(Town.code)))


def industries() -> list[Industry]:
    return list(db.session.scalars(sa.select(Industry).order_by(Industry.sort_order)))
