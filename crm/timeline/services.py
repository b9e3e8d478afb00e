"""The timeline of one enterprise, newest first; each item dated in the county's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from crm.cooperation.models import Cooperation, StageChange
from crm.enterprises.models import (
    Enterprise,
)
from crm.extensions import db
from crm.matching.decisions import REJECT_REASONS, partner_name
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need
from crm.visits.models import Visit


@dataclass
class TimelineItem:
    when: date
    kind: str  # visit / need / cooperation / suggestion
    title: str
    detail: str | None = None
    at: datetime | None = None
    visit: Visit | None = None  # for the edit link of a visit
    #: what the item is about (the visit, need, cooperation or suggestion): its page's link
    record: Any = None


def timeline(ent: Enterprise, limit: int = 50) -> list[TimelineItem]:
    """Visits, needs, cooperation and its stage moves of one enterprise, newest first."""
    items: list[TimelineItem] = []
    zone = ZoneInfo(current_app.config["TIMEZONE"])  # a day is the county's day, not UTC's
    visits = db.session.scalars(
        sa.select(Visit)
        .where(Visit.enterprise_id == ent.id, Visit.deleted_at.is_(None))
        .options(selectinload(Visit.officer))
        .order_by(Visit.visited_on.desc())
        .limit(limit)
    )
    for v in visits:
        items.append(
            TimelineItem(
                v.visited_on,
                "visit",
                f"{v.officer.display_name} 走访",
                v.notes,
                v.created_at,
                visit=v,
                record=v,
            )
        )
    needs = db.session.scalars(
        sa.select(Need).where(Need.enterprise_id == ent.id, Need.deleted_at.is_(None)).limit(limit)
    )
    for n in needs:
        items.append(
            TimelineItem(
                n.created_at.astimezone(zone).date(),
                "need",
                f"技术需求：{n.title}（{n.status.label}）",
                n.description,
                n.created_at,
                record=n,
            )
        )
    changes = db.session.execute(
        sa.select(StageChange, Cooperation)
        .join(Cooperation, StageChange.cooperation_id == Cooperation.id)
        .where(Cooperation.enterprise_id == ent.id, Cooperation.deleted_at.is_(None))
        .order_by(StageChange.changed_on.desc())
        .limit(limit)
    )
    for change, coop in changes:
        items.append(
            TimelineItem(
                change.changed_on,
                "cooperation",
                f"合作“{coop.title}”进入{change.to_stage.label}",
                change.note,
                change.changed_at,
                record=coop,
            )
        )
    decided = db.session.scalars(
        sa.select(Suggestion)
        .join(Need, Suggestion.need_id == Need.id)
        .where(
            Need.enterprise_id == ent.id,
            Need.deleted_at.is_(None),
            Suggestion.status.in_([SuggestionStatus.CONTACTED, SuggestionStatus.REJECTED]),
            Suggestion.decided_at.is_not(None),
        )
        .options(
            selectinload(Suggestion.need),
            selectinload(Suggestion.researcher),
            selectinload(Suggestion.achievement),
            selectinload(Suggestion.institution),
        )
        .order_by(Suggestion.decided_at.desc())
        .limit(limit)
    )
    for s in decided:  # an accepted one shows as its cooperation's 意向
        partner = partner_name(s)
        if s.status == SuggestionStatus.CONTACTED:
            title, detail = f"已联系推荐对象：{partner}", f"需求：{s.need.title}"
        else:
            reason = REJECT_REASONS.get(s.reject_reason or "", s.reject_reason)
            title = f"否决推荐对象：{partner}"
            detail = f"需求：{s.need.title}；原因：{reason}" + (
                f"（{s.reject_note}）" if s.reject_note else ""
            )
        at = s.decided_at
        items.append(
            TimelineItem(at.astimezone(zone).date(), "suggestion", title, detail, at, record=s)
        )
    epoch = datetime.min.replace(tzinfo=None)
    items.sort(key=lambda i: (i.when, (i.at.replace(tzinfo=None) if i.at else epoch)), reverse=True)
    return items[:limit]
