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
from decimal import Decimal
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


@dataclass(frozen=True)
class Rule:
    source: str | None  # what counts, in the words of the targets page
    count: Callable[[int, int | None], tuple[Decimal, list[Item]]] | None = None


def _years(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _in_department(stmt: Any, enterprise_id: Any, department_id: int | None) -> Any:
    if department_id is None:
        return stmt
    return stmt.where(
        enterprise_id.in_(sa.select(Enterprise.id).where(Enterprise.department_id == department_id))
    )


def _recognitions(kind: RecognitionKind) -> Callable[[int, int | None], tuple[Decimal, list[Item]]]:
    def count(year: int, department_id: int | None) -> tuple[Decimal, list[Item]]:
        start, end = _years(year)
        stmt = (
            sa.select(Recognition, Enterprise)
            .join(Enterprise, Recognition.enterprise_id == Enterprise.id)
            .where(
                Recognition.kind == kind,
                Recognition.granted_on >= start,
                Recognition.granted_on < end,
                Enterprise.deleted_at.is_(None),
            )
            .order_by(Recognition.granted_on, Enterprise.name)
        )
        stmt = _in_department(stmt, Recognition.enterprise_id, department_id)
        items, seen = [], set()
        for recognition, ent in db.session.execute(stmt):
            if ent.id in seen:  # an enterprise counts once a year
                continue
            seen.add(ent.id)
            detail = f"{kind.label}" + (
                f"，证书 {recognition.certificate_no}" if recognition.certificate_no else ""
            )
            items.append(Item("enterprise", ent.id, ent.name, detail, recognition.granted_on))
        return Decimal(len(items)), items

    return count


def _signed(
    where: Callable[[Any], Any], label: str
) -> Callable[[int, int | None], tuple[Decimal, list[Item]]]:
    """Cooperation records signed that year and not terminated, of a kind."""

    def count(year: int, department_id: int | None) -> tuple[Decimal, list[Item]]:
        start, end = _years(year)
        stmt = (
            sa.select(Cooperation, Enterprise)
            .join(Enterprise, Cooperation.enterprise_id == Enterprise.id)
            .where(
                Cooperation.deleted_at.is_(None),
                Cooperation.stage != Stage.TERMINATED,
                Cooperation.signed_on >= start,
                Cooperation.signed_on < end,
                where(Cooperation),
            )
            .order_by(Cooperation.signed_on, Cooperation.id)
        )
        stmt = _in_department(stmt, Cooperation.enterprise_id, department_id)
        items = [
            Item(
                "cooperation", c.id, c.title, f"{ent.name} · {c.type.label} · {label}", c.signed_on
            )
            for c, ent in db.session.execute(stmt)
        ]
        return Decimal(len(items)), items

    return count


def _accepted_motor_development(year: int, department_id: int | None) -> tuple[Decimal, list[Item]]:
    """技术开发 with the motor makers, accepted (验收) that year: a new product developed."""
    start, end = _years(year)
    stmt = (
        sa.select(Cooperation, Enterprise)
        .join(Enterprise, Cooperation.enterprise_id == Enterprise.id)
        .where(
            Cooperation.deleted_at.is_(None),
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
        .order_by(Cooperation.stage_changed_on)
    )
    stmt = _in_department(stmt, Cooperation.enterprise_id, department_id)
    items = [
        Item("cooperation", c.id, c.title, f"{ent.name} · 技术开发 · 已验收", c.stage_changed_on)
        for c, ent in db.session.execute(stmt)
    ]
    return Decimal(len(items)), items


def _ratio(
    numerator: str, denominator: str
) -> Callable[[int, int | None], tuple[Decimal, list[Item]]]:
    """Σ numerator / Σ denominator × 100 over the year's figures of 规上 enterprises that
    reported both."""

    def count(year: int, department_id: int | None) -> tuple[Decimal, list[Item]]:
        top, bottom = getattr(EnterpriseYear, numerator), getattr(EnterpriseYear, denominator)
        stmt = (
            sa.select(EnterpriseYear, Enterprise)
            .join(Enterprise, EnterpriseYear.enterprise_id == Enterprise.id)
            .where(
                EnterpriseYear.year == year,
                EnterpriseYear.above_scale.is_(True),
                top.is_not(None),
                bottom.is_not(None),
                Enterprise.deleted_at.is_(None),
            )
            .order_by(Enterprise.name)
        )
        stmt = _in_department(stmt, EnterpriseYear.enterprise_id, department_id)
        rows = db.session.execute(stmt).all()
        total_top = sum((getattr(y, numerator) for y, _ in rows), Decimal(0))
        total_bottom = sum((getattr(y, denominator) for y, _ in rows), Decimal(0))
        items = [
            Item(
                "enterprise",
                ent.id,
                ent.name,
                f"{_wan(getattr(y, numerator))} / {_wan(getattr(y, denominator))} 万元",
                None,
            )
            for y, ent in rows
        ]
        if not total_bottom:
            return Decimal(0), items
        return (total_top * 100 / total_bottom).quantize(Decimal("0.01")), items

    return count


def _wan(yuan: Decimal) -> str:
    return f"{yuan / 10000:,.1f}"


def _events(
    kind: EventKind, booths: bool
) -> Callable[[int, int | None], tuple[Decimal, list[Item]]]:
    """Events of a kind held that year — or, with `booths`, the enterprises taking part."""

    def count(year: int, department_id: int | None) -> tuple[Decimal, list[Item]]:
        start, end = _years(year)
        held = sa.and_(
            Event.kind == kind,
            Event.deleted_at.is_(None),
            Event.starts_on >= start,
            Event.starts_on < end,
        )
        if not booths:
            if department_id is not None:
                return Decimal(0), []  # an event is the bureau's, not a department's firms'
            events = db.session.scalars(sa.select(Event).where(held).order_by(Event.starts_on))
            items = [Item("event", e.id, e.title, e.place or "", e.starts_on) for e in events]
            return Decimal(len(items)), items
        stmt = (
            sa.select(EventParticipant, Event, Enterprise)
            .join(Event, EventParticipant.event_id == Event.id)
            .join(Enterprise, EventParticipant.enterprise_id == Enterprise.id)
            .where(held)
            .order_by(Event.starts_on, Enterprise.name)
        )
        stmt = _in_department(stmt, EventParticipant.enterprise_id, department_id)
        items = [
            Item("enterprise", ent.id, ent.name, event.title, event.starts_on)
            for _, event, ent in db.session.execute(stmt)
        ]
        return Decimal(len(items)), items

    return count


RULES: dict[str, Rule] = {
    "rnd_ratio": Rule(
        "规上企业当年科技活动经费支出合计 ÷ 主营业务收入合计", _ratio("rnd_spend", "revenue")
    ),
    "hitech_share": Rule(
        "规上企业当年高新技术产业产值合计 ÷ 工业总产值合计",
        _ratio("hitech_output", "industrial_output"),
    ),
    "new_hitech_national": Rule(
        "当年取得“国家级高新技术企业”认定的企业", _recognitions(RecognitionKind.HITECH_NATIONAL)
    ),
    "new_tech_sme_provincial": Rule(
        "当年取得“省级科技型中小企业”认定的企业", _recognitions(RecognitionKind.TECH_SME_PROVINCIAL)
    ),
    "new_patent_demo_provincial": Rule(
        "当年取得“省级专利示范企业”认定的企业",
        _recognitions(RecognitionKind.PATENT_DEMO_PROVINCIAL),
    ),
    "provincial_projects": Rule(None),
    "institution_branches": Rule(None),
    "new_rnd_center_provincial": Rule(
        "当年认定“省级研发中心”的企业", _recognitions(RecognitionKind.RND_CENTER_PROVINCIAL)
    ),
    "new_rnd_center_shaoxing": Rule(
        "当年认定“绍兴市级研发中心”的企业", _recognitions(RecognitionKind.RND_CENTER_SHAOXING)
    ),
    "joint_innovation_carriers": Rule(
        "当年签约、未终止的“共建研发机构”合作",
        _signed(lambda c: c.type == CooperationType.JOINT_RND_CENTRE, "共建研发机构"),
    ),
    "incubated_hitech": Rule("当年入驻孵化的企业", _recognitions(RecognitionKind.INCUBATED)),
    "joint_rnd_products": Rule(
        "当年验收的电机行业企业“技术开发”合作（每项计一只新产品）", _accepted_motor_development
    ),
    "achievements_introduced": Rule(
        "当年签约、未终止、引进了科技成果（登记了成果，或为技术转让/许可）的合作",
        _signed(
            lambda c: sa.or_(
                c.achievement_id.is_not(None),
                c.type.in_([CooperationType.TRANSFER, CooperationType.LICENSE]),
            ),
            "引进成果",
        ),
    ),
    "achievements_new_company": Rule(None),
    "motor_expo_booths": Rule("当年展会的参展企业", _events(EventKind.EXPO, booths=True)),
    "design_contest_held": Rule("当年举办的大赛", _events(EventKind.CONTEST, booths=False)),
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
        return int(self.actual * 100 / self.target)


@dataclass
class Overview:
    year: int
    department: Department | None
    rows: list[Progress] = field(default_factory=list)


def overview(year: int, department_id: int | None = None) -> Overview:
    """Every metric's target (the year's, or the department's share) against its actual."""
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
        actual = rule.count(year, department_id)[0] if rule.count else None
        out.rows.append(Progress(metric, rule.source, target, actual))
    return out


def records_behind(code: str, year: int, department_id: int | None = None) -> list[Item]:
    """The records an actual counts (the drill-down)."""
    rule = RULES[code]
    return rule.count(year, department_id)[1] if rule.count else []


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
