"""Matchmaking events (对接会): the proposed one-on-one schedule, edits to it, and what each
meeting led to (a follow-up task, or a cooperation lead with origin 对接会)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation.models import CooperationType, Origin
from crm.cooperation.services import open_lead
from crm.db import max_length
from crm.enterprises.models import Enterprise, enterprise_industry
from crm.errors import NotFound, ValidationError
from crm.events.models import Event, EventPairing, EventParticipant, PairingOutcome
from crm.events.schedule import Pair, plan
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching import queries
from crm.matching import services as matching
from crm.needs.models import Need, NeedStatus
from crm.visits.models import Task

logger = logging.getLogger(__name__)
CANDIDATES = 200  # researchers looked at for each need before keeping the event's own


def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or event.deleted_at is not None:
        raise NotFound("这个活动不存在或已删除。")
    return event


def list_events() -> list[Event]:
    return list(
        db.session.scalars(
            sa.select(Event).where(Event.deleted_at.is_(None)).order_by(Event.starts_on.desc())
        )
    )


def candidate_pairs(event: Event) -> list[Pair]:
    """Each participating enterprise's open needs matched against the participating experts:
    one pair per enterprise and expert, at its best need's score."""
    experts = {p.researcher_id for p in event.participants if p.researcher_id}
    firms = [p.enterprise_id for p in event.participants if p.enterprise_id]
    if not experts or not firms:
        return []
    index = matching.current_index()
    best: dict[tuple[int, int], Pair] = {}
    needs = db.session.scalars(
        sa.select(Need).where(
            Need.enterprise_id.in_(firms),
            Need.deleted_at.is_(None),
            Need.status.in_([NeedStatus.OPEN, NeedStatus.MATCHED]),
        )
    )
    for need in needs:
        query = queries.widen(queries.build_query(need.title, need.description), index)
        for _, researcher_id, score, _, _ in matching.rank(
            index, query, CANDIDATES, kinds=("researcher",)
        ):
            key = (need.enterprise_id, researcher_id)
            if researcher_id in experts and (key not in best or best[key].score < score):
                best[key] = Pair(need.enterprise_id, researcher_id, score, need.id)
    return list(best.values())


@dataclass
class Slots:
    starts_at: datetime
    minutes: int
    count: int
    tables: int

    def check(self) -> None:
        if not 5 <= self.minutes <= 120:
            raise ValidationError("每轮时长应在 5 到 120 分钟之间。", field="minutes")
        if not 1 <= self.count <= 20:
            raise ValidationError("轮次应在 1 到 20 之间。", field="count")
        if not 1 <= self.tables <= 100:
            raise ValidationError("桌数应在 1 到 100 之间。", field="tables")

    def start_of(self, slot: int) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes * slot)


def propose(user: User, event: Event, slots: Slots) -> tuple[int, int]:
    """Replace the event's schedule by a new proposal; returns (meetings, pairs left out).
    Refused once any meeting has an outcome: the event has happened."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以安排对接。")
    slots.check()
    if any(p.outcome != PairingOutcome.PENDING for p in event.pairings):
        raise ValidationError("已有对接结果，不能重新排期；可以逐条调整。")
    schedule = plan(candidate_pairs(event), slots.count, slots.tables)
    for old in list(event.pairings):
        db.session.delete(old)
    db.session.flush()
    for meeting in schedule.meetings:
        db.session.add(
            EventPairing(
                event_id=event.id,
                enterprise_id=meeting.pair.enterprise,
                researcher_id=meeting.pair.expert,
                need_id=meeting.pair.need,
                score=meeting.pair.score,
                slot_starts_at=slots.start_of(meeting.slot),
                table_no=meeting.table,
            )
        )
    db.session.flush()
    db.session.expire(event, ["pairings"])
    logger.info(
        "Event %s scheduled by %s: %d meetings, %d left out",
        event.id,
        user.username,
        len(schedule.meetings),
        len(schedule.left_out),
    )
    return len(schedule.meetings), len(schedule.left_out)


def pairings(event: Event) -> list[EventPairing]:
    return list(
        db.session.scalars(
            sa.select(EventPairing)
            .where(EventPairing.event_id == event.id)
            .options(
                selectinload(EventPairing.enterprise),
                selectinload(EventPairing.researcher).selectinload(Researcher.institution),
            )
            .order_by(EventPairing.slot_starts_at, EventPairing.table_no)
        )
    )


def move(user: User, pairing: EventPairing, starts_at: datetime, table_no: int) -> None:
    """An officer's edit: another slot or table, if nobody is double-booked by it."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以调整对接安排。")
    if table_no < 1:
        raise ValidationError("桌号从 1 开始。", field="table_no")
    clash = db.session.scalars(
        sa.select(EventPairing).where(
            EventPairing.event_id == pairing.event_id,
            EventPairing.id != pairing.id,
            EventPairing.slot_starts_at == starts_at,
            sa.or_(
                EventPairing.table_no == table_no,
                EventPairing.enterprise_id == pairing.enterprise_id,
                EventPairing.researcher_id == pairing.researcher_id,
            ),
        )
    ).first()
    if clash is not None:
        if clash.table_no == table_no:
            raise ValidationError(f"这一轮 {table_no} 号桌已有安排。", field="table_no")
        raise ValidationError("这一轮企业或专家已有别的对接，不能重复安排。", field="slot")
    pairing.slot_starts_at, pairing.table_no = starts_at, table_no
    db.session.flush()


