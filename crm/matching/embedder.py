"""The background embedder of a web process: a daemon thread that embeds records saved since
(`crm.matching.embeddings.embed_pending`), so a saved record gains its vector within a second or
two while the request that saved it returns at once.

One process at a time does the work: each batch runs under a lease (a row of
`index_version` holding a deadline, taken by a conditional UPDATE, so it works alike on SQLite
and PostgreSQL). A commit in this process wakes the thread at once; another process's commit
is seen at the next poll. The thread starts with the first request a worker serves, never in
gunicorn's master before the fork (OpenMP's threads do not survive a fork).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from crm.extensions import db
from crm.matching import embeddings
from crm.processes import start_command
from crm.text import embed
from crm.text.docs import COMMITTED, versions
from crm.text.models import IndexVersion

logger = logging.getLogger(__name__)

POLL = 2.0  # seconds between looks at other processes' commits
LEASE = 600  # seconds a batch may take before another process may take over (a crash)
BATCH = 64  # records per transaction: about 2–6 s of model time
BULK = 1000  # this many waiting (an import): handed to `crm embed`, with every core


def take_lease(connection: sa.Connection, held: int | None) -> int | None:
    """The lease's new deadline (ms) if this process may work now, else None."""
    now = int(time.time() * 1000)
    until = now + LEASE * 1000
    table = IndexVersion.__table__
    free = table.c.value < now
    if held is not None:
        free = sa.or_(free, table.c.value == held)
    taken = connection.execute(
        sa.update(table).where(table.c.name == "embed_lease", free).values(value=until)
    ).rowcount
    return until if taken else None


def release(connection: sa.Connection, held: int) -> None:
    table = IndexVersion.__table__
    connection.execute(
        sa.update(table).where(table.c.name == "embed_lease", table.c.value == held).values(value=0)
    )


class Embedder:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.pid: int | None = None
        self.seen_docs = -1  # the docs version after which nothing was pending

    def start(self) -> None:
        """Start the thread in this process (again after a fork)."""
        if self.pid == os.getpid():
            return
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="crm-embedder", daemon=True).start()

    def nudge(self, *_args: object) -> None:
        self.wake.set()

    def _run(self) -> None:
        with self.app.app_context():
            if not embed.available():
                logger.info("Embedder not started: %s", embed.unavailable())
                return
        while True:
            self.wake.wait(POLL)
            self.wake.clear()
            try:
                with self.app.app_context():
                    self._work()
            except Exception:  # the thread must outlive a bad batch; the next poll retries
                logger.exception("Embedder batch failed")
                time.sleep(POLL)

    def _work(self) -> None:
        docs = versions(db.session.connection()).get("docs", 0)
        db.session.commit()
        if docs == self.seen_docs:
            return
        pending = embeddings.pending_count(db.session.connection())
        db.session.commit()
        if pending >= BULK and not status().working:
            # an import's worth: a process of its own with every core, not this thread's one
            logger.info("%d records wait for vectors: starting `crm embed`", pending)
            launch()
            self.seen_docs = docs
            return
        if run(BATCH, once=True).looked is not None:
            self.seen_docs = docs


@dataclass
class Done:
    looked: int | None = None  # None: another process held the lease


def run(
    batch: int = BATCH,
    report: Callable[[embeddings.Embedded], None] | None = None,
    once: bool = False,
) -> Done:
    """Embed pending records batch after batch under the lease until none is left (the web
    thread and `crm embed` alike: two never work at once). `once`: give up at once when
    another process holds the lease (the thread); otherwise wait for it (the command)."""
    done, held = Done(), None
    try:
        while True:
            held = take_lease(db.session.connection(), held)
            db.session.commit()
            if held is None:
                if once:
                    return done
                time.sleep(POLL)
                continue
            try:
                step = embeddings.embed_pending(batch)
            except sa.exc.IntegrityError:  # a process whose lease ran out wrote them first
                db.session.rollback()
                logger.warning("Vectors written meanwhile by another process; going on")
                continue
            done.looked = (done.looked or 0) + step.looked
            if not step.looked:
                return done
            if report is not None:
                report(step)
            logger.info(
                "Embedded %d of %d pending records (%d sentences) in %.1f s",
                step.embedded,
                step.looked,
                step.sentences,
                step.seconds,
            )
    finally:
        db.session.rollback()
        if held is not None:
            release(db.session.connection(), held)
            db.session.commit()


def install(app: Flask) -> None:
    """Run the embedder in each process that serves requests (unless EMBEDDER is off)."""
    if not app.config["EMBEDDER"]:
        return
    embedder = Embedder(app)
    app.extensions["embedder"] = embedder
    COMMITTED.append(embedder.nudge)
    app.before_request(embedder.start)


@dataclass
class Status:
    """For the admin matching page: how far the records' vectors are."""

    unavailable: str | None  # why matching is keyword-only here
    model: str
    pending: int
    total: int
    working: bool  # a process holds the lease: vectors are being made now

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * (self.total - self.pending) / self.total)

    def as_dict(self) -> dict[str, object]:
        return {
            "unavailable": self.unavailable,
            "model": self.model,
            "pending": self.pending,
            "total": self.total,
            "done": self.total - self.pending,
            "percent": self.percent,
            "working": self.working,
        }


def status() -> Status:
    connection = db.session.connection()
    lease = connection.execute(
        sa.select(IndexVersion.value).where(IndexVersion.name == "embed_lease")
    ).scalar()
    return Status(
        embed.unavailable(),
        embed.MODEL,
        embeddings.pending_count(connection),
        embeddings.embeddable_count(connection),
        bool(lease and lease > time.time() * 1000),
    )


def launch() -> None:
    """`crm embed` in a process of its own (every core), its output in the instance folder."""
    log = Path(current_app.instance_path) / "embed.log"
    start_command(["embed"], log)
