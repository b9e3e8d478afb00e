"""The stored terms and docs, and the version counters that keep every worker in step.

Every transaction that writes docs (`write_docs`, `insert_term_rows`) or the thesaurus
(`changed`) takes the next value of that counter as it commits (`bump`, from the
`before_commit` hook installed here) and stamps its docs with it; a process that wrote every
doc of a version itself tells its listeners (`COMMITTED`: the matching indexes) after the
commit, so they take the docs in without reading them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.db import insert_rows
from crm.text.models import IndexVersion, MatchDoc, MatchVector, SearchTerm

#: Called after a commit with (docs version, [(kind, record_id, packed terms)]) when this
#: process wrote every doc of that version itself (the matching index takes them in at once).
COMMITTED: list[Callable[[int, list[tuple[str, int, str]]], None]] = []
OWN_DOCS = 1000  # more in one transaction: left to the database read
TERM_COLUMNS = ("kind", "record_id", "term", "weight")
#: The rows each counter stamps with its version as the transaction commits.
STAMPED = {"docs": MatchDoc.__table__, "vectors": MatchVector.__table__}
DOC_COLUMNS = ("kind", "record_id", "terms")


@dataclass
class Rows:
    """What new records add to the index: search rows and one packed doc each."""

    terms: list[tuple[Any, ...]]
    docs: list[tuple[Any, ...]]


def versions(connection: sa.Connection) -> dict[str, int]:
    """The counters (docs, thesaurus, epoch): three rows read by primary key."""
    table = IndexVersion.__table__
    return {name: int(value) for name, value in connection.execute(sa.select(table))}


def insert_term_rows(connection: sa.Connection, rows: Rows) -> None:
    """Rows of records that had none (new ones)."""
    insert_rows(connection, SearchTerm.__table__, rows.terms, columns=TERM_COLUMNS)
    insert_rows(connection, MatchDoc.__table__, rows.docs, columns=DOC_COLUMNS)
    changed(connection)
    connection.info["docs_unlisted"] = True  # many: workers read them from the database


def write_docs(connection: sa.Connection, docs: list[dict[str, Any]]) -> None:
    """Replace these records' packed docs (an empty one: the record is gone)."""
    table = MatchDoc.__table__
    for kind_name in {d["kind"] for d in docs}:
        ids = [d["record_id"] for d in docs if d["kind"] == kind_name]
        for start in range(0, len(ids), 1000):
            connection.execute(
                sa.delete(table).where(
                    table.c.kind == kind_name, table.c.record_id.in_(ids[start : start + 1000])
                )
            )
    if docs:
        connection.execute(sa.insert(table), docs)
        changed(connection)
        written = connection.info.setdefault("docs_written", [])
        if len(written) < OWN_DOCS:  # the committing process takes these in without a read
            written.extend((d["kind"], d["record_id"], d["terms"]) for d in docs)
        else:
            connection.info["docs_unlisted"] = True


def changed(connection: sa.Connection, counter: str = "docs") -> None:
    """Note that this transaction changed what a counter stands for (docs, thesaurus): its
    commit takes the counter's next version, so nobody sees a version before its content."""
    connection.info.setdefault("index_changed", set()).add(counter)


def bump(connection: sa.Connection, name: str = "docs") -> int:
    """The next version of a counter, in commit order (the row stays locked until commit);
    the docs written by this transaction are stamped with it."""
    table = IndexVersion.__table__
    connection.execute(sa.update(table).where(table.c.name == name).values(value=table.c.value + 1))
    value = int(
        connection.execute(sa.select(table.c.value).where(table.c.name == name)).scalar_one()
    )
    stamped = STAMPED.get(name)
    if stamped is not None:
        connection.execute(
            sa.update(stamped).where(stamped.c.version.is_(None)).values(version=value)
        )
    return value


def _before_commit(session: Session) -> None:
    """Stamp the docs this transaction wrote with the next version, last thing before the
    commit (so the counter's row is locked only for the commit itself)."""
    session.flush()  # commit flushes after this hook; the hook must see those writes
    if session.in_transaction():
        connection = session.connection()  # the one it wrote with (one database)
        written = connection.info.pop("docs_written", [])
        unlisted = connection.info.pop("docs_unlisted", False)
        for counter in sorted(connection.info.pop("index_changed", ())):
            version = bump(connection, counter)
            if counter == "docs" and not unlisted:
                session.info["docs_committing"] = (version, written)


def _after_commit(session: Session) -> None:
    """Tell this process's listeners (its matching indexes) what it has just committed."""
    committed = session.info.pop("docs_committing", None)
    if committed is not None:
        for listener in COMMITTED:
            listener(*committed)


def _after_soft_rollback(session: Session, _previous_transaction: Any) -> None:
    session.info.pop("docs_committing", None)


def _forget_changes(connection: sa.Connection) -> None:
    """A rolled-back transaction's docs are gone: nothing to stamp on the next commit."""
    for key in ("index_changed", "docs_written", "docs_unlisted"):
        connection.info.pop(key, None)


def install(session_class: type[Session]) -> None:
    """Stamp and announce committed docs (idempotent)."""
    if not event.contains(session_class, "before_commit", _before_commit):
        event.listen(session_class, "before_commit", _before_commit)
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
    if not event.contains(sa.Engine, "rollback", _forget_changes):
        event.listen(sa.Engine, "rollback", _forget_changes)
