"""Annual targets against actuals computed from the records — never typed in.

Each metric of the plan has a rule saying which records count and how (`RULES`): the flags
enterprises gained that year (`Recognition.granted_on`), cooperation records by type that
reached 签约 that year (and were not terminated), per-year enterprise figures of 规上 firms,
and events. A department's actual counts the records of its enterprises. Every actual can be
opened to the records behind it (`records_behind`). A metric no record kind stands for yet
says so (`source` is None) instead of showing a made-up zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.auth.models import Department
from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.enterprises.models import (
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_industry,
)
from crm.errors import Conflict, ValidationError
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.money import format_wan
from crm.targets.metrics import BY_CODE, METRICS, Metric
from crm.targets.models import Target, TargetShare

MOTOR_INDUSTRY = "电机"  # 机电新产品: development work with the motor makers


@dataclass(frozen=True)
class Item:
    """One record behind an actual, as the drill-down lists it."""

    kind: str  # enterprise / cooperation / event
    id: int
    title: str
    detail: str
    on: date | None


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


def _years(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _in_department(stmt: Any, enterprise_id: Any, department_id: int | None) -> Any:
    if department_id is None:
        return stmt
    return stmt.where(
        enterprise_id.in_(sa.select(Enterprise.id).where(Enterprise.department_id == department_id))
    )


def _rule(
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


def _recognitions(kind: RecognitionKind) -> Rule:
    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        start, end = _years(year)
        stmt = (
            sa.select(*columns)
            .select_from(Recognition)
            .join(Enterprise, Recognition.enterprise_id == Enterprise.id)
            .where(
                Recognition.kind == kind,
                Recognition.granted_on >= start,
                Recognition.granted_on < end,
                Enterprise.deleted_at.is_(None),
            )
        )
        return _in_department(stmt, Recognition.enterprise_id, department_id)

    def row(r: Any) -> Item:
        detail = kind.label + (f"，证书 {r.certificate_no}" if r.certificate_no else "")
        return Item("enterprise", r.key, r.name, detail, r.granted_on)

    shows = (Enterprise.name, Recognition.granted_on, Recognition.certificate_no)
    source = f"当年取得“{kind.label}”认定的企业"
    order = (Recognition.granted_on, Enterprise.name)
    return _rule(source, counted, Recognition.enterprise_id, shows, row, order)


def _cooperation(source: str, where: Callable[[int], Any], on: Any, label: str) -> Rule:
    """Cooperation records matching `where(year)`, dated by `on`."""

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        stmt = (
            sa.select(*columns)
            .select_from(Cooperation)
            .join(Enterprise, Cooperation.enterprise_id == Enterprise.id)
            .where(Cooperation.deleted_at.is_(None), where(year))
        )
        return _in_department(stmt, Cooperation.enterprise_id, department_id)

    def row(r: Any) -> Item:
        return Item("cooperation", r.key, r.title, f"{r.name} · {r.type.label} · {label}", r.on)

    shows = (Cooperation.title, Cooperation.type, Enterprise.name, on.label("on"))
    return _rule(source, counted, Cooperation.id, shows, row, (on, Cooperation.id))


def _signed_in(year: int, *more: Any) -> Any:
    """Signed that year and not terminated."""
    start, end = _years(year)
    return sa.and_(
        Cooperation.stage != Stage.TERMINATED,
        Cooperation.signed_on >= start,
        Cooperation.signed_on < end,
        *more,
    )


def _motor_development_accepted(year: int) -> Any:
    """技术开发 with the motor makers, accepted (验收) that year: a new product developed."""
    start, end = _years(year)
    return sa.and_(
        Cooperation.type == CooperationType.DEVELOPMENT,
        Cooperation.stage == Stage.ACCEPTANCE,
        Cooperation.stage_changed_on >= start,
        Cooperation.stage_changed_on < end,
        Cooperation.enterprise_id.in_(
            sa.select(enterprise_industry.c.enterprise_id)
            .join(Industry, Industry.id == enterprise_industry.c.industry_id)
            .where(Industry.name.contains(MOTOR_INDUSTRY))
        ),
    )


def _ratio(source: str, numerator: str, denominator: str) -> Rule:
    """Σ numerator / Σ denominator × 100 over the year's figures of 规上 enterprises that
    reported both."""
    top, bottom = getattr(EnterpriseYear, numerator), getattr(EnterpriseYear, denominator)

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        stmt = (
            sa.select(*columns)
            .select_from(EnterpriseYear)
            .join(Enterprise, EnterpriseYear.enterprise_id == Enterprise.id)
            .where(
                EnterpriseYear.year == year,
                EnterpriseYear.above_scale.is_(True),
                top.is_not(None),
                bottom.is_not(None),
                Enterprise.deleted_at.is_(None),
            )
        )
        return _in_department(stmt, EnterpriseYear.enterprise_id, department_id)

    def percent(total_top: Any, total_bottom: Any) -> Decimal:
        if not total_bottom:
            return Decimal(0)
        return (Decimal(total_top) * 100 / Decimal(total_bottom)).quantize(Decimal("0.01"))

    def actual(year: int, department_id: int | None) -> Decimal:
        return percent(
            *db.session.execute(
                counted(year, department_id, sa.func.sum(top), sa.func.sum(bottom))
            ).one()
        )

    def totals(year: int) -> tuple[Decimal, dict[int, Decimal]]:
        stmt = counted(year, None, Enterprise.department_id, sa.func.sum(top), sa.func.sum(bottom))
        rows = db.session.execute(stmt.group_by(Enterprise.department_id)).all()
        overall = percent(sum(t or 0 for _, t, _ in rows), sum(b or 0 for _, _, b in rows))
        return overall, {d: percent(t, b) for d, t, b in rows if d is not None}

    def by_department(year: int) -> dict[int, Decimal]:
        return totals(year)[1]

    def items(year: int, department_id: int | None) -> list[Item]:
        stmt = counted(year, department_id, Enterprise.id, Enterprise.name, top, bottom)
        return [
            Item("enterprise", e, name, f"{_wan(t)} / {_wan(b)} 万元", None)
            for e, name, t, b in db.session.execute(stmt.order_by(Enterprise.name))
        ]

    return Rule(source, actual, items, by_department, totals)


def _wan(yuan: Decimal) -> str:
    return format_wan(yuan, 1)


def _events(source: str, kind: EventKind, booths: bool) -> Rule:
    """Events of a kind held that year — or, with `booths`, the enterprises taking part."""

    def held(year: int) -> Any:
        start, end = _years(year)
        return sa.and_(
            Event.kind == kind,
            Event.deleted_at.is_(None),
            Event.starts_on >= start,
            Event.starts_on < end,
        )

    if not booths:

        def counted(year: int, department_id: int | None, *columns: Any) -> Any:
            stmt = sa.select(*columns).select_from(Event).where(held(year))
            if department_id is not None:  # an event is the bureau's, not a department's firms'
                stmt = stmt.where(sa.false())
            return stmt

        def row(r: Any) -> Item:
            return Item("event", r.key, r.title, r.place or "", r.starts_on)

        shows = (Event.title, Event.place, Event.starts_on)
        rule = _rule(source, counted, Event.id, shows, row, (Event.starts_on,))
        return Rule(rule.source, rule.actual, rule.items, lambda _year: {})

    def counted_booths(year: int, department_id: int | None, *columns: Any) -> Any:
        stmt = (
            sa.select(*columns)
            .select_from(EventParticipant)
            .join(Event, EventParticipant.event_id == Event.id)
            .join(Enterprise, EventParticipant.enterprise_id == Enterprise.id)
            .where(held(year))
        )
        return _in_department(stmt, EventParticipant.enterprise_id, department_id)

    def booth(r: Any) -> Item:
        return Item("enterprise", r.enterprise_id, r.name, r.title, r.starts_on)

    shows = (Enterprise.id.label("enterprise_id"), Enterprise.name, Event.title, Event.starts_on)
    order = (Event.starts_on, Enterprise.name)
    return _rule(source, counted_booths, EventParticipant.id, shows, booth, order)


RULES: dict[str, Rule] = {
    "rnd_ratio": _ratio(
        "规上企业当年科技活动经费支出合计 ÷ 主营业务收入合计", "rnd_spend", "revenue"
    ),
    "hitech_share": _ratio(
        "规上企业当年高新技术产业产值合计 ÷ 工业总产值合计", "hitech_output", "industrial_output"
    ),
    "new_hitech_national": _recognitions(RecognitionKind.HITECH_NATIONAL),
    "new_tech_sme_provincial": _recognitions(RecognitionKind.TECH_SME_PROVINCIAL),
    "new_patent_demo_provincial": _recognitions(RecognitionKind.PATENT_DEMO_PROVINCIAL),
    "provincial_projects": Rule(None),
    "institution_branches": Rule(None),
    "new_rnd_center_provincial": _recognitions(RecognitionKind.RND_CENTER_PROVINCIAL),
    "new_rnd_center_shaoxing": _recognitions(RecognitionKind.RND_CENTER_SHAOXING),
    "joint_innovation_carriers": _cooperation(
        "当年签约、未终止的“共建研发机构”合作",
        lambda y: _signed_in(y, Cooperation.type == CooperationType.JOINT_RND_CENTRE),
        Cooperation.signed_on,
        "共建研发机构",
    ),
    "incubated_hitech": _recognitions(RecognitionKind.INCUBATED),
    "joint_rnd_products": _cooperation(
        "当年验收的电机行业企业“技术开发”合作（每项计一只新产品）",
        _motor_development_accepted,
        Cooperation.stage_changed_on,
        "已验收",
    ),
    "achievements_introduced": _cooperation(
        "当年签约、未终止、引进了科技成果（登记了成果，或为技术转让/许可）的合作",
        lambda y: _signed_in(
            y,
            sa.or_(
                Cooperation.achievement_id.is_not(None),
                Cooperation.type.in_([CooperationType.TRANSFER, CooperationType.LICENSE]),
            ),
        ),
        Cooperation.signed_on,
        "引进成果",
    ),
    "achievements_new_company": Rule(None),
    "motor_expo_booths": _events("当年展会的参展企业", EventKind.EXPO, booths=True),
    "design_contest_held": _events("当年举办的大赛", EventKind.CONTEST, booths=False),
}


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


# ---- setting targets (admins) -----------------------------------------------------------------

COUNTED_UNITS = {"家", "项", "个", "只", "届"}  # split across departments by summing


def fingerprint(year: int) -> str:
    """What the year's targets and shares look like now (their ids and versions): a form
    that was filled in against another state is refused instead of overwriting it."""
    rows = db.session.execute(
        sa.select(Target.id, Target.version, TargetShare.id, TargetShare.version)
        .outerjoin(TargetShare, TargetShare.target_id == Target.id)
        .where(Target.year == year)
        .order_by(Target.id, TargetShare.id)
    ).all()
    return ",".join(":".join(str(v) for v in row) for row in rows) or "none"


def save_year(
    user: Any,
    year: int,
    values: dict[str, Decimal | None],
    shares: dict[tuple[str, int], Decimal | None],
    seen: str,
) -> None:
    """Set a year's targets and their split across departments (admins). A blank value
    removes it. Shares of a counted target may not add up to more than the target."""
    policy.authorize(policy.is_admin(user), "只有管理员可以设定年度目标。")
    if seen != fingerprint(year):
        raise Conflict("本年度目标已被他人修改，请刷新后再填。")
    for code, value in values.items():
        if value is not None and value < 0:
            raise ValidationError(f"“{BY_CODE[code].label}”的目标不能为负数。", field=code)
        split = [v for (c, _), v in shares.items() if c == code and v is not None]
        if any(v < 0 for v in split):
            raise ValidationError(f"“{BY_CODE[code].label}”的分解数不能为负数。", field=code)
        if split and value is None:
            raise ValidationError(f"“{BY_CODE[code].label}”先要有总目标才能分解。", field=code)
        if BY_CODE[code].unit in COUNTED_UNITS and value is not None and sum(split) > value:
            label, total = BY_CODE[code].label, sum(split)
            raise ValidationError(
                f"“{label}”分解到各科室的合计 {total:g} 超过了总目标 {value:g}。", field=code
            )
    existing = {
        t.metric: t for t in db.session.scalars(sa.select(Target).where(Target.year == year))
    }
    for code, value in values.items():
        target = existing.get(code)
        if value is None:
            if target is not None:
                db.session.delete(target)
            continue
        if target is None:
            target = Target(year=year, metric=code, value=value)
            db.session.add(target)
        elif target.value != value:
            target.value = value
        have = {s.department_id: s for s in target.shares}
        for (c, department_id), share in shares.items():
            if c != code:
                continue
            if share is None:
                if department_id in have:
                    target.shares.remove(have[department_id])
            elif department_id in have:
                if have[department_id].value != share:
                    have[department_id].value = share
            else:
                target.shares.append(TargetShare(department_id=department_id, value=share))
    db.session.flush()
