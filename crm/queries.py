"""Lookups every area shares."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from crm.db import Base
from crm.errors import NotFound, ValidationError
from crm.extensions import db

M = TypeVar("M")
MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases


def find(model: type[M], record_id: int, *options: Any) -> M | None:
    """The row with this id, or None — also for an id no 32-bit column holds (not asked of the
    database, which would refuse the number)."""
    if not 0 < record_id <= MAX_ID:
        return None
    return db.session.get(model, record_id, options=options)


def is_gone(record: Any) -> bool:
    """Deleted, or belonging to something deleted: a record kind names in `__gone_with__` the
    relations whose deletion takes it along (a deleted firm's needs and visits, and their
    suggestions). The web, the API and the lists all ask this — or `live()` in SQL."""
    if getattr(record, "deleted_at", None) is not None:
        return True
    return any(
        (parent := getattr(record, name)) is not None and is_gone(parent)
        for name in getattr(type(record), "__gone_with__", ())
    )


def live(model: Any) -> Any:
    """SQL: the rows of `model` that are not gone (see `is_gone`)."""
    conditions = []
    if hasattr(model, "deleted_at"):
        conditions.append(model.deleted_at.is_(None))
    for name in getattr(model, "__gone_with__", ()):
        relation = getattr(model, name)
        parent = relation.property.mapper.class_
        (column,) = relation.property.local_columns
        alive = relation.has(live(parent))
        # an optional parent (an attachment's cooperation *or* project): none is not gone
        conditions.append(sa.or_(column.is_(None), alive) if column.nullable else alive)
    return sa.and_(sa.true(), *conditions)


def touch_gone_with(record: Any, now: Any) -> None:
    """A record was deleted or restored: what goes (or comes back) with it changed too, for
    whoever syncs by `updated_at` — stamp it, and what goes with that, in one UPDATE a kind."""
    _touch(type(record), sa.select(type(record).id).where(type(record).id == record.id), now)


def _touch(model: Any, ids: Any, now: Any) -> None:
    for mapper in Base.registry.mappers:
        kind = mapper.class_
        for name in getattr(kind, "__gone_with__", ()):
            relation = getattr(kind, name).property
            if relation.mapper.class_ is not model:
                continue
            (column,) = relation.local_columns
            db.session.execute(
                sa.update(kind)
                .where(column.in_(ids))
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )
            _touch(kind, sa.select(kind.id).where(column.in_(ids)), now)


def get_live(model: type[M], record_id: int, *options: Any, message: str | None = None) -> M:
    """A record that exists and is not gone (`is_gone`), or NotFound (404) in Chinese."""
    record = find(model, record_id, *options)
    if record is None or is_gone(record):
        raise NotFound(message or "记录不存在或已被删除。")
    return record


def reference(
    model: type[M], record_id: int | None, current: int | None, *, field: str, what: str
) -> int | None:
    """A reference a save sets: a new one must be to a live record (else a ValidationError on
    `field`); the one the record already has is kept as it is, even if that record has since
    been deleted — a save never unlinks what the user did not touch."""
    if record_id is None or record_id == current:
        return record_id
    record = find(model, record_id)
    if record is None or getattr(record, "deleted_at", None) is not None:
        raise ValidationError(f"所选{what}不存在或已被删除。", field=field)
    return record_id
