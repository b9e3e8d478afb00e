"""产学研合作: an enterprise working with an institution and/or researcher, stage by stage."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Record, Timestamped, enum_column, exactly_one, long_text, utcnow
from crm.enterprises.models import MONEY

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.enterprises.models import Enterprise
    from crm.institutions.models import Achievement, Institution, Researcher
    from crm.projects.models import Project


class CooperationType(Choice):
    DEVELOPMENT = "development", "技术开发"
    TRANSFER = "transfer", "技术转让"
    LICENSE = "license", "技术许可"
    CONSULTING = "consulting", "技术咨询"
    SERVICE = "service", "技术服务"
    JOINT_RND_CENTRE = "joint_rnd_centre", "共建研发机构"
    TALENT = "talent", "人才引进"


class Stage(Choice):
    INTENT = "intent", "意向"
    NEGOTIATION = "negotiation", "洽谈"
    SIGNED = "signed", "签约"
    IMPLEMENTATION = "implementation", "实施"
    ACCEPTANCE = "acceptance", "验收"
    TERMINATED = "terminated", "终止"


class Origin(Choice):
    SUGGESTION = "suggestion", "匹配推荐"
    VISIT = "visit", "走访"
    EVENT = "event", "对接活动"
    MANUAL = "manual", "手工录入"


class Cooperation(Record, Base):
    __tablename__ = "cooperation"
    __table_args__ = (
        sa.CheckConstraint(
            "institution_id IS NOT NULL OR researcher_id IS NOT NULL", name="has_partner"
        ),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_nonneg"),
        sa.CheckConstraint(
            "stage NOT IN ('signed', 'implementation', 'acceptance') OR signed_on IS NOT NULL",
            name="signed_has_date",
        ),
        sa.CheckConstraint(
            "stage <> 'terminated' OR termination_reason IS NOT NULL",
            name="termination_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="RESTRICT"), index=True
    )
    researcher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("researcher.id", ondelete="RESTRICT"), index=True
    )
    type: Mapped[CooperationType] = enum_column(CooperationType, "cooperation_type")
    amount: Mapped[Decimal | None] = mapped_column(MONEY)  # yuan
    stage: Mapped[Stage] = enum_column(Stage, "cooperation_stage", default=Stage.INTENT, index=True)
    stage_changed_on: Mapped[date | None]
    signed_on: Mapped[date | None]
    parties: Mapped[str | None] = long_text(500)  # 签约各方
    contract_no: Mapped[str | None] = mapped_column(sa.String(64))  # 技术合同登记号
    termination_reason: Mapped[str | None] = long_text(500)
    officer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    origin: Mapped[Origin] = enum_column(Origin, "cooperation_origin", default=Origin.MANUAL)
    suggestion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suggestion.id", ondelete="SET NULL")
    )
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id", ondelete="SET NULL"))
    achievement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("achievement.id", ondelete="SET NULL")
    )  # the 科技成果 introduced, when it is one
    notes: Mapped[str | None] = long_text(5000)

    enterprise: Mapped[Enterprise] = relationship()
    institution: Mapped[Institution | None] = relationship()
    researcher: Mapped[Researcher | None] = relationship()
    achievement: Mapped[Achievement | None] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    history: Mapped[list[StageChange]] = relationship(
        back_populates="cooperation", order_by="StageChange.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="cooperation", order_by="Attachment.id"
    )
    # the 科技项目 applied for on the strength of it
    projects: Mapped[list[Project]] = relationship(viewonly=True, order_by="Project.id")


class StageChange(Base):
    """One dated move of a cooperation from a stage to the next (or to 终止)."""

    __tablename__ = "stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("cooperation.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage | None] = enum_column(Stage, "stage_change_from")
    to_stage: Mapped[Stage] = enum_column(Stage, "stage_change_to")
    changed_on: Mapped[date]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = long_text(1000)

    cooperation: Mapped[Cooperation] = relationship(back_populates="history")


class Attachment(Timestamped, Base):
    """A file kept with a cooperation record (contract scan, acceptance report, photos):
    stored outside the web root under a random name, served only through the app."""

    __tablename__ = "attachment"
    __gone_with__ = ("cooperation", "project")  # crm/queries.py
    __table_args__ = (exactly_one("cooperation_id", "project_id", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cooperation.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))  # as uploaded, for display
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))  # found from the content
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))

    cooperation: Mapped[Cooperation | None] = relationship(back_populates="attachments")
    project: Mapped[Project | None] = relationship(back_populates="attachments")

    @property
    def owner(self) -> Cooperation | Project | None:
        return self.cooperation or self.project
