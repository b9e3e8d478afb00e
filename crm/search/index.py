"""Keeping the search index in step with the records, inside the same transaction.

A flush hook (like the audit hook) re-indexes every searchable record that was created or
changed, and drops deleted and soft-deleted ones, on the flush's own connection. Tokens are
computed once, at write time; searching never re-tokenises records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.db import insert_rows
from crm.enterprises.models import Enterprise, EnterpriseAlias
from crm.institutions.models import Achievement, Institution, InstitutionAlias, Researcher
from crm.matching.text import core_name, get_analyzer, normalise, pinyin_syllables
from crm.needs.models import Need
from crm.search.models import IndexVersion, MatchDoc, SearchTerm

NAME, STRONG, NORMAL, WEAK = 3.0, 2.0, 1.0, 0.5
MAX_TERM = 64
#: Called after a commit with (docs version, [(kind, record_id, packed terms)]) when this
#: process wrote every doc of that version itself (the matching index takes them in at once).
COMMITTED: list[Callable[[int, list[tuple[str, int, str]]], None]] = []
OWN_DOCS = 1000  # more in one transaction: left to the database read
PINYIN = ("py:", "pyi:")  # search keys, not words: never matched on
# packed terms: weight GROUP_MARK terms joined by TERM_MARK, groups joined by GROUP_END
GROUP_END, GROUP_MARK, TERM_MARK = "\x1e", "\x1d", "\x1f"
_NO_MARKS = str.maketrans("", "", "\x1c\x1d\x1e\x1f")


@dataclass(frozen=True)
class Kind:
    """How one kind of record is indexed and shown."""

    name: str  # the `kind` stored in the index
    label: str  # shown in results
    model: type
    title: Callable[[Any], str]
    fields: Callable[[Any], Iterable[tuple[str | None, float]]]
    named: bool  # index the title as a name: whole, pinyin and initials
    endpoint: str  # the detail page
    id_arg: str = "record_id"  # its URL argument


def _enterprise_fields(ent: Enterprise) -> Iterable[tuple[str | None, float]]:
    yield ent.name, NAME
    for alias in getattr(ent, "aliases", ()):  # former names: 曾用名, kept by a merge
        yield alias.alias, NAME
    yield ent.uscc, NAME
    yield ent.main_products, NORMAL
    yield ent.notes, WEAK


def _institution_fields(inst: Institution) -> Iterable[tuple[str | None, float]]:
    yield inst.name, NAME
    for alias in inst.aliases:
        yield alias.alias, NAME
    yield inst.region, WEAK
    yield inst.description, WEAK


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "enterprise",
            "企业",
            Enterprise,
            lambda e: e.name,
            _enterprise_fields,
            named=True,
            endpoint="enterprises.detail",
            id_arg="enterprise_id",
        ),
        Kind(
            "institution",
            "高校院所",
            Institution,
            lambda i: i.name,
            _institution_fields,
            named=True,
            endpoint="records.institution",
        ),
        Kind(
            "researcher",
            "专家",
            Researcher,
            lambda r: r.name,
            lambda r: [
                (r.name, NAME),
                (r.research_directions, STRONG),
                (r.team, NORMAL),
                (r.title, WEAK),
                (r.bio, WEAK),
            ],
            named=True,
            endpoint="records.researcher",
        ),
        Kind(
            "need",
            "技术需求",
            Need,
            lambda n: n.title,
            lambda n: [(n.title, STRONG), (n.description, NORMAL)],
            named=False,
            endpoint="needs.detail",
        ),
        Kind(
            "achievement",
            "科技成果",
            Achievement,
            lambda a: a.title,
            lambda a: [(a.title, STRONG), (a.description, NORMAL)],
            named=False,
            endpoint="records.achievement",
        ),
    )
}
BY_MODEL = {k.model: k for k in KINDS.values()}


def name_terms(name: str | None) -> set[str]:
    """A name as a whole, its core, and the core's pinyin (full and initials)."""
    if not name:
        return set()
    return set(_name_terms(name))


@functools.lru_cache(maxsize=65536)
def _name_terms(name: str) -> frozenset[str]:
    whole, core = normalise(name), core_name(name)
    syllables = pinyin_syllables(core)
    terms = {whole, core, "py:" + "".join(syllables), "pyi:" + "".join(s[:1] for s in syllables)}
    return frozenset(t[:MAX_TERM] for t in terms if t and t not in ("py:", "pyi:"))


def terms_of(kind: Kind, record: Any) -> dict[str, float]:
    """Every term of a record with the highest weight any of its fields gives it."""
    analyzer = get_analyzer()
    weights: dict[str, float] = {}

    def add(term: str, weight: float) -> None:
        term = term[:MAX_TERM]
        if weights.get(term, 0.0) < weight:
            weights[term] = weight

    for text, weight in kind.fields(record):
        for token in analyzer.tokens(text):
            add(token, weight)
        if weight >= NAME:
            for term in name_terms(text) if kind.named else {normalise(text)}:
                add(term, weight)
    return weights


