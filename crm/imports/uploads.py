"""An uploaded file kept between its preview and its confirmation (a day at most), for the user
who uploaded it only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import ImportUpload


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


UPLOAD_TTL = timedelta(hours=24)  # a preview not confirmed within a day is dropped


def keep_upload(user: User, filename: str, body: bytes) -> str:
    """Keep a previewed file for its confirmation; returns the token the form carries.
    Uploads older than UPLOAD_TTL go in the same transaction."""
    db.session.execute(
        sa.delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_TTL)
    )
    token = secrets.token_hex(16)
    db.session.add(ImportUpload(token=token, user_id=user.id, filename=filename, body=body))
    return token


def peek_upload(user: User, token: str) -> tuple[str, bytes] | None:
    """The user's kept upload (name, bytes), left in place (a preview with other settings)."""
    row = db.session.execute(
        sa.select(ImportUpload.filename, ImportUpload.body).where(
            ImportUpload.token == token,
            ImportUpload.user_id == user.id,
            ImportUpload.created_at >= utcnow() - UPLOAD_TTL,
        )
    ).first()
    return (row.filename, row.body) if row else None


def take_upload(user: User, token: str) -> tuple[str, bytes] | None:
    """The user's previewed file (name, bytes), removed in the caller's transaction: of two
    confirmations at once, one gets it and the other None (the row is deleted, not read)."""
    row = db.session.execute(
        sa.delete(ImportUpload)
        .where(
            ImportUpload.token == token,
            ImportUpload.user_id == user.id,
            ImportUpload.created_at >= utcnow() - UPLOAD_TTL,
        )
        .returning(ImportUpload.filename, ImportUpload.body)
    ).first()
    return (row.filename, row.body) if row else None
