"""对接会 / 展会 / 大赛 with participants and one-on-one pairings."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Record, Timestamped, enum_column, exactly_one, long_text

if TYPE_CHECKING:
    from crm.enterprises.models import Enterprise
    from crm.institutions.models import Institution, Researcher


class EventKind(Choice):
    MATCHMAKING = "matchmaking", "对接会"
    EXPO = "expo", "展会"
    CONTEST = "contest", "大赛"


class Event(Record, Base):
    __tablename__ = "event"
    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = enum_column(EventKind, "event_kind")
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[date] = mapped_column(index=True)
    ends_on: Mapped[date | None]
    place: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = long_text(5000)
    outcomes: Mapped[str | None] = mapped_column(sa.Text)

    participants: Mapped[list[EventParticipant]] = relationship(back_populates="event")
    pairings: Mapped[list[EventPairing]] = relationship(back_populates="event")


class EventParticipant(Timestamped, Base):
    """An enterprise, researcher or institution taking part in an event."""

    __tablename__ = "event_participant"
    __gone_with__ = ("event",)  # crm/queries.py
    __table_args__ = (
        exactly_one("enterprise_id", "researcher_id", "institution_id", name="one_participant"),
        sa.UniqueConstraint("event_id", "enterprise_id"),
        sa.UniqueConstraint("event_id", "researcher_id"),
        sa.UniqueConstraint("event_id", "institution_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="CASCADE")
    )
    researcher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("researcher.id", ondelete="CASCADE")
    )
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="CASCADE")
    )

    event: Mapped[Event] = relationship(back_populates="participants")
    enterprise: Mapped[Enterprise | None] = relationship()
    researcher: Mapped[Researcher | None] = relationship()
    institution: Mapped[Institution | None] = relationship()


class PairingOutcome(Choice):
    PENDING = "pending", "未进行"
    FOLLOW_UP = "follow_up", "需跟进"
    LEAD = "lead", "形成合作意向"
    NO_INTEREST = "no_interest", "无意向"
    ABSENT = "absent", "未到场"


class EventPairing(Timestamped, Base):
    """A one-on-one meeting at an event: enterprise ↔ researcher, at a time slot and table."""

    __tablename__ = "event_pairing"
    __gone_with__ = ("event", "enterprise")  # crm/queries.py
    __table_args__ = (
        sa.UniqueConstraint("event_id", "slot_starts_at", "table_no"),
        sa.UniqueConstraint("event_id", "slot_starts_at", "enterprise_id"),
        sa.UniqueConstraint("event_id", "slot_starts_at", "researcher_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id", ondelete="CASCADE"))
    researcher_id: Mapped[int] = mapped_column(sa.ForeignKey("researcher.id", ondelete="CASCADE"))
    need_id: Mapped[int | None] = mapped_column(sa.ForeignKey("need.id", ondelete="SET NULL"))
    score: Mapped[float | None]
    slot_starts_at: Mapped[datetime | None]
    table_no: Mapped[int | None]
    outcome: Mapped[PairingOutcome] = enum_column(
        PairingOutcome, "pairing_outcome", default=PairingOutcome.PENDING
    )
    outcome_note: Mapped[str | None] = long_text(1000)

    event: Mapped[Event] = relationship(back_populates="pairings")
    enterprise: Mapped[Enterprise] = relationship()
    researcher: Mapped[Researcher] = relationship()
