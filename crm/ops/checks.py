"""`crm check --deploy`: what a production configuration must not have, each finding named
(like Django's `check --deploy`). Run it before starting the servers; it exits non-zero
when it finds anything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from crm.config import PRODUCTION

#: secrets people paste from examples and tests (compared without case)
KNOWN_SECRETS = {"dev", "secret", "changeme", "change-me", "test-secret-key-not-for-production"}
MIN_SECRET = 32


@dataclass(frozen=True)
class Finding:
    code: str
    message: str  # what is wrong and what to do, for the one deploying

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


def backup_dir(app: Flask) -> Path:
    configured = app.config.get("BACKUP_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "backups"


def deploy(app: Flask) -> list[Finding]:
    findings = []
    config = app.config
    if config["ENV_NAME"] != PRODUCTION:
        findings.append(
            Finding("crm.W001", f"CRM_ENV_NAME is {config['ENV_NAME']!r}, not 'production'.")
        )
    if app.debug or os.environ.get("FLASK_DEBUG", "").lower() in {"1", "true", "yes"}:
        findings.append(Finding("crm.E001", "DEBUG is on: the debugger runs code for anyone."))
    secret = str(config.get("SECRET_KEY") or "")
    if len(secret) < MIN_SECRET or secret.lower() in KNOWN_SECRETS or len(set(secret)) < 8:
        findings.append(
            Finding(
                "crm.E002",
                f"SECRET_KEY is short, a known example or repetitive (want >= {MIN_SECRET} "
                "random characters: python3 -c 'import secrets; print(secrets.token_hex(32))').",
            )
        )
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if not config.get(name):
            findings.append(Finding("crm.E003", f"{name} is off: cookies would travel over HTTP."))
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        findings.append(Finding("crm.E003", "SESSION_COOKIE_HTTPONLY is off."))
    database = str(config["SQLALCHEMY_DATABASE_URI"])
    if database.startswith("sqlite") and int(config.get("WORKERS") or 1) > 1:
        findings.append(
            Finding(
                "crm.E004",
                f"SQLite with CRM_WORKERS={config['WORKERS']}: several workers need PostgreSQL "
                "(DATABASE_URL=postgresql://…), or run one worker.",
            )
        )
    folder = backup_dir(app)
    if not folder.is_dir():
        findings.append(Finding("crm.E005", f"The backups folder {folder} does not exist."))
    elif not os.access(folder, os.W_OK):
        findings.append(Finding("crm.E005", f"The backups folder {folder} is not writable."))
    return findings
