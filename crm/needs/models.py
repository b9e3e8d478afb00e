"""技术需求: what an enterprise needs solved."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Record, enum_column, long_text
from crm.enterprises.models import MONEY

if TYPE_CHECKING:
    from crm.enterprises.models import Enterprise
    from crm.visits.models import Visit


class NeedStatus(Choice):
    OPEN = "open", "待匹配"
    MATCHED = "matched", "已匹配"
    SOLVED = "solved", "已解决"
    DROPPED = "dropped", "已放弃"


class Need(Record, Base):
    __tablename__ = "need"
    __gone_with__ = ("enterprise",)  # a deleted firm's needs are gone too (crm/queries.py)
    __table_args__ = (sa.CheckConstraint("budget IS NULL OR budget >= 0", name="budget_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = long_text(10000)
    budget: Mapped[Decimal | None] = mapped_column(MONEY)  # yuan
    status: Mapped[NeedStatus] = enum_column(
        NeedStatus, "need_status", default=NeedStatus.OPEN, index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )  # the visit where it was found

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship(back_populates="needs")
