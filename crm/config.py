"""Configuration defaults and loading: defaults, then instance/config.py, then environment.

Nothing here reads the environment at import time; `load_config` is called by `create_app`.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

#: Every setting, its default and what it does. The README table is written from this.
DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",  # CRM_ENV_NAME: "production" turns on the production checks
    "SQLALCHEMY_DATABASE_URI": None,  # DATABASE_URL; default SQLite in instance/crm.sqlite3
    "SQLITE_BUSY_TIMEOUT_MS": 15000,  # CRM_SQLITE_BUSY_TIMEOUT_MS
    "SESSION_IDLE_MINUTES": 30,  # CRM_SESSION_IDLE_MINUTES: idle logout
    # login throttling (crm/auth/throttle.py): failures before the first wait …
    "LOGIN_PAIR_FAILURES": 5,  # … of one account from one address
    "LOGIN_MAX_FAILURES": 20,  # … of one account from addresses it never signed in from
    "LOGIN_MAX_FAILURES_PER_IP": 100,  # … from one address, on accounts never signed in there
    "LOGIN_MAX_DELAY_MINUTES": 15,  # waits double from 1 minute up to this
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,  # quiet this long (plus the longest wait): forgotten
    "API_MAX_BODY_KB": 256,  # CRM_API_MAX_BODY_KB: the largest JSON body the API reads
    "API_RATE_LIMIT": 600,  # CRM_API_RATE_LIMIT: requests per minute per API token
    "PASSWORD_MIN_LENGTH": 10,  # CRM_PASSWORD_MIN_LENGTH
    "STALE_VISIT_DAYS": 90,  # CRM_STALE_VISIT_DAYS: home page "not visited for N days"
    "PER_PAGE": 25,  # CRM_PER_PAGE: rows per page in lists
    "TRUSTED_PROXIES": 0,  # CRM_TRUSTED_PROXIES: number of proxies in front (ProxyFix)
    "LOG_LEVEL": "INFO",  # CRM_LOG_LEVEL
    "SESSION_COOKIE_SECURE": None,  # CRM_SESSION_COOKIE_SECURE; None = on in production only
    "TIMEZONE": "Asia/Shanghai",  # CRM_TIMEZONE: what "today" means for due dates and visits
    "IMPORT_MAX_MB": 10,  # CRM_IMPORT_MAX_MB: largest upload (a bigger one gets a 413 page)
    "IMPORT_MAX_ROWS": 200000,  # CRM_IMPORT_MAX_ROWS: a longer file is refused
    "IMPORT_WORKERS": 0,  # CRM_IMPORT_WORKERS: processes analysing text; 0 = one per core (≤ 4)
    "IMPORT_BACKGROUND_ROWS": 3000,  # CRM_IMPORT_BACKGROUND_ROWS: a longer upload runs as a job
    "IMPORT_JOB_DIR": None,  # CRM_IMPORT_JOB_DIR: import jobs' progress (instance/import-jobs)
    "DEDUP_THRESHOLD": 85,  # CRM_DEDUP_THRESHOLD: name similarity (0–100) listed as duplicates
    "ATTACHMENT_MAX_MB": 10,  # CRM_ATTACHMENT_MAX_MB: largest cooperation attachment (PDF/image)
    "ATTACHMENT_DIR": None,  # CRM_ATTACHMENT_DIR: where they are kept (instance/attachments)
    "REDIS_URL": None,  # CRM_REDIS_URL: count login failures in Redis (else in the database)
    "WORKERS": 1,  # CRM_WORKERS: gunicorn worker processes (gunicorn.conf.py reads it)
    "BACKUP_DIR": None,  # CRM_BACKUP_DIR: where `crm backup` writes; default instance/backups
    "PIPELINE_STALE_DAYS": 30,  # CRM_PIPELINE_STALE_DAYS: an open deal without activity is flagged
    "EMBEDDER": True,  # CRM_EMBEDDER: web processes give saved records their vectors (a thread)
}

PRODUCTION = "production"


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, instance/config.py and the environment (in that order)."""
    app.config.update(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        _apply_environment(app)
    else:
        app.config.update(test_config)

    if app.config.get("SQLALCHEMY_DATABASE_URI") is None:
        db_path = Path(app.instance_path) / "crm.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # a connection PostgreSQL has dropped (a restart, a failover) is noticed when taken from
        # the pool and replaced, rather than failing the next request on each worker
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("pool_pre_ping", True)

    production = app.config["ENV_NAME"] == PRODUCTION
    if not app.config.get("SECRET_KEY"):
        if production:
            raise RuntimeError(
                "SECRET_KEY is not set: a production configuration refuses to start without one."
            )
        app.config["SECRET_KEY"] = _local_secret_key(Path(app.instance_path))

    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = production
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        # the larger of the two upload limits, plus room for the form around the file
        MAX_CONTENT_LENGTH=(
            max(int(app.config["IMPORT_MAX_MB"]), int(app.config["ATTACHMENT_MAX_MB"])) + 1
        )
        * 1024
        * 1024,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"])),
        SESSION_REFRESH_EACH_REQUEST=True,
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )


def _apply_environment(app: Flask) -> None:
    """Environment wins: DATABASE_URL, SECRET_KEY and every CRM_* variable."""
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = key
    # CRM_FOO=30 -> FOO=30 (values parsed as JSON when they look like JSON)
    app.config.from_prefixed_env("CRM")


def normalise_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and always use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _local_secret_key(instance: Path) -> str:
    """Generate a key once for local use and keep it in instance/secret_key."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
