"""产学研合作 through its stages: the rules for moving, the dated history, the pipeline's view.

意向 → 洽谈 → 签约 → 实施 → 验收, one step at a time, or 终止 (with a reason) from any open
stage. Moving to 签约 needs the signing date and the parties; every move is dated (not in the
future, not before the previous move) and kept as a `StageChange`. A stale form (another
officer moved it first) is refused with `Conflict`, never applied on top.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.enterprises.models import Enterprise, enterprise_industry
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.queries import reference
from crm.visits.models import Visit
from crm.visits.services import last_visits

logger = logging.getLogger(__name__)

FLOW = (Stage.INTENT, Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION, Stage.ACCEPTANCE)
OPEN = (Stage.INTENT, Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION)
BOARD = (*FLOW, Stage.TERMINATED)


def next_stages(stage: Stage) -> list[Stage]:
    """Where a cooperation in this stage may go: the next stage, or 终止 while open."""
    if stage not in OPEN:
        return []
    return [FLOW[FLOW.index(stage) + 1], Stage.TERMINATED]


def get_cooperation(coop_id: int) -> Cooperation:
    coop = db.session.get(Cooperation, coop_id)
    if coop is None or coop.deleted_at is not None:
        raise NotFound("这条合作记录不存在或已删除。")
    return coop


@dataclass
class Move:
    """What an officer gives to move a cooperation."""

    to: Stage
    version: int
    on: date | None = None  # the day it happened; today if not given
    signed_on: date | None = None
    parties: str | None = None
    contract_no: str | None = None
    reason: str | None = None  # 终止原因
    note: str | None = None


def move(user: User, coop: Cooperation, step: Move) -> Cooperation:
    """Move to the next stage (or 终止) by the rules, with a dated history entry."""
    policy.authorize(
        policy.can_edit_cooperation(user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以推进。",
    )
    if coop.version != step.version:
        raise Conflict("这条合作已被他人更新，请刷新后再操作。")
    if step.to == coop.stage:
        raise ValidationError(f"这条合作已经在“{coop.stage.label}”阶段。", field="to")
    if step.to not in next_stages(coop.stage):
        raise ValidationError(_why_not(coop.stage, step.to), field="to")
    today = local_today()
    on = step.on or today
    last = coop.stage_changed_on
    if on > today:
        raise ValidationError("日期不能晚于今天。", field="on")
    if last is not None and on < last:
        raise ValidationError(f"日期不能早于上一次变动（{last.isoformat()}）。", field="on")
    if step.to == Stage.SIGNED:
        parties = (step.parties or "").strip()
        if step.signed_on is None:
            raise ValidationError("进入签约阶段须填写签约日期。", field="signed_on")
        if step.signed_on > today:
            raise ValidationError("签约日期不能晚于今天。", field="signed_on")
        if not parties:
            raise ValidationError("进入签约阶段须填写签约各方。", field="parties")
        coop.signed_on, coop.parties = step.signed_on, parties
        coop.contract_no = (step.contract_no or "").strip() or coop.contract_no
    if step.to == Stage.TERMINATED:
        reason = (step.reason or "").strip()
        if not reason:
            raise ValidationError("终止合作须写明原因。", field="reason")
        coop.termination_reason = reason
    coop.history.append(
        StageChange(
            from_stage=coop.stage,
            to_stage=step.to,
            changed_on=on,
            changed_by_id=user.id,
            note=(step.note or "").strip() or None,
        )
    )
    coop.stage, coop.stage_changed_on = step.to, on
    db.session.flush()
    logger.info("Cooperation %s moved to %s by %s", coop.id, step.to.value, user.username)
    return coop


def _why_not(stage: Stage, to: Stage) -> str:
    if stage == Stage.TERMINATED:
        return "这条合作已终止，不能再推进。"
    if stage == Stage.ACCEPTANCE:
        return "这条合作已验收，流程已结束。"
    if to in FLOW and FLOW.index(to) < FLOW.index(stage):
        return f"不能从“{stage.label}”退回“{to.label}”。"
    skipped = "”“".join(s.label for s in FLOW[FLOW.index(stage) + 1 : FLOW.index(to)])
    return f"不能从“{stage.label}”直接到“{to.label}”：要先经过“{skipped}”。"


# ---- the pipeline ------------------------------------------------------------------------------


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


def shown() -> tuple[Any, ...]:
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
        .options(*shown())
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
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    cutoff_moment = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=zone)
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
        db.session.scalars(sa.select(Cooperation).where(Cooperation.id.in_(ids)).options(*shown()))
    )


def _local_date(moment: Any) -> date:
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


# ---- registering and editing ------------------------------------------------------------------


@dataclass
class Details:
    """What an officer writes about a cooperation (its stage moves are `move`'s)."""

    title: str
    type: CooperationType
    institution_id: int | None
    researcher_name: str | None
    amount: Any = None  # yuan
    contract_no: str | None = None
    origin: Origin = Origin.MANUAL
    notes: str | None = None
    researcher_id: int | None = None  # the API names a researcher by id, the web by name


def _partner(details: Details, coop: Cooperation | None = None) -> tuple[int | None, int | None]:
    """(institution id, researcher id): the researcher found by id or by name, within the
    institution when one is given; a name that fits nobody or several people is refused. The
    partner a record already has is kept as it is (even if deleted since): a save never
    unlinks what the user did not touch."""
    had = (coop.institution_id, coop.researcher_id) if coop is not None else (None, None)
    same_place = details.institution_id in (None, had[0])
    if details.researcher_id is not None:
        if same_place and details.researcher_id == had[1]:
            return had
        person = db.session.get(Researcher, details.researcher_id)
        if person is None or person.deleted_at is not None:
            raise ValidationError("专家库里没有这位专家。", field="researcher_id")
        if details.institution_id not in (None, person.institution_id):
            raise ValidationError("这位专家不属于所选的高校院所。", field="researcher_id")
        return person.institution_id, person.id
    name = (details.researcher_name or "").strip()
    if not name:
        if details.institution_id is None:
            raise ValidationError("请填写合作的高校院所或专家。", field="institution_id")
        institution_id = reference(
            Institution, details.institution_id, had[0], field="institution_id", what="高校院所"
        )
        return institution_id, None
    if coop is not None and coop.researcher is not None and name == coop.researcher.name:
        if same_place:
            return had
    institution_id = reference(
        Institution, details.institution_id, had[0], field="institution_id", what="高校院所"
    )
    stmt = sa.select(Researcher).where(Researcher.name == name, Researcher.deleted_at.is_(None))
    if institution_id is not None:
        stmt = stmt.where(Researcher.institution_id == institution_id)
    found = list(db.session.scalars(stmt.limit(2)))
    if not found:
        raise ValidationError(
            f"专家库里没有“{name}”，请先登记专家或核对所在单位。", field="researcher_name"
        )
    if len(found) > 1:
        raise ValidationError(
            f"专家库里有多位“{name}”，请选择所在单位以区分。", field="institution_id"
        )
    return institution_id or found[0].institution_id, found[0].id


def _apply(coop: Cooperation, details: Details, existing: bool = False) -> None:
    title = details.title.strip()
    if not title:
        raise ValidationError("请填写合作名称。", field="title")
    if details.amount is not None and details.amount < 0:
        raise ValidationError("金额不能为负数。", field="amount")
    coop.institution_id, coop.researcher_id = _partner(details, coop if existing else None)
    coop.title, coop.type, coop.amount = title, details.type, details.amount
    coop.contract_no = (details.contract_no or "").strip() or None
    coop.notes = (details.notes or "").strip() or None


def create(user: User, enterprise: Enterprise, details: Details) -> Cooperation:
    """A new cooperation of an enterprise the officer may edit, at 意向, with its history."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise), "您只能为本人或本科室负责的企业登记合作。"
    )
    if details.origin == Origin.SUGGESTION:
        raise ValidationError("来自匹配推荐的合作由“采纳”生成。", field="origin")
    with db.session.no_autoflush:  # checking the partner reads; the lead is not complete yet
        coop = open_lead(user, enterprise.id, details.origin, "登记", user.id)
        _apply(coop, details)
    db.session.flush()
    logger.info("Cooperation %s registered by %s", coop.id, user.username)
    return coop


def open_lead(
    user: User, enterprise_id: int, origin: Origin, note: str, officer_id: int, **fields: Any
) -> Cooperation:
    """A cooperation at 意向 with the first step of its history, however it came about (an
    officer's registration, an accepted suggestion, a pairing at an event). The caller has
    checked the user may; `fields` are the cooperation's own (title, researcher_id, …)."""
    today = local_today()
    lead = Cooperation(
        enterprise_id=enterprise_id,
        stage=Stage.INTENT,
        stage_changed_on=today,
        officer_id=officer_id,
        origin=origin,
        **fields,
    )
    lead.history = [
        StageChange(to_stage=Stage.INTENT, changed_on=today, changed_by_id=user.id, note=note)
    ]
    db.session.add(lead)
    return lead


def update(user: User, coop: Cooperation, details: Details, version: int) -> Cooperation:
    policy.authorize(
        policy.can_edit_cooperation(user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以修改。",
    )
    if coop.version != version:
        raise Conflict()
    _apply(coop, details, existing=True)
    db.session.flush()
    return coop
