"""Annual targets against actuals computed from the records — never typed in.

Each metric of the plan has a rule saying which records count and how (`RULES`): the flags
enterprises gained that year (`Recognition.granted_on`), cooperation records by type that
reached 签约 that year (and were not terminated), per-year enterprise figures of 规上 firms,
events, and the registers of projects approved, institutions' branches set up and firms
founded on achievements (`registers`). A department's actual counts the records of its
enterprises. Every actual can be opened to the records behind it (`records_behind`). A metric
no record kind stands for says so (`source` is None) instead of showing a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from crm.auth.models import Department
from crm.extensions import db
from crm.targets.counting import Item
from crm.targets.metrics import BY_CODE, METRICS, Metric
from crm.targets.models import Target, TargetShare
from crm.targets.rules import RULES


@dataclass
class Progress:
    metric: Metric
    source: str | None
    target: Decimal | None
    actual: Decimal | None

    @property
    def percent(self) -> int | None:
        if self.target is None or self.actual is None or not self.target:
            return None
        # rounded, not truncated: 14 of 3 is 467%, not 466%
        return int((self.actual * 100 / self.target).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass
class Overview:
    year: int
    department: Department | None
    rows: list[Progress] = field(default_factory=list)


@dataclass(frozen=True)
class Actuals:
    overall: dict[str, Decimal | None]  # metric code → actual (None: no record kind counts it)
    by_department: dict[str, dict[int, Decimal] | None]  # metric code → {department id: actual}


def actuals(year: int) -> Actuals:
    """Every rule's actual, overall and per department — one grouped query per rule where the
    departments add up to the whole (what the dashboard shows both of)."""
    overall: dict[str, Decimal | None] = {}
    departments: dict[str, dict[int, Decimal] | None] = {}
    for code, rule in RULES.items():
        if rule.totals is not None:
            overall[code], departments[code] = rule.totals(year)
        else:
            overall[code] = rule.actual(year, None) if rule.actual else None
            departments[code] = rule.by_department(year) if rule.by_department else None
    return Actuals(overall, departments)


def overview(year: int, department_id: int | None = None, known: Actuals | None = None) -> Overview:
    """Every metric's target (the year's, or the department's share) against its actual
    (taken from `known` when given, for the whole bureau)."""
    targets = {
        t.metric: t for t in db.session.scalars(sa.select(Target).where(Target.year == year))
    }
    shares: dict[str, Decimal] = {}
    if department_id is not None:
        shares = {
            metric: value
            for metric, value in db.session.execute(
                sa.select(Target.metric, TargetShare.value)
                .join(Target, Target.id == TargetShare.target_id)
                .where(Target.year == year, TargetShare.department_id == department_id)
            )
        }
    out = Overview(year, db.session.get(Department, department_id) if department_id else None)
    for metric in METRICS:
        rule = RULES[metric.code]
        if department_id is None:
            target = targets[metric.code].value if metric.code in targets else None
        else:
            target = shares.get(metric.code)
        if known is not None and department_id is None:
            actual = known.overall[metric.code]
        else:
            actual = rule.actual(year, department_id) if rule.actual else None
        out.rows.append(Progress(metric, rule.source, target, actual))
    return out


def department_progress(year: int, known: Actuals | None = None) -> dict[int, list[Progress]]:
    """Every department's progress on its shares, each rule asked once for all departments
    (or taken from `known`)."""
    shares: dict[int, dict[str, Decimal]] = {}
    for department_id, metric_code, value in db.session.execute(
        sa.select(TargetShare.department_id, Target.metric, TargetShare.value)
        .join(Target, Target.id == TargetShare.target_id)
        .where(Target.year == year)
    ):
        shares.setdefault(department_id, {})[metric_code] = value
    if known is not None:
        actuals = known.by_department
    else:
        actuals = {
            code: rule.by_department(year) if rule.by_department else None
            for code, rule in RULES.items()
            if any(code in mine for mine in shares.values())
        }
    out: dict[int, list[Progress]] = {}
    for department_id, mine in shares.items():
        out[department_id] = [
            Progress(
                m,
                RULES[m.code].source,
                mine[m.code],
                None
                if actuals.get(m.code) is None
                else actuals[m.code].get(department_id, Decimal(0)),
            )
            for m in METRICS
            if m.code in mine
        ]
    return out


def records_behind(code: str, year: int, department_id: int | None = None) -> list[Item]:
    """The records an actual counts (the drill-down)."""
    rule = RULES[code]
    return rule.items(year, department_id) if rule.items else []


def metric(code: str) -> Metric:
    return BY_CODE[code]
