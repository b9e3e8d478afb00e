"""Annual targets and their split across departments. Actuals are computed, never stored."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Timestamped, Versioned

if TYPE_CHECKING:
    from crm.auth.models import Department


class Target(Timestamped, Versioned, Base):
    __tablename__ = "target"
    __table_args__ = (
        sa.UniqueConstraint("year", "metric"),
        sa.CheckConstraint("value >= 0", name="value_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    metric: Mapped[str] = mapped_column(sa.String(40))  # a code from crm.targets.metrics
    value: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    note: Mapped[str | None] = mapped_column(sa.Text)

    shares: Mapped[list[TargetShare]] = relationship(
        back_populates="target", cascade="all, delete-orphan"
    )


class TargetShare(Timestamped, Versioned, Base):
    """The part of a target a department is responsible for (分解任务，落实责任)."""

    __tablename__ = "target_share"
    __table_args__ = (
        sa.UniqueConstraint("target_id", "department_id"),
        sa.CheckConstraint("value >= 0", name="value_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("target.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("department.id", ondelete="RESTRICT"), index=True
    )
    value: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))

    target: Mapped[Target] = relationship(back_populates="shares")
    department: Mapped[Department] = relationship()
