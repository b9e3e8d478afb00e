"""An import of a spreadsheet: who, what file, counts, row errors; revertable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, Choice, enum_column, utcnow


class ImportStatus(Choice):
    COMMITTED = "committed", "已导入"
    REVERTED = "reverted", "已撤销"


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # enterprises / researchers / …
    filename: Mapped[str] = mapped_column(sa.String(255))  # as uploaded, for display only
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ImportStatus] = enum_column(
        ImportStatus, "import_status", default=ImportStatus.COMMITTED
    )
    counts: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    row_errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    reverted_at: Mapped[datetime | None]
    reverted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )


class ImportUpload(Base):
    """A previewed file waiting for its 确认导入. Kept in the database rather than on one app
    server's disk, so the confirmation may land on any worker or machine; a confirmation takes
    (deletes) it in its own transaction, so two presses of 确认导入 import it once."""

    __tablename__ = "import_upload"

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))  # as uploaded, for display only
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LabelKind(Choice):
    TOWN = "town", "所属乡镇"
    INDUSTRY = "industry", "所属行业"


class LabelAlias(Base):
    """How a label officers write maps to a town or an industry (经济开发区 → 剡湖街道, 纺织 →
    领带服装), or that it is kept in the record's notes instead (`target_id` empty). Kept by
    admins; the importer reads it before its own guesses."""

    __tablename__ = "label_alias"
    __table_args__ = (sa.UniqueConstraint("kind", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LabelKind] = enum_column(LabelKind, "label_kind")
    label: Mapped[str] = mapped_column(sa.String(60))
    target_id: Mapped[int | None]  # town.id or industry.id; empty: keep the label in the notes
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportMapping(Base):
    """The column mapping an officer confirmed for a file with these headers, offered again for
    the next file with the same headers (the same office's list next month)."""

    __tablename__ = "import_mapping"
    __table_args__ = (sa.UniqueConstraint("kind", "signature"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    signature: Mapped[str] = mapped_column(sa.String(64))  # sha256 of the headers
    headers: Mapped[list[str]] = mapped_column(sa.JSON)
    mapping: Mapped[dict[str, str]] = mapped_column(sa.JSON)  # header → field key or ""
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobStatus(Choice):
    RUNNING = "running", "进行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class ImportJob(Base):
    """A big file's preview or import, run by a process of its own (`crm import-job ID`) while
    the officer's page polls its progress; they may leave and come back to it. The row holds
    the settings, then the outcome: the preview's report, or the committed batch."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(sa.String(32))  # the upload it reads
    #: set on a commit job only: a second 确认导入 of one upload cannot start a second job
    commit_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    dry_run: Mapped[bool] = mapped_column(default=True)
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[JobStatus] = enum_column(
        JobStatus, "import_job_status", default=JobStatus.RUNNING
    )
    stage: Mapped[str] = mapped_column(sa.String(40), default="排队")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("import_batch.id", ondelete="SET NULL")
    )
    message: Mapped[str | None] = mapped_column(sa.String(500))
