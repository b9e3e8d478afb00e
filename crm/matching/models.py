"""匹配推荐: a need paired with a researcher, an achievement or an institution."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Timestamped, Versioned, enum_column, exactly_one, long_text, utcnow

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.institutions.models import Achievement, Institution, Researcher
    from crm.needs.models import Need


class SuggestionStatus(Choice):
    NEW = "new", "新推荐"
    CONTACTED = "contacted", "已联系"
    ACCEPTED = "accepted", "已采纳"
    REJECTED = "rejected", "已否决"


class Suggestion(Timestamped, Versioned, Base):
    __tablename__ = "suggestion"
    __gone_with__ = ("need",)  # and so with the need's firm (crm/queries.py)
    __table_args__ = (
        exactly_one("researcher_id", "achievement_id", "institution_id", name="one_candidate"),
        sa.CheckConstraint(
            "status <> 'rejected' OR reject_reason IS NOT NULL", name="rejection_has_reason"
        ),
        sa.UniqueConstraint("need_id", "researcher_id"),
        sa.UniqueConstraint("need_id", "achievement_id"),
        sa.UniqueConstraint("need_id", "institution_id"),
        # the priors read the rejected ones on every 生成匹配: a few among 100k suggestions
        sa.Index(
            "ix_suggestion_rejected",
            "reject_reason",
            "decided_at",
            sqlite_where=sa.text("status = 'rejected'"),
            postgresql_where=sa.text("status = 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("need.id", ondelete="CASCADE"), index=True)
    researcher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("researcher.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("achievement.id", ondelete="CASCADE"), index=True
    )
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(default=0.0)
    matched_terms: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # what the records said (同行业合作 +12% …), multiplied into `score`
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, default=list, server_default="[]"
    )
    # 语义相近: the candidate's sentence closest in meaning to the need, with its similarity
    # and field ({"sentence", "field", "similarity"}); None when matched on keywords alone
    semantic: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # scored by keywords and meaning fused (0–1.2, shown ×100) rather than keywords alone
    fused: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[SuggestionStatus] = enum_column(
        SuggestionStatus, "suggestion_status", default=SuggestionStatus.NEW
    )
    reject_reason: Mapped[str | None] = mapped_column(sa.String(40))
    reject_note: Mapped[str | None] = long_text(500)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    need: Mapped[Need] = relationship()
    researcher: Mapped[Researcher | None] = relationship()
    achievement: Mapped[Achievement | None] = relationship()
    institution: Mapped[Institution | None] = relationship()


class ThesaurusEntry(Timestamped, Versioned, Base):
    """One line of the industry thesaurus, kept by admins: how owners say it (`马达, 电动机`)
    → the terms experts use, each with a weight below 1 (`电机 0.8, 电动机 0.6`)."""

    __tablename__ = "thesaurus_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    spoken: Mapped[str] = mapped_column(sa.String(200))
    experts: Mapped[str] = mapped_column(sa.String(400))
    note: Mapped[str | None] = mapped_column(sa.String(200))

    @property
    def line(self) -> str:
        return f"{self.spoken} => {self.experts}"

    def __repr__(self) -> str:
        return f"<ThesaurusEntry {self.id} {self.line!r}>"


class RunStatus(Choice):
    RUNNING = "running", "运行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class MatchRun(Base):
    """One batch run of 生成匹配 for every open need, started from the web (or `--run`): its
    progress, kept current by the running process, is what the admin page shows."""

    __tablename__ = "match_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)  # last sign of life
    finished_at: Mapped[datetime | None]
    status: Mapped[RunStatus] = enum_column(
        RunStatus, "match_run_status", default=RunStatus.RUNNING
    )
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    refreshed: Mapped[int] = mapped_column(default=0)
    kept: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.String(500))

    started_by: Mapped[User | None] = relationship()

    @property
    def percent(self) -> int:
        return 100 if self.status == RunStatus.DONE else int(100 * self.done / max(self.total, 1))
