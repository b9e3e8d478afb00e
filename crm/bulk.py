"""Creating many records fast, with the same audit trail and search terms as one at a time.

The ORM with its flush hooks costs about 150 µs a record before any text is analysed; an
import of 100,000 researchers cannot afford that. New records are inserted with Core in
chunks; each chunk's audit entries are built the way the hook builds them, and its text is
analysed in worker processes (`crm.workers.AnalysisPool`) while the next chunk is read,
then its terms are written to the search index.
Everything stays in the caller's transaction: a failure anywhere leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.db import insert_rows, utcnow, with_sort_keys
from crm.extensions import db
from crm.search import index
from crm.text.docs import insert_term_rows, write_docs
from crm.text.models import SearchTerm
from crm.workers import AnalysisPool

logger = logging.getLogger(__name__)

CHUNK = 2000


class Creator:
    """Collects new records of one model; `flush` inserts them and returns nothing until
    `finish` has written every chunk's search terms."""

    def __init__(self, model: type, pool: AnalysisPool) -> None:
        self.model = model
        self.table: sa.Table = model.__table__  # type: ignore[attr-defined]
        self.kind = index.BY_MODEL.get(model)
        self.pool = pool
        self.rows: list[dict[str, Any]] = []
        self.callbacks: list[Callable[[int], None] | None] = []
        self.pending: list[Any] = []
        self.created = 0

    def add(self, values: dict[str, Any], then: Callable[[int], None] | None = None) -> None:
        """A new record; `then(id)` runs once it has its id (to add its contacts, say)."""
        self.rows.append(values)
        self.callbacks.append(then)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        rows, callbacks = self.rows, self.callbacks
        self.rows, self.callbacks = [], []
        now, actor = utcnow(), audit.current_actor_id()
        for row in rows:
            row.update(created_at=now, updated_at=now, created_by_id=actor, updated_by_id=actor)
        connection = db.session.connection()
        ids = _insert_returning_ids(connection, self.table, rows)
        entries = audit.created_entries(
            self.table.name, list(zip(ids, rows, strict=True)), audit.current_batch_id()
        )
        if connection.dialect.name == "postgresql":
            for entry in entries:
                entry["changes"] = json.dumps(entry["changes"], ensure_ascii=False)
            insert_rows(connection, AuditEntry.__table__, entries)
        else:
            connection.execute(sa.insert(AuditEntry.__table__), entries)
        if self.kind is not None:
            self.pending.append(self.pool.submit(self.kind.name, ids, rows))
        for record_id, then in zip(ids, callbacks, strict=True):
            if then is not None:
                then(record_id)
        self.created += len(ids)
        self._write_terms(wait=False)  # what the workers have finished, while they go on

    def _write_terms(self, wait: bool) -> None:
        connection = db.session.connection()
        while self.pending and (wait or self.pool.ready(self.pending[0])):
            insert_term_rows(connection, self.pool.result(self.pending.pop(0)))

    def finish(self) -> None:
        """Insert what is left and write the search terms of everything created."""
        self.flush()
        self._write_terms(wait=True)


@contextlib.contextmanager
def big_cache(connection: sa.Connection) -> Iterator[None]:
    """SQLite: a 256 MB page cache while index rows go in (the default 2 MB makes every
    insert into the term index a disk read)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _insert_returning_ids(
    connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert rows and return their new ids, in order.

    PostgreSQL: ids drawn from the table's sequence up front, then one COPY (an INSERT …
    RETURNING of 2,000 rows costs more in building the statement than in running it).
    Elsewhere: INSERT … RETURNING in the rows' order.
    """
    rows = with_sort_keys(table, rows)
    if connection.dialect.name == "sqlite":
        # ids given up front: INSERT … RETURNING in parameter order runs one row at a time on
        # SQLite. This transaction holds the write lock (BEGIN IMMEDIATE), so nobody else can
        # take these ids; a deferred one would fail to upgrade its lock, never clash silently.
        first = int(connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        connection.execute(
            sa.insert(table), [{**row, "id": i} for i, row in zip(ids, rows, strict=True)]
        )
        return ids
    if connection.dialect.name != "postgresql":
        return list(
            connection.execute(
                sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
    sequence = connection.execute(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
    ).scalar_one()
    ids = list(
        connection.execute(
            sa.text("SELECT nextval(:seq) FROM generate_series(1, :n)"),
            {"seq": sequence, "n": len(rows)},
        ).scalars()
    )
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and c.default.is_scalar
    }
    full = [{**defaults, **row, "id": record_id} for record_id, row in zip(ids, rows, strict=True)]
    insert_rows(connection, table, full)  # COPY runs no column defaults: they are filled above
    return ids


def insert_links(table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Rows of an association table (enterprise ↔ industry)."""
    insert_rows(db.session.connection(), table, rows)


def remove_created(model: type, ids: list[int]) -> int:
    """Move records an import created to the recycle bin, in bulk; their audit entries and
    search terms follow. Returns how many were still there to remove."""
    db.session.flush()  # pending ORM changes first: the expiry at the end would drop them
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    connection = db.session.connection()
    kind = index.BY_MODEL.get(model)
    now, actor, done = utcnow(), audit.current_actor_id(), 0
    for start in range(0, len(ids), 1000):
        live = list(
            connection.execute(
                sa.select(table.c.id).where(
                    table.c.id.in_(ids[start : start + 1000]), table.c.deleted_at.is_(None)
                )
            ).scalars()
        )
        if not live:
            continue
        connection.execute(
            sa.update(table)
            .where(table.c.id.in_(live))
            .values(deleted_at=now, deleted_by_id=actor, version=table.c.version + 1)
        )
        connection.execute(
            sa.insert(AuditEntry.__table__),
            [
                {
                    "at": now,
                    "user_id": actor,
                    "action": "delete",
                    "table_name": table.name,
                    "record_id": i,
                    "changes": {"deleted_at": [None, now.isoformat()]},
                    "import_batch_id": None,
                    "ip": None,
                }
                for i in live
            ],
        )
        if kind is not None:
            terms = SearchTerm.__table__
            connection.execute(
                sa.delete(terms).where(terms.c.kind == kind.name, terms.c.record_id.in_(live))
            )
            write_docs(connection, [{"kind": kind.name, "record_id": i, "terms": ""} for i in live])
        done += len(live)
    db.session.expire_all()  # rows changed under the ORM
    return done
