"""Lookups every area shares."""

from __future__ import annotations

from typing import Any, TypeVar

from crm.errors import NotFound
from crm.extensions import db

M = TypeVar("M")


def get_live(model: type[M], record_id: int, *options: Any, message: str | None = None) -> M:
    """A record that exists and is not soft-deleted, or NotFound (404) with a Chinese message."""
    record = db.session.get(model, record_id, options=options)
    if record is None or getattr(record, "deleted_at", None) is not None:
        raise NotFound(message or "记录不存在或已被删除。")
    return record