def analyse(kind_name: str, records: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Terms of records given as plain field values (an import's new rows). A top-level
    function, so an import can run it in worker processes."""
    kind = KINDS[kind_name]
    out = []
    for values in records:
        record = SimpleNamespace(**values)
        record.aliases = [SimpleNamespace(alias=a) for a in values.get("aliases", ())]
        out.append(terms_of(kind, record))
    return out


def pack(terms: dict[str, float]) -> str:
    """A record's terms in one string, grouped by weight (pinyin keys left out): what the
    matching index reads instead of one row per term."""
    groups: dict[float, list[str]] = {}
    for term, weight in terms.items():
        if not term.startswith(PINYIN) and (clean := term.translate(_NO_MARKS)):
            groups.setdefault(weight, []).append(clean)
    return GROUP_END.join(
        f"{weight:g}{GROUP_MARK}{TERM_MARK.join(words)}" for weight, words in groups.items()
    )


def unpack(packed: str) -> Iterable[tuple[float, list[str]]]:
    """(weight, terms) groups of a packed string; nothing for a deleted record."""
    if not packed:
        return
    for group in packed.split(GROUP_END):
        weight, _, words = group.partition(GROUP_MARK)
        yield float(weight), words.split(TERM_MARK)


TERM_COLUMNS = ("kind", "record_id", "term", "weight")
DOC_COLUMNS = ("kind", "record_id", "terms")


@dataclass
class Rows:
    """What new records add to the index: search rows and one packed doc each."""

    terms: list[tuple[Any, ...]]
    docs: list[tuple[Any, ...]]


def term_rows(kind_name: str, ids: list[int], records: list[dict[str, Any]]) -> Rows:
    """Index rows of new records (an import's), search rows in the postings index's order,
    which makes inserting them a third faster. Top-level, so worker processes build them."""
    rows, docs = [], []
    for record_id, terms in zip(ids, analyse(kind_name, records), strict=True):
        rows.extend((kind_name, record_id, term, weight) for term, weight in terms.items())
        docs.append((kind_name, record_id, pack(terms)))
    rows.sort(key=lambda row: row[2])
    return Rows(rows, docs)


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
    if name == "docs":
        docs = MatchDoc.__table__
        connection.execute(sa.update(docs).where(docs.c.version.is_(None)).values(version=value))
    return value


def write(connection: sa.Connection, records: Iterable[tuple[Kind, Any]]) -> None:
    """Replace the index rows of these records."""
    records = list(records)
    if not records:
        return
    table = SearchTerm.__table__
    for kind_name in {k.name for k, _ in records}:
        ids = [r.id for k, r in records if k.name == kind_name]
        connection.execute(
            sa.delete(table).where(table.c.kind == kind_name, table.c.record_id.in_(ids))
        )
    rows, docs = [], []
    for kind, record in records:
        gone = getattr(record, "deleted_at", None) is not None
        terms = {} if gone else terms_of(kind, record)
        rows += [
            {"kind": kind.name, "record_id": record.id, "term": t, "weight": w}
            for t, w in terms.items()
        ]
        docs.append({"kind": kind.name, "record_id": record.id, "terms": pack(terms)})
    if rows:
        connection.execute(sa.insert(table), rows)
    write_docs(connection, docs)


def _after_flush(session: Session, _context: Any) -> None:
    """Note what changed; it is indexed once the flush is complete (loading inside a flush
    would fight the identity map)."""
    pending: dict[tuple[str, int], Any] = session.info.setdefault("search_pending", {})
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, InstitutionAlias | EnterpriseAlias):
            obj = obj.institution if isinstance(obj, InstitutionAlias) else obj.enterprise
        kind = BY_MODEL.get(type(obj))
        if kind is not None and obj is not None and obj.id is not None:
            pending[(kind.name, obj.id)] = obj
    for obj in session.deleted:
        kind = BY_MODEL.get(type(obj))
        if kind is not None:
            pending[(kind.name, obj.id)] = None  # gone for good


def _after_flush_postexec(session: Session, _context: Any) -> None:
    pending: dict[tuple[str, int], Any] = session.info.pop("search_pending", {})
    if not pending:
        return
    connection = session.connection()
    table = SearchTerm.__table__
    gone = [key for key, obj in pending.items() if obj is None]
    for kind_name, record_id in gone:
        connection.execute(
            sa.delete(table).where(table.c.kind == kind_name, table.c.record_id == record_id)
        )
    write_docs(connection, [{"kind": k, "record_id": i, "terms": ""} for k, i in gone])
    with session.no_autoflush:
        write(connection, ((KINDS[k], obj) for (k, _), obj in pending.items() if obj is not None))


def _after_rollback(session: Session, _previous_transaction: Any) -> None:
    session.info.pop("search_pending", None)


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
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "after_flush_postexec", _after_flush_postexec)
        event.listen(session_class, "after_soft_rollback", _after_rollback)
        event.listen(session_class, "before_commit", _before_commit)
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
    if not event.contains(sa.Engine, "rollback", _forget_changes):
        event.listen(sa.Engine, "rollback", _forget_changes)


def reindex(session: Session, batch: int = 2000) -> int:
    """Rebuild the whole index (after a migration, or to apply a new dictionary)."""
    connection = session.connection()
    connection.execute(sa.delete(SearchTerm.__table__))
    connection.execute(sa.delete(MatchDoc.__table__))
    total = 0
    for kind in KINDS.values():
        last_id = 0
        while True:
            chunk = session.scalars(
                sa.select(kind.model)
                .where(kind.model.id > last_id)
                .order_by(kind.model.id)
                .limit(batch)
            ).all()
            if not chunk:
                break
            write(connection, ((kind, r) for r in chunk))
            total += len(chunk)
            last_id = chunk[-1].id
            session.expunge_all()
    return total
