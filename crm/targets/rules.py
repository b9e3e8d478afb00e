"""How each target's actual is counted from the records: one `Rule` per metric, with the
records behind the figure (the drill-down) and the department each one counts for."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.enterprises.models import (
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_industry,
)
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.money import format_wan
from crm.targets import registers
from crm.targets.counting import Item, Rule, counting_rule, in_department, year_span

MOTOR_INDUSTRY = "电机"  # 机电新产品: development work with the motor makers


def _recognitions(kind: RecognitionKind) -> Rule:
    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        start, end = year_span(year)
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
        return in_department(stmt, Recognition.enterprise_id, department_id)

    def row(r: Any) -> Item:
        detail = kind.label + (f"，证书 {r.certificate_no}" if r.certificate_no else "")
        return Item("enterprise", r.key, r.name, detail, r.granted_on)

    shows = (Enterprise.name, Recognition.granted_on, Recognition.certificate_no)
    source = f"当年取得“{kind.label}”认定的企业"
    order = (Recognition.granted_on, Enterprise.name)
    return counting_rule(source, counted, Recognition.enterprise_id, shows, row, order)


def _cooperation(source: str, where: Callable[[int], Any], on: Any, label: str) -> Rule:
    """Cooperation records matching `where(year)`, dated by `on`."""

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        stmt = (
            sa.select(*columns)
            .select_from(Cooperation)
            .join(Enterprise, Cooperation.enterprise_id == Enterprise.id)
            .where(Cooperation.deleted_at.is_(None), where(year))
        )
        return in_department(stmt, Cooperation.enterprise_id, department_id)

    def row(r: Any) -> Item:
        return Item("cooperation", r.key, r.title, f"{r.name} · {r.type.label} · {label}", r.on)

    shows = (Cooperation.title, Cooperation.type, Enterprise.name, on.label("on"))
    return counting_rule(source, counted, Cooperation.id, shows, row, (on, Cooperation.id))


def _signed_in(year: int, *more: Any) -> Any:
    """Signed that year and not terminated."""
    start, end = year_span(year)
    return sa.and_(
        Cooperation.stage != Stage.TERMINATED,
        Cooperation.signed_on >= start,
        Cooperation.signed_on < end,
        *more,
    )


def _motor_development_accepted(year: int) -> Any:
    """技术开发 with the motor makers, accepted (验收) that year: a new product developed."""
    start, end = year_span(year)
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
        return in_department(stmt, EnterpriseYear.enterprise_id, department_id)

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
            for e, name, t, b in db.session.execute(stmt.order_by(Enterprise.name_sort))
        ]

    return Rule(source, actual, items, by_department, totals)


def _wan(yuan: Decimal) -> str:
    return format_wan(yuan, 1)


def _events(source: str, kind: EventKind, booths: bool) -> Rule:
    """Events of a kind held that year — or, with `booths`, the enterprises taking part."""

    def held(year: int) -> Any:
        start, end = year_span(year)
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
        rule = counting_rule(source, counted, Event.id, shows, row, (Event.starts_on,))
        return Rule(rule.source, rule.actual, rule.items, lambda _year: {})

    def counted_booths(year: int, department_id: int | None, *columns: Any) -> Any:
        stmt = (
            sa.select(*columns)
            .select_from(EventParticipant)
            .join(Event, EventParticipant.event_id == Event.id)
            .join(Enterprise, EventParticipant.enterprise_id == Enterprise.id)
            .where(held(year))
        )
        return in_department(stmt, EventParticipant.enterprise_id, department_id)

    def booth(r: Any) -> Item:
        return Item("enterprise", r.enterprise_id, r.name, r.title, r.starts_on)

    shows = (Enterprise.id.label("enterprise_id"), Enterprise.name, Event.title, Event.starts_on)
    order = (Event.starts_on, Enterprise.name)
    return counting_rule(source, counted_booths, EventParticipant.id, shows, booth, order)


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
    "provincial_projects": registers.provincial_projects(),
    "institution_branches": registers.institution_branches(),
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
    "achievements_new_company": registers.founded_on_achievements(),
    "motor_expo_booths": _events("当年展会的参展企业", EventKind.EXPO, booths=True),
    "design_contest_held": _events("当年举办的大赛", EventKind.CONTEST, booths=False),
}
