"""The cultivation pool (培育库): firms the bureau coaches towards a recognition (国家高新,
省科技型中小企业, 研发中心 …) in a year, and the dated coaching steps that lead to 认定 or
未通过 — so that a recognition is the end of a tracked path, not just a flag."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Record, enum_column, long_text, utcnow
from crm.enterprises.models import RecognitionKind

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.enterprises.models import Enterprise, Recognition
    from crm.visits.models import Visit


class PoolStage(Choice):
    POOLED = "pooled", "入库"
    COACHING = "coaching", "辅导"
    CHECKED = "checked", "材料核查"
    APPLIED = "applied", "已申报"
    GRANTED = "granted", "认定"
    FAILED = "failed", "未通过"
    WITHDRAWN = "withdrawn", "退出"


class StepKind(Choice):
    """What an officer records for a candidate; each but 备注 moves it to a stage."""

    COACHING = "coaching", "辅导走访"
    CHECKED = "checked", "材料核查"
    APPLIED = "applied", "提交申报"
    GRANTED = "granted", "认定"
    FAILED = "failed", "未通过"
    WITHDRAWN = "withdrawn", "退出培育"
    NOTE = "note", "备注"


class Candidate(Record, Base):
    """A firm in the pool for one recognition kind in one year."""

    __tablename__ = "candidate"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "kind", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[RecognitionKind] = enum_column(RecognitionKind, "candidate_kind", index=True)
    year: Mapped[int] = mapped_column(index=True)  # the year it is to apply
    stage: Mapped[PoolStage] = enum_column(
        PoolStage, "candidate_stage", default=PoolStage.POOLED, index=True
    )
    stage_changed_on: Mapped[date | None]
    officer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    recognition_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("recognition.id", ondelete="SET NULL")
    )  # the 认定 it ended in
    notes: Mapped[str | None] = long_text(2000)

    enterprise: Mapped[Enterprise] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    recognition: Mapped[Recognition | None] = relationship()
    steps: Mapped[list[CoachingStep]] = relationship(
        back_populates="candidate", order_by="CoachingStep.id"
    )


class CoachingStep(Base):
    """One dated step on a candidate's path (a 辅导 visit, materials checked, 申报, 认定 …)."""

    __tablename__ = "coaching_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[StepKind] = enum_column(StepKind, "coaching_step_kind")
    done_on: Mapped[date]
    note: Mapped[str | None] = long_text(1000)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id", ondelete="SET NULL"))
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    candidate: Mapped[Candidate] = relationship(back_populates="steps")
    visit: Mapped[Visit | None] = relationship()
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])
