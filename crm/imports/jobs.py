"""Big files in the web: the preview or the import runs as a job in a process of its own.

A file of more than IMPORT_BACKGROUND_ROWS rows would hold a request (and a worker) for tens
of seconds, and a phone on a yard's network would give up on it. Such a file becomes an
`ImportJob`; `launch` starts `crm import-job ID` (a process in a session of its own, as batch
matching does, so a worker restart does not stop it), which runs the ordinary
`services.run_import` and writes its progress as it goes; the page polls `state`.

Progress cannot be committed inside the import's own transaction (it would be imported, or
undone, with the data), so it is published beside it: to a small JSON file in the instance
folder (read by the web on the same machine) and, on PostgreSQL, through a connection of its
own to the job's row as well (read by any app server). SQLite allows one writer at a time, so
there the file alone carries it until the import commits. A job whose progress has not moved
for STALE was stopped (its process killed): it is shown as interrupted, and since the import is
one transaction, nothing of it was written.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.imports import reader, services
from crm.imports.mappings import remember_mapping
from crm.imports.models import ImportJob, ImportUpload, JobStatus
from crm.imports.outcome import Options, options_from_json, options_json
from crm.imports.table import ImportFileError
from crm.imports.uploads import take_upload
from crm.processes import start_command

logger = logging.getLogger(__name__)
STALE = timedelta(minutes=5)
EVERY = 500  # rows between progress reports


def is_big(path: Path) -> bool:
    return reader.estimate_rows(path) > int(current_app.config["IMPORT_BACKGROUND_ROWS"])


def start(user: User, token: str, filename: str, options: Options, dry_run: bool) -> ImportJob:
    """A new job for a kept upload; the caller commits, then `launch`es it. A second commit
    job for one upload is refused by the database (`commit_token` is unique)."""
    job = ImportJob(
        user_id=user.id,
        token=token,
        commit_token=None if dry_run else token,
        filename=filename[:255],
        dry_run=dry_run,
        options=options_json(options),
        stage="排队",
    )
    db.session.add(job)
    db.session.flush()
    return job


def launch(job: ImportJob) -> None:
    """Start the job's process for a committed job row (`crm import-job ID`)."""
    folder = _folder()
    week_ago = time.time() - 7 * 24 * 3600
    for old in folder.glob("*.log"):  # a job's log is kept a week
        if old.stat().st_mtime < week_ago:
            old.unlink(missing_ok=True)
    start_command(
        ["import-job", str(job.id)], folder / f"{job.id}.log", CRM_IMPORT_JOB_DIR=str(folder)
    )


def execute(job_id: int) -> None:
    """The job's work, in its own process: the import (or its preview), then its outcome."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != JobStatus.RUNNING:
        return
    user = db.session.get(User, job.user_id)
    options = options_from_json(job.options)
    upload = db.session.get(ImportUpload, job.token)
    if user is None or upload is None:
        return _fail(job_id, "这份上传已失效或已经导入，请重新上传文件。")
    filename, body = upload.filename, upload.body
    dry_run, token = job.dry_run, job.token
    db.session.rollback()  # the import runs in a transaction of its own
    path = _folder() / f"{job_id}.upload"
    try:
        path.write_bytes(body)
        publish(job_id, "读取并核对", 0, reader.estimate_rows(path))
        if not dry_run and take_upload(user, token) is None:
            db.session.rollback()
            return _fail(job_id, "这份上传已失效或已经导入，请重新上传文件。")
        report = services.run_import(
            user,
            path,
            filename,
            options,
            dry_run=dry_run,
            progress=lambda rows: publish(job_id, "读取并核对", rows, None),
            progress_every=EVERY,
            stage=lambda stage: publish(job_id, stage, None, None),
        )
        if dry_run:
            db.session.rollback()
        else:
            publish(job_id, "提交", None, None)
            db.session.commit()
            remember_mapping(user, report.kind, report.headers, report.matches)
    except ImportFileError as exc:
        db.session.rollback()
        return _fail(job_id, exc.message)
    except Exception:
        db.session.rollback()
        logger.exception("Import job %s failed", job_id)
        return _fail(job_id, "导入中途出错，没有写入任何数据；详情见服务器日志。")
    finally:
        path.unlink(missing_ok=True)
    _end(
        job_id,
        status=JobStatus.DONE,
        stage="完成",
        rows_done=report.rows,
        rows_total=report.rows,
        report=report.to_json(),
        batch_id=None if dry_run else report.batch_id,
    )
    logger.info("Import job %s done: %s", job_id, report.counts)


def _fail(job_id: int, message: str) -> None:
    """The job's end when it fails. Nothing of the import was written (one transaction), so
    the upload is still there: its commit token is released for another 确认导入."""
    _end(job_id, status=JobStatus.FAILED, message=message[:500], commit_token=None)


def _end(job_id: int, **values: Any) -> None:
    """The job row's outcome, committed; its progress file goes."""
    now = utcnow()
    db.session.execute(
        sa.update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(finished_at=now, heartbeat_at=now, **values)
    )
    db.session.commit()
    _progress_file(job_id).unlink(missing_ok=True)


def publish(job_id: int, stage: str, done: int | None, total: int | None) -> None:
    """Progress, outside the import's transaction (see the module's docstring)."""
    state = _read_file(job_id)
    state.update({"stage": stage, "at": utcnow().isoformat()})
    if done is not None:
        state["done"] = done
    if total is not None:
        state["total"] = total
    target = _progress_file(job_id)
    scratch = target.with_suffix(".tmp")
    scratch.write_text(json.dumps(state), encoding="utf-8")
    scratch.replace(target)
    if db.engine.dialect.name != "sqlite":
        with db.engine.begin() as connection:  # its own transaction, committed at once
            connection.execute(
                sa.update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    stage=stage,
                    rows_done=state.get("done", 0),
                    rows_total=state.get("total", 0),
                    heartbeat_at=utcnow(),
                )
            )


def state(job: ImportJob) -> dict[str, Any]:
    """What the page shows and polls: stage, rows done of about how many, whether it stopped."""
    stage, done, total, at = job.stage, job.rows_done, job.rows_total, job.heartbeat_at
    if job.status == JobStatus.RUNNING:
        found = _read_file(job.id)
        if found:
            stage, done, total = (
                found.get("stage", stage),
                found.get("done", done),
                found.get("total", total),
            )
            at = datetime.fromisoformat(found["at"])
    status, label, message = job.status.value, job.status.label, job.message
    if job.status == JobStatus.RUNNING and _aware(at) < utcnow() - STALE:
        status, label = "failed", "中断"
        message = "导入进程已停止（服务器重启或被中止），没有写入任何数据，请重新上传。"
    total = max(total, done, 1)
    percent = 100 if job.status == JobStatus.DONE else min(99, int(100 * done / total))
    return {
        "id": job.id,
        "status": status,
        "label": label,
        "stage": stage,
        "done": done,
        "total": total,
        "percent": percent,
        "message": message,
    }


def recent(user: User, limit: int = 5) -> list[ImportJob]:
    return list(
        db.session.scalars(
            sa.select(ImportJob)
            .where(ImportJob.user_id == user.id)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _folder() -> Path:
    configured = current_app.config.get("IMPORT_JOB_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "import-jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _progress_file(job_id: int) -> Path:
    return _folder() / f"{job_id}.json"


def _read_file(job_id: int) -> dict[str, Any]:
    try:
        return json.loads(_progress_file(job_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
