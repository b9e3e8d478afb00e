"""The audit hook: stamps created/updated user and writes AuditEntry rows on every flush.

Installed once on the Flask-SQLAlchemy session class, so every service, CLI command and seed
loader is audited the same way without calling anything. Rows are inserted on the flush's own
connection: they commit or roll back with the change they describe.
"""

from __future__ import annotations

import contextlib
import enum
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session, attributes

from crm.audit.models import AuditEntry
from crm.db import SORT_KEY, Base, SoftDeletable, Timestamped, utcnow
from crm.extensions import db

#: The user acting outside a request (CLI commands, seed loaders) and the import batch, if any.
_actor: ContextVar[int | None] = ContextVar("audit_actor", default=None)
_batch: ContextVar[int | None] = ContextVar("audit_batch", default=None)

IGNORED = frozenset(
    {"created_at", "updated_at", "created_by_id", "updated_by_id", "version", "deleted_by_id"}
)
REDACTED = frozenset({"password_hash"})


@functools.cache
def derived(table_name: str) -> frozenset[str]:
    """A table's columns kept in step with another (a name's pinyin sort key): a change of
    theirs is the other's, not one to show."""
    table = Base.metadata.tables.get(table_name)
    columns = table.columns if table is not None else ()
    return frozenset(c.name for c in columns if SORT_KEY in c.info)


@contextlib.contextmanager
def acting_as(user_id: int | None, import_batch_id: int | None = None) -> Iterator[None]:
    """Attribute changes made inside the block to a user (and an import batch)."""
    actor_token = _actor.set(user_id)
    batch_token = _batch.set(import_batch_id)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _batch.reset(batch_token)


def current_actor_id() -> int | None:
    if has_request_context():
        user = g.get("_login_user")  # loaded by Flask-Login earlier in the request
        if user is not None and getattr(user, "is_authenticated", False):
            return int(user.id)
    return _actor.get()


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _column_changes(obj: Any, *, new: bool) -> dict[str, list[Any]]:
    state = sa.inspect(obj)
    changes: dict[str, list[Any]] = {}
    skipped = derived(obj.__tablename__)
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED or key == "id" or key in skipped:
            continue
        hist = state.attrs[key].history
        if new:
            value = getattr(obj, key)
            if value is None:
                continue
            before, after = None, value
        elif hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
        else:
            continue
        if key in REDACTED:
            before, after = ("***" if before else None), "***"
        changes[key] = [jsonable(before), jsonable(after)]
    return changes


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    actor = current_actor_id()
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, Timestamped):
            obj.created_by_id = obj.created_by_id or actor
            obj.updated_by_id = obj.updated_by_id or actor
    for obj in session.dirty:
        if isinstance(obj, Timestamped) and session.is_modified(obj, include_collections=False):
            obj.updated_by_id = actor
            obj.updated_at = now
        if isinstance(obj, SoftDeletable):
            hist = attributes.get_history(obj, "deleted_at")
            if hist.added and hist.added[0] is not None:
                obj.deleted_by_id = actor


def _after_flush(session: Session, _context: Any) -> None:
    rows = []
    actor = current_actor_id()
    batch = _batch.get()
    now = utcnow()
    for action, objs in (("create", session.new), ("update", session.dirty)):
        for obj in objs:
            if not isinstance(obj, Timestamped):
                continue
            changes = _column_changes(obj, new=action == "create")
            if not changes:
                continue
            if "deleted_at" in changes and action == "update":
                action_name = "delete" if changes["deleted_at"][1] else "restore"
            else:
                action_name = action
            rows.append(_row(obj, action_name, changes, actor, batch, now))
    for obj in session.deleted:
        if isinstance(obj, Timestamped):
            rows.append(_row(obj, "purge", {}, actor, batch, now))
    if rows:
        session.connection().execute(sa.insert(AuditEntry.__table__), rows)


def _row(
    obj: Any, action: str, changes: dict[str, Any], actor: int | None, batch: int | None, now: Any
) -> dict[str, Any]:
    return {
        "at": now,
        "user_id": actor,
        "action": action,
        "table_name": obj.__tablename__,
        "record_id": obj.id,
        "changes": changes,
        "import_batch_id": batch,
        "ip": _client_ip(),
    }


def created_entries(
    table_name: str, records: list[tuple[int, dict[str, Any]]], batch: int | None
) -> list[dict[str, Any]]:
    """Entries for records inserted in bulk (imports), bypassing the ORM: same shape as the
    hook writes for a flushed new object."""
    actor, now, ip = current_actor_id(), utcnow(), _client_ip()
    skipped = IGNORED | derived(table_name)
    return [
        {
            "at": now,
            "user_id": actor,
            "action": "create",
            "table_name": table_name,
            "record_id": record_id,
            "changes": {
                k: [None, jsonable(v)]
                for k, v in values.items()
                if v is not None and k not in skipped and k != "id"
            },
            "import_batch_id": batch,
            "ip": ip,
        }
        for record_id, values in records
    ]


def current_batch_id() -> int | None:
    return _batch.get()


def _client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record_event(
    action: str, table: str, record_id: int, user_id: int | None, **changes: Any
) -> AuditEntry:
    """An entry for something that is not a field change (login, failed login, logout, export)."""
    entry = AuditEntry(
        action=action,
        table_name=table,
        record_id=record_id,
        user_id=user_id,
        changes={k: [None, jsonable(v)] for k, v in changes.items()},
        ip=_client_ip(),
    )
    db.session.add(entry)
    return entry


def install(session_class: type[Session]) -> None:
    """Attach the hooks to a session class (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)


def history(table: str, record_id: int, limit: int = 50) -> list[AuditEntry]:
    """The newest changes of one record."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.table_name == table, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def browse(table: str | None, action: str | None, user_id: int | None) -> sa.Select[Any]:
    """All entries, newest first, filtered (the admin's audit page)."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if table:
        stmt = stmt.where(AuditEntry.table_name == table)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if user_id:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    return stmt
