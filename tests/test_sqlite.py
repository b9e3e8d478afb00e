"""SQLite done right: WAL, foreign keys, busy timeout, writes that begin IMMEDIATE."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm import _starts_write_transaction, create_app
from crm.extensions import db

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:multiprocessing")


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.sqlite3'}",
        }
    )
    with app.app_context():
        yield app
        db.engine.dispose()


def test_connection_pragmas(sqlite_app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_safe_requests_read_and_the_rest_may_write(sqlite_app):
    with sqlite_app.test_request_context("/", method="GET"):
        assert _starts_write_transaction() is False
    with sqlite_app.test_request_context("/", method="POST"):
        assert _starts_write_transaction() is True
    assert _starts_write_transaction() is True  # CLI, seed loaders, scripts


def _read_then_write(url: str, worker: int, rounds: int) -> None:
    """What a request does: read a value, think, then write based on it."""
    import time

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        for i in range(rounds):
            total = db.session.execute(sa.text("SELECT COUNT(*) FROM counter")).scalar()
            time.sleep(0.002)
            db.session.execute(
                sa.text("INSERT INTO counter (worker, seq, seen) VALUES (:w, :i, :s)"),
                {"w": worker, "i": i, "s": total},
            )
            db.session.commit()
        db.engine.dispose()


def test_concurrent_read_then_write_never_hits_database_is_locked(tmp_path: Path):
    """Without BEGIN IMMEDIATE two processes fail at once with "database is locked"."""
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("CREATE TABLE counter (worker INT, seq INT, seen INT)")
    workers, rounds = 4, 40
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_read_then_write, args=(url, w, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT seen FROM counter ORDER BY rowid").scalars().all()
    engine.dispose()
    assert len(rows) == workers * rounds
    # each transaction saw every earlier commit: the reads were serialised with the writes
    assert rows == list(range(workers * rounds))
