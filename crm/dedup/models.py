"""A merge of two records, with everything needed to undo it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, utcnow


class MergeRecord(Base):
    __tablename__ = "merge_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # enterprise / institution / researcher
    kept_id: Mapped[int] = mapped_column(index=True)
    merged_id: Mapped[int] = mapped_column(index=True)
    kept_name: Mapped[str] = mapped_column(sa.String(200))
    merged_name: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"moved": {"table.column": [ids]}, "linked": {"table": [[a, b]]}, "filled": {...}, ...}
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))


class NotDuplicate(Base):
    """A pair a person looked at and said are two different records: not listed again."""

    __tablename__ = "not_duplicate"
    __table_args__ = (
        sa.UniqueConstraint("kind", "first_id", "second_id"),
        sa.CheckConstraint("first_id < second_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    first_id: Mapped[int]
    second_id: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
