"""Batch matching started from the web: a `crm match --all --run ID` process of its own (a
100k-need batch outlives any request), whose progress the admin page polls.

The run row is the only link: the process writes its progress there after each committed chunk
(with a heartbeat), and its end — done with the counts, or failed with the reason. A run whose
heartbeat is older than `STALE` (the process was killed) no longer blocks a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from crm import policy
from crm.auth.models import User
from crm.db import utcnow
from crm.errors import ValidationError
from crm.extensions import db
from crm.matching import batch
from crm.matching.models import MatchRun, RunStatus
from crm.matching.suggestions import Generated
from crm.needs.models import Need, NeedStatus
from crm.processes import start_command

logger = logging.getLogger(__name__)
STALE = timedelta(minutes=10)


def latest(limit: int = 10) -> list[MatchRun]:
    return list(db.session.scalars(sa.select(MatchRun).order_by(MatchRun.id.desc()).limit(limit)))


def running() -> MatchRun | None:
    """The run still going (its process showed life lately), if any."""
    return db.session.scalars(
        sa.select(MatchRun)
        .where(MatchRun.status == RunStatus.RUNNING, MatchRun.heartbeat_at >= utcnow() - STALE)
        .order_by(MatchRun.id.desc())
        .limit(1)
    ).first()


def start(user: User) -> MatchRun:
    """A new run (admins), unless one is going; the caller commits, then `launch`es it."""
    policy.authorize(policy.is_admin(user), "只有管理员可以启动批量匹配。")
    if (going := running()) is not None:
        raise ValidationError(
            f"已有一次批量匹配正在运行（{going.done}/{going.total}），请等它完成。"
        )
    total = db.session.scalar(
        sa.select(sa.func.count(Need.id)).where(
            Need.status == NeedStatus.OPEN, Need.deleted_at.is_(None)
        )
    )
    run = MatchRun(started_by_id=user.id, total=total or 0)
    db.session.add(run)
    db.session.flush()
    logger.info("Match run %s started by %s for %s open needs", run.id, user.username, total)
    return run


def launch(run: MatchRun, user: User) -> None:
    """Start the process for a committed run; its output goes to a log in the instance
    folder. It runs in a session of its own, so a worker restart does not stop it."""
    log = Path(current_app.instance_path) / f"match-run-{run.id}.log"
    start_command(["match", "--all", "--user", user.username, "--run", str(run.id)], log)


def execute(
    run_id: int, user: User, top: int, advance: Callable[[int, int], None] | None = None
) -> Generated:
    """The run's work (in its own process): the batch, its progress and its end written to
    the run row; a failure is recorded with its reason, then raised."""

    def report(done: int, total: int) -> None:
        progress(run_id, done, total)
        if advance is not None:
            advance(done, total)

    try:
        result = batch.generate_all(user, top, report)
    except Exception as exc:
        logger.exception("Match run %s failed", run_id)
        fail(run_id, getattr(exc, "message", None) or "批量匹配中途出错，详情见日志。")
        raise
    finish(run_id, result)
    return result


def progress(run_id: int, done: int, total: int) -> None:
    """After each committed chunk: how far, and a heartbeat."""
    db.session.execute(
        sa.update(MatchRun)
        .where(MatchRun.id == run_id)
        .values(done=done, total=total, heartbeat_at=utcnow())
    )
    db.session.commit()


def finish(run_id: int, result: Generated) -> None:
    now = utcnow()
    db.session.execute(
        sa.update(MatchRun)
        .where(MatchRun.id == run_id)
        .values(
            status=RunStatus.DONE,
            finished_at=now,
            heartbeat_at=now,
            added=result.added,
            refreshed=result.refreshed,
            kept=result.kept,
        )
    )
    db.session.commit()


def fail(run_id: int, message: str) -> None:
    db.session.rollback()
    now = utcnow()
    db.session.execute(
        sa.update(MatchRun)
        .where(MatchRun.id == run_id)
        .values(status=RunStatus.FAILED, finished_at=now, heartbeat_at=now, message=message[:500])
    )
    db.session.commit()
