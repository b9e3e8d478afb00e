"""走访 (visits) and 待办 (follow-up tasks)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Record, long_text

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.cooperation.models import Cooperation
    from crm.enterprises.models import Enterprise
    from crm.needs.models import Need
    from crm.projects.models import Project

visit_companion = sa.Table(
    "visit_companion",
    Base.metadata,
    sa.Column("visit_id", sa.ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class Visit(Record, Base):
    __tablename__ = "visit"
    __gone_with__ = ("enterprise",)  # a deleted firm's visits are gone too (crm/queries.py)
    # the dashboard's visits per officer and month read this index alone (bench_dashboard)
    __table_args__ = (sa.Index("ix_visit_day_officer", "visited_on", "officer_id", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    visited_on: Mapped[date] = mapped_column(index=True)
    notes: Mapped[str | None] = long_text(10000)
    next_steps: Mapped[str | None] = long_text(200)  # becomes a task's title

    enterprise: Mapped[Enterprise] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    companions: Mapped[list[User]] = relationship(secondary=visit_companion)
    needs: Mapped[list[Need]] = relationship(back_populates="visit")


class Task(Record, Base):
    """A follow-up (待办) with a due date, linked to the record it is about."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    due_on: Mapped[date | None] = mapped_column(index=True)
    done_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id", ondelete="SET NULL"))
    need_id: Mapped[int | None] = mapped_column(sa.ForeignKey("need.id", ondelete="SET NULL"))
    cooperation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cooperation.id", ondelete="SET NULL")
    )
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id", ondelete="SET NULL"))
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project.id", ondelete="SET NULL"), index=True
    )

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    enterprise: Mapped[Enterprise | None] = relationship()
    visit: Mapped[Visit | None] = relationship()
    need: Mapped[Need | None] = relationship()
    cooperation: Mapped[Cooperation | None] = relationship()
    project: Mapped[Project | None] = relationship()

    @property
    def done(self) -> bool:
        return self.done_at is not None
