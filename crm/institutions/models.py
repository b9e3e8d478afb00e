"""Institutions (with aliases), researchers and achievements (科技成果)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Record, Timestamped, enum_column, long_text, sort_key_column
from crm.text.pinyin import sort_key

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.cooperation.models import Cooperation
    from crm.enterprises.models import Enterprise
    from crm.projects.models import Project


class InstitutionKind(Choice):
    UNIVERSITY = "university", "高等院校"
    CAS_INSTITUTE = "cas_institute", "中科院院所"
    RESEARCH_INSTITUTE = "research_institute", "科研院所"
    TRANSFER_CENTRE = "transfer_centre", "技术转移中心"
    OTHER = "other", "其他"


class Institution(Record, Base):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name_sort: Mapped[str] = sort_key_column("name", sort_key)
    kind: Mapped[InstitutionKind] = enum_column(InstitutionKind, "institution_kind")
    region: Mapped[str | None] = mapped_column(sa.String(60))  # 所在地区
    description: Mapped[str | None] = long_text(5000)
    website: Mapped[str | None] = mapped_column(sa.String(200))

    aliases: Mapped[list[InstitutionAlias]] = relationship(
        back_populates="institution", cascade="all, delete-orphan"
    )
    researchers: Mapped[list[Researcher]] = relationship(back_populates="institution")


class InstitutionAlias(Timestamped, Base):
    """Another name people use: 港理工, PolyU, 香港理工大學 → 香港理工大学."""

    __tablename__ = "institution_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(sa.String(120), unique=True)

    institution: Mapped[Institution] = relationship(back_populates="aliases")

    def __repr__(self) -> str:
        return f"<InstitutionAlias {self.alias!r} -> {self.institution_id}>"


class Researcher(Record, Base):
    __tablename__ = "researcher"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    name_sort: Mapped[str] = sort_key_column("name", sort_key)
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(sa.String(64))  # 职称: 教授, 研究员 …
    research_directions: Mapped[str | None] = long_text(2000)  # 研究方向
    bio: Mapped[str | None] = long_text(10000)
    team: Mapped[str | None] = mapped_column(sa.String(120))

    institution: Mapped[Institution | None] = relationship(back_populates="researchers")


class Maturity(Choice):
    LAB = "lab", "实验室阶段"
    PILOT = "pilot", "小试"
    SCALE_UP = "scale_up", "中试"
    INDUSTRIAL = "industrial", "可产业化"


class TransferMode(Choice):
    TRANSFER = "transfer", "转让"
    LICENSE = "license", "许可"
    EQUITY = "equity", "作价入股"
    JOINT_DEVELOPMENT = "joint_development", "合作开发"
    NEGOTIABLE = "negotiable", "面议"


class Achievement(Record, Base):
    """科技成果 offered by an institution or researcher."""

    __tablename__ = "achievement"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    description: Mapped[str | None] = long_text(10000)
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="SET NULL"), index=True
    )
    researcher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("researcher.id", ondelete="SET NULL"), index=True
    )
    maturity: Mapped[Maturity | None] = enum_column(Maturity, "achievement_maturity")
    transfer_mode: Mapped[TransferMode | None] = enum_column(
        TransferMode, "achievement_transfer_mode"
    )

    # the 科技项目 that produced it (use_alter: achievement → project → cooperation → achievement)
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project.id", ondelete="SET NULL", use_alter=True), index=True
    )

    institution: Mapped[Institution | None] = relationship()
    researcher: Mapped[Researcher | None] = relationship()
    project: Mapped[Project | None] = relationship()
    founded_firms: Mapped[list[Enterprise]] = relationship(
        secondary="enterprise_founding", back_populates="founding_achievements", viewonly=True
    )


class BranchKind(Choice):
    BRANCH = "branch", "分支机构"
    LAB = "lab", "联合实验室"
    STATION = "station", "工作站"
    TRANSFER = "transfer", "技术转移分中心"


class Branch(Record, Base):
    """An institution (or 技术转移中心) establishing a branch, lab or station in the county
    (引进高等院校和技术转移中心创办分支), hosted by a firm or a park, dated."""

    __tablename__ = "branch"
    __table_args__ = (
        sa.CheckConstraint(
            "host_enterprise_id IS NOT NULL OR host_place IS NOT NULL", name="has_host"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[BranchKind] = enum_column(BranchKind, "branch_kind")
    institution_id: Mapped[int] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="RESTRICT"), index=True
    )
    host_enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="RESTRICT"), index=True
    )
    host_place: Mapped[str | None] = mapped_column(sa.String(120))  # a park: 经济开发区 …
    established_on: Mapped[date] = mapped_column(index=True)
    cooperation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cooperation.id", ondelete="SET NULL")
    )
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = long_text(2000)

    institution: Mapped[Institution] = relationship()
    host_enterprise: Mapped[Enterprise | None] = relationship()
    cooperation: Mapped[Cooperation | None] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
