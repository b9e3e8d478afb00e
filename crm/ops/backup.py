"""`crm backup` and `crm restore`: a consistent copy of the live database, and back.

SQLite: the online backup API, page by page, while the app keeps running (a file copy of a
live WAL database can be torn). PostgreSQL: `pg_dump -Fc` and `pg_restore`. A restore gives
the database a new `epoch`, so no process reuses a matching index saved for the old one.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import sqlite3
import subprocess  # nosec B404
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from crm.extensions import db

logger = logging.getLogger(__name__)


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ValueError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _pg_url(url: sa.URL) -> str:
    """A libpq URL for pg_dump/pg_restore (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    """The full path of a PostgreSQL client program, or a clear error."""
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (apt install postgresql-client)")
    return found


def backup(app: Flask, target: Path) -> Path:
    url = sa.engine.make_url(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy, pages=1024)
            finally:
                copy.close()
        finally:
            source.close()
    elif url.get_backend_name() == "postgresql":
        subprocess.run(  # noqa: S603  # nosec B603
            [_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(partial), _pg_url(url)],
            check=True,
            capture_output=True,
        )
    else:
        raise ValueError(f"no backup for {url.get_backend_name()}")
    partial.replace(target)  # a half-written backup never carries the final name
    logger.info("Backup of %s written to %s", url.render_as_string(), target)
    return target


def restore(app: Flask, source: Path) -> None:
    """Replace the configured database's content with a backup's (the app's servers should
    be stopped), then give it a new epoch."""
    if not source.is_file():
        raise FileNotFoundError(source)
    url = sa.engine.make_url(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = backup_file.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise ValueError(f"the backup fails its integrity check: {check}")
            live = sqlite3.connect(_sqlite_path(url))
            try:
                backup_file.backup(live)
            finally:
                live.close()
        finally:
            backup_file.close()
    elif url.get_backend_name() == "postgresql":
        subprocess.run(  # noqa: S603  # nosec B603
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "-d",
                _pg_url(url),
                str(source),
            ],
            check=True,
            capture_output=True,
        )
    else:
        raise ValueError(f"no restore for {url.get_backend_name()}")
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE index_version SET value = :v WHERE name = 'epoch'"),
            {"v": secrets.randbits(48)},
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    logger.info("Database %s restored from %s", url.render_as_string(), source)
