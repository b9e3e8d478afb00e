"""Enterprises, their yearly figures, recognitions (资质认定) and contacts; towns and industries."""

from __future__ import annotations

from datetime import date
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
    long_text,
    sort_key_column,
)
from crm.text.normal import core_name
from crm.text.pinyin import sort_key

if TYPE_CHECKING:
    from crm.auth.models import Department, User
    from crm.institutions.models import Achievement, Institution

MONEY = sa.Numeric(16, 2)  # 万元 figures are stored in yuan with cents


class Town(Base):
    """乡镇街道 of the county (reference data from seeds/towns.csv)."""

    __tablename__ = "town"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # 街道 / 镇 / 乡
    active: Mapped[bool] = mapped_column(default=True)


class Industry(Base):
    """An industry the bureau works with (领带服装, 电机, 厨具/集成灶 …)."""

    __tablename__ = "industry"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)


enterprise_industry = sa.Table(
    "enterprise_industry",
    Base.metadata,
    sa.Column(
        "enterprise_id", sa.ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("industry_id", sa.ForeignKey("industry.id", ondelete="RESTRICT"), primary_key=True),
)


class Enterprise(Record, Base):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    # lists sort by the pinyin of the name people say (锦程领带 under J, not 嵊州市 under S)
    name_sort: Mapped[str] = sort_key_column("name", lambda n: sort_key(core_name(n)))
    # 统一社会信用代码: unique when present (NULLs do not collide), checksum checked by services
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("town.id"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(200))
    main_products: Mapped[str | None] = long_text(2000)
    is_above_scale: Mapped[bool] = mapped_column(default=False)  # 规模以上工业企业 (current)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = long_text(5000)
    founded_on: Mapped[date | None]  # 成立日期

    town: Mapped[Town | None] = relationship()
    industries: Mapped[list[Industry]] = relationship(secondary=enterprise_industry)
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    department: Mapped[Department | None] = relationship()
    years: Mapped[list[EnterpriseYear]] = relationship(
        back_populates="enterprise", order_by="EnterpriseYear.year"
    )
    recognitions: Mapped[list[Recognition]] = relationship(back_populates="enterprise")
    contacts: Mapped[list[Contact]] = relationship(back_populates="enterprise")
    # the introduced achievements it was founded to exploit (科技成果引进后直接创办企业)
    founding_achievements: Mapped[list[Achievement]] = relationship(
        secondary=lambda: enterprise_founding, back_populates="founded_firms"
    )
    aliases: Mapped[list[EnterpriseAlias]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan"
    )


enterprise_founding = sa.Table(
    "enterprise_founding",
    Base.metadata,
    sa.Column(
        "enterprise_id", sa.ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "achievement_id", sa.ForeignKey("achievement.id", ondelete="RESTRICT"), primary_key=True
    ),
)


class EnterpriseAlias(Timestamped, Base):
    """A former or short name (曾用名、简称): kept when two records are merged, or when an
    import linked a differently written name to this enterprise."""

    __tablename__ = "enterprise_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(sa.String(120), unique=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="aliases")

    def __repr__(self) -> str:
        return f"<EnterpriseAlias {self.alias!r} -> {self.enterprise_id}>"


class EnterpriseYear(Timestamped, Versioned, Base):
    """Per-year figures; the R&D-ratio and high-tech-share targets are computed from these."""

    __tablename__ = "enterprise_year"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "year"),
        sa.CheckConstraint("year BETWEEN 1990 AND 2100", name="year_range"),
        sa.CheckConstraint("revenue IS NULL OR revenue >= 0", name="revenue_nonneg"),
        sa.CheckConstraint("rnd_spend IS NULL OR rnd_spend >= 0", name="rnd_spend_nonneg"),
        sa.CheckConstraint(
            "hitech_output IS NULL OR hitech_output >= 0", name="hitech_output_nonneg"
        ),
        sa.CheckConstraint(
            "industrial_output IS NULL OR industrial_output >= 0", name="industrial_output_nonneg"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id", ondelete="CASCADE"))
    year: Mapped[int]
    above_scale: Mapped[bool] = mapped_column(default=False)  # 规上 in that year
    revenue: Mapped[Decimal | None] = mapped_column(MONEY)  # 主营业务收入
    rnd_spend: Mapped[Decimal | None] = mapped_column(MONEY)  # 科技活动经费支出
    industrial_output: Mapped[Decimal | None] = mapped_column(MONEY)  # 工业总产值
    hitech_output: Mapped[Decimal | None] = mapped_column(MONEY)  # 高新技术产业产值

    enterprise: Mapped[Enterprise] = relationship(back_populates="years")


class RecognitionKind(Choice):
    HITECH_NATIONAL = "hitech_national", "国家级高新技术企业"
    TECH_SME_PROVINCIAL = "tech_sme_provincial", "省级科技型中小企业"
    PATENT_DEMO_PROVINCIAL = "patent_demo_provincial", "省级专利示范企业"
    RND_CENTER_PROVINCIAL = "rnd_center_provincial", "省级研发中心"
    RND_CENTER_SHAOXING = "rnd_center_shaoxing", "绍兴市级研发中心"
    INCUBATED = "incubated", "入驻孵化"


class Recognition(Timestamped, Versioned, Base):
    """A flag an enterprise gained (国家高新, 省科技型中小企业 …) with the date it was gained."""

    __tablename__ = "recognition"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "kind", "granted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RecognitionKind] = enum_column(RecognitionKind, "recognition_kind")
    granted_on: Mapped[date]
    expires_on: Mapped[date | None]
    certificate_no: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)

    enterprise: Mapped[Enterprise] = relationship(back_populates="recognitions")


class Contact(Record, Base):
    """A person at an enterprise or an institution. Phone and e-mail are personal data."""

    __tablename__ = "contact"
    __table_args__ = (
        sa.CheckConstraint(
            "(enterprise_id IS NULL) <> (institution_id IS NULL)", name="one_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[str | None] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(120))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    enterprise: Mapped[Enterprise | None] = relationship(back_populates="contacts")
    institution: Mapped[Institution | None] = relationship()