def record_outcome(
    user: User, pairing: EventPairing, outcome: PairingOutcome, note: str | None
) -> Any:
    """What a meeting led to: 形成合作意向 → a cooperation lead (origin 对接会, stage 意向);
    需跟进 → a follow-up task for the enterprise's officer (or the one recording it)."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以登记对接结果。")
    # read again under a row lock: two officers pressing at once make one lead, not two
    db.session.refresh(pairing, with_for_update=True)
    if pairing.outcome != PairingOutcome.PENDING:
        raise ValidationError("这场对接已登记结果。")
    note = (note or "").strip() or None
    if note and len(note) > max_length(EventPairing.outcome_note):
        raise ValidationError(f"说明最多 {max_length(EventPairing.outcome_note)} 字。")
    pairing.outcome, pairing.outcome_note = outcome, note
    enterprise = db.session.get(Enterprise, pairing.enterprise_id)
    event = db.session.get(Event, pairing.event_id)
    researcher = db.session.get(Researcher, pairing.researcher_id)
    today = local_today()
    made: Any = None
    if outcome == PairingOutcome.LEAD:
        made = open_lead(
            user,
            enterprise.id,
            Origin.EVENT,
            "对接会形成意向",
            enterprise.owner_id or user.id,
            title=f"{event.title}：{enterprise.name} × {researcher.name}"[:200],
            researcher_id=researcher.id,
            institution_id=researcher.institution_id,
            type=CooperationType.DEVELOPMENT,
            event_id=event.id,
            notes=pairing.outcome_note,
        )
    elif outcome == PairingOutcome.FOLLOW_UP:
        made = Task(
            title=f"跟进对接：{enterprise.name} × {researcher.name}"[:200],
            assignee_id=enterprise.owner_id or user.id,
            due_on=today + timedelta(days=7),
            enterprise_id=enterprise.id,
            need_id=pairing.need_id,
            event_id=event.id,
            notes=pairing.outcome_note,
        )
        db.session.add(made)
    db.session.flush()
    return made


def participants(event: Event) -> list[EventParticipant]:
    return list(
        db.session.scalars(
            sa.select(EventParticipant)
            .where(EventParticipant.event_id == event.id)
            .options(
                selectinload(EventParticipant.enterprise),
                selectinload(EventParticipant.researcher),
                selectinload(EventParticipant.institution),
            )
        )
    )


# ---- events and who takes part -----------------------------------------------------------------


@dataclass
class EventData:
    kind: Any
    title: str
    starts_on: Any
    ends_on: Any = None
    place: str | None = None
    description: str | None = None


def create_event(user: User, data: EventData) -> Event:
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以登记活动。")
    title = (data.title or "").strip()
    if not title:
        raise ValidationError("请填写活动名称。", field="title")
    if data.starts_on is None:
        raise ValidationError("请填写开始日期。", field="starts_on")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise ValidationError("结束日期不能早于开始日期。", field="ends_on")
    event = Event(
        kind=data.kind,
        title=title,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        place=(data.place or "").strip() or None,
        description=(data.description or "").strip() or None,
    )
    db.session.add(event)
    db.session.flush()
    return event


def add_participants(
    user: User,
    event: Event,
    enterprise_name: str | None = None,
    industry_id: int | None = None,
    expert_name: str | None = None,
    institution_id: int | None = None,
) -> int:
    """Add an enterprise by its name, every enterprise of an industry, or an expert by name
    (within an institution when given); returns how many joined (already there: skipped)."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以维护参会名单。")
    have_firms = {p.enterprise_id for p in event.participants if p.enterprise_id}
    have_experts = {p.researcher_id for p in event.participants if p.researcher_id}
    firms: list[int] = []
    experts: list[int] = []
    if enterprise_name and enterprise_name.strip():
        found = db.session.scalar(
            sa.select(Enterprise.id).where(
                Enterprise.name == enterprise_name.strip(), Enterprise.deleted_at.is_(None)
            )
        )
        if found is None:
            raise ValidationError(f"企业库里没有“{enterprise_name.strip()}”，请核对全称。")
        firms.append(found)
    if industry_id:
        firms += list(
            db.session.scalars(
                sa.select(Enterprise.id)
                .join(enterprise_industry, enterprise_industry.c.enterprise_id == Enterprise.id)
                .where(
                    enterprise_industry.c.industry_id == industry_id,
                    Enterprise.deleted_at.is_(None),
                )
            )
        )
    if expert_name and expert_name.strip():
        stmt = sa.select(Researcher.id).where(
            Researcher.name == expert_name.strip(), Researcher.deleted_at.is_(None)
        )
        if institution_id:
            stmt = stmt.where(Researcher.institution_id == institution_id)
        found_experts = list(db.session.scalars(stmt.limit(2)))
        if not found_experts:
            raise ValidationError(f"专家库里没有“{expert_name.strip()}”。")
        if len(found_experts) > 1:
            raise ValidationError(f"有多位“{expert_name.strip()}”，请选择所在单位。")
        experts += found_experts
    added = 0
    for enterprise_id in dict.fromkeys(firms):
        if enterprise_id not in have_firms:
            db.session.add(EventParticipant(event_id=event.id, enterprise_id=enterprise_id))
            added += 1
    for researcher_id in dict.fromkeys(experts):
        if researcher_id not in have_experts:
            db.session.add(EventParticipant(event_id=event.id, researcher_id=researcher_id))
            added += 1
    db.session.flush()
    db.session.expire(event, ["participants"])
    return added


def remove_participant(user: User, participant: EventParticipant) -> None:
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以维护参会名单。")
    db.session.delete(participant)
    db.session.flush()
