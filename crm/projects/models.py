"""科技项目: a firm's application to a government science & technology programme, followed
from 申报 through 推荐 and 立项 to 中期检查 and 验收 (or 未立项 / 终止), and the programmes
(科技计划) admins keep, each with its level and its 申报截止."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import (
    Base,
    Choice,
    Record,
    Timestamped,
    Versioned,
    enum_column,
    exactly_one,
    long_text,
    utcnow,
)
from crm.enterprises.models import MONEY

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.cooperation.models import Attachment, Cooperation
    from crm.enterprises.models import Enterprise
    from crm.institutions.models import Institution, Researcher
    from crm.matching.models import Suggestion


class Level(Choice):
    NATIONAL = "national", "国家级"
    PROVINCIAL = "provincial", "省级"
    SHAOXING = "shaoxing", "绍兴市级"
    COUNTY = "county", "嵊州市级"


#: the levels the plan's 新上省级以上科技项目 counts
PROVINCIAL_OR_ABOVE = (Level.NATIONAL, Level.PROVINCIAL)


class ProjectStage(Choice):
    APPLYING = "applying", "申报"
    RECOMMENDED = "recommended", "推荐"
    APPROVED = "approved", "立项"
    MIDTERM = "midterm", "中期检查"
    ACCEPTED = "accepted", "验收"
    REJECTED = "rejected", "未立项"
    TERMINATED = "terminated", "终止"


class Programme(Timestamped, Versioned, Base):
    """A programme (科技计划) projects are applied to, with its current round's deadline;
    the list is kept by admins, so that a project names one known programme."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    level: Mapped[Level] = enum_column(Level, "programme_level")
    department: Mapped[str | None] = mapped_column(sa.String(60))  # 主管部门: 省科技厅 …
    deadline: Mapped[date | None] = mapped_column(index=True)  # 申报截止 of the current round
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = long_text(2000)


class Project(Record, Base):
    __tablename__ = "project"
    __gone_with__ = ("enterprise",)  # a deleted firm's projects are gone too (crm/queries.py)
    __table_args__ = (
        sa.CheckConstraint("grant_amount IS NULL OR grant_amount >= 0", name="grant_nonneg"),
        sa.CheckConstraint("self_funding IS NULL OR self_funding >= 0", name="self_nonneg"),
        sa.CheckConstraint(
            "stage NOT IN ('approved', 'midterm', 'accepted') "
            "OR (number IS NOT NULL AND approved_on IS NOT NULL)",
            name="approved_has_number",
        ),
        sa.CheckConstraint(
            "stage NOT IN ('rejected', 'terminated') OR end_reason IS NOT NULL",
            name="ended_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    number: Mapped[str | None] = mapped_column(sa.String(64), unique=True)  # 项目编号
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )  # 承担单位 (the lead)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme.id", ondelete="RESTRICT"), index=True
    )
    level: Mapped[Level] = enum_column(Level, "project_level", index=True)
    year: Mapped[int] = mapped_column(index=True)  # 申报年度
    grant_amount: Mapped[Decimal | None] = mapped_column(MONEY)  # 财政资助, yuan
    self_funding: Mapped[Decimal | None] = mapped_column(MONEY)  # 自筹, yuan
    applied_on: Mapped[date | None]
    approved_on: Mapped[date | None] = mapped_column(index=True)  # 立项日期
    starts_on: Mapped[date | None]  # 实施期
    ends_on: Mapped[date | None]
    stage: Mapped[ProjectStage] = enum_column(
        ProjectStage, "project_stage", default=ProjectStage.APPLYING, index=True
    )
    stage_changed_on: Mapped[date | None]
    end_reason: Mapped[str | None] = long_text(500)  # 未立项 / 终止 的原因
    officer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    cooperation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cooperation.id", ondelete="SET NULL"), index=True
    )
    suggestion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suggestion.id", ondelete="SET NULL")
    )
    notes: Mapped[str | None] = long_text(5000)

    enterprise: Mapped[Enterprise] = relationship()
    programme: Mapped[Programme] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    cooperation: Mapped[Cooperation | None] = relationship()
    suggestion: Mapped[Suggestion | None] = relationship()
    partners: Mapped[list[ProjectPartner]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectPartner.id"
    )
    history: Mapped[list[ProjectStageChange]] = relationship(
        back_populates="project", order_by="ProjectStageChange.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="project", order_by="Attachment.id"
    )

    @property
    def total_funding(self) -> Decimal | None:
        if self.grant_amount is None and self.self_funding is None:
            return None
        return (self.grant_amount or Decimal(0)) + (self.self_funding or Decimal(0))


class ProjectPartner(Base):
    """A partner of a project (合作单位): an institution, a researcher or another firm."""

    __tablename__ = "project_partner"
    __table_args__ = (
        exactly_one("institution_id", "researcher_id", "enterprise_id", name="one_partner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="RESTRICT"), index=True
    )
    researcher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("researcher.id", ondelete="RESTRICT"), index=True
    )
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )

    project: Mapped[Project] = relationship(back_populates="partners")
    institution: Mapped[Institution | None] = relationship()
    researcher: Mapped[Researcher | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    @property
    def name(self) -> str:
        record = self.institution or self.researcher or self.enterprise
        return record.name if record is not None else ""


class ProjectStageChange(Base):
    """One dated move of a project (申报 → 推荐 → 立项 …), as a cooperation's StageChange."""

    __tablename__ = "project_stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[ProjectStage | None] = enum_column(ProjectStage, "project_change_from")
    to_stage: Mapped[ProjectStage] = enum_column(ProjectStage, "project_change_to")
    changed_on: Mapped[date]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = long_text(1000)

    project: Mapped[Project] = relationship(back_populates="history")
    changed_by: Mapped[User | None] = relationship(foreign_keys=[changed_by_id])
