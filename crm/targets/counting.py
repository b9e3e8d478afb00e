"""The building blocks of the target rules: the record behind an actual (`Item`), a metric's
`Rule`, and the rule made from one statement counting distinct records (`counting_rule`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm.enterprises.models import Enterprise
from crm.extensions import db


@dataclass(frozen=True)
class Item:
    """One record behind an actual, as the drill-down lists it."""

    kind: str  # a kind of crm.links: enterprise / cooperation / event / project / branch
    id: int
    title: str
    detail: str
    on: date | None
    institution_id: int | None = None  # a branch: the institution whose page shows it


Count = Callable[[int, int | None], Decimal]
List = Callable[[int, int | None], list[Item]]


@dataclass(frozen=True)
class Rule:
    source: str | None  # what counts, in the words of the targets page
    actual: Count | None = None  # one aggregate query
    items: List | None = None  # the records behind it (the drill-down)
    # every department's actual in one grouped query: {department id: actual}
    by_department: Callable[[int], dict[int, Decimal]] | None = None
    # the overall actual and every department's from one query grouped by department, for
    # rules whose records each belong to one enterprise (so the departments add up to it)
    totals: Callable[[int], tuple[Decimal, dict[int, Decimal]]] | None = None


def year_span(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def in_department(stmt: Any, enterprise_id: Any, department_id: int | None) -> Any:
    if department_id is None:
        return stmt
    return stmt.where(
        enterprise_id.in_(sa.select(Enterprise.id).where(Enterprise.department_id == department_id))
    )


def counting_rule(
    source: str,
    counted: Callable[..., Any],
    what: Any,
    shows: tuple[Any, ...],
    row: Callable[[Any], Item],
    order: tuple[Any, ...] = (),
) -> Rule:
    """A rule whose records come from `counted(year, department, *columns)`: its actual is
    the number of distinct `what`; its drill-down, one `row` (made from the `shows`
    columns) per distinct `what`."""

    def actual(year: int, department_id: int | None) -> Decimal:
        stmt = counted(year, department_id, sa.func.count(sa.distinct(what)))
        return Decimal(db.session.scalar(stmt) or 0)

    def totals(year: int) -> tuple[Decimal, dict[int, Decimal]]:
        stmt = counted(year, None, Enterprise.department_id, sa.func.count(sa.distinct(what)))
        rows = db.session.execute(stmt.group_by(Enterprise.department_id)).all()
        return Decimal(sum(n for _, n in rows)), {d: Decimal(n) for d, n in rows if d is not None}

    def by_department(year: int) -> dict[int, Decimal]:
        return totals(year)[1]

    def items(year: int, department_id: int | None) -> list[Item]:
        out, seen = [], set()
        stmt = counted(year, department_id, what.label("key"), *shows).order_by(*order)
        for record in db.session.execute(stmt):
            if record.key not in seen:  # a firm gained the same flag twice: once
                seen.add(record.key)
                out.append(row(record))
        return out

    return Rule(source, actual, items, by_department, totals)
