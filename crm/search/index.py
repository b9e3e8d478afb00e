"""Keeping the search index in step with the records, inside the same transaction.

A flush hook (like the audit hook) re-indexes every searchable record that was created or
changed, and drops deleted and soft-deleted ones, on the flush's own connection. Tokens are
computed once, at write time; searching never re-tokenises records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.enterprises.models import Enterprise, EnterpriseAlias
from crm.institutions.models import Achievement, Institution, InstitutionAlias, Researcher
from crm.needs.models import Need
from crm.text.docs import Rows, write_docs
from crm.text.docs import install as install_docs
from crm.text.models import MatchDoc, SearchTerm
from crm.text.normal import core_name, institution_key
from crm.text.terms import NAME, NORMAL, STRONG, WEAK, pack, weighted_terms


@dataclass(frozen=True)
class Kind:
    """How one kind of record is indexed and shown."""

    name: str  # the `kind` stored in the index
    label: str  # shown in results
    model: type
    title: Callable[[Any], str]
    fields: Callable[[Any], Iterable[tuple[str | None, float]]]
    named: bool  # index the title as a name: whole, pinyin and initials
    infixes: bool = False  # and its name keys from inside it too (firms: 锦程 of 嵊州市锦程领带)
    keyed: Callable[[str | None], str] = core_name  # the part of a name its keys are made of


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
            infixes=True,
        ),
        Kind(
            "institution",
            "高校院所",
            Institution,
            lambda i: i.name,
            _institution_fields,
            named=True,
            infixes=True,
            keyed=institution_key,  # 浙江大学 keeps its 浙江: zjdx, zhejiang
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
        ),
        Kind(
            "need",
            "技术需求",
            Need,
            lambda n: n.title,
            lambda n: [(n.title, STRONG), (n.description, NORMAL)],
            named=False,
        ),
        Kind(
            "achievement",
            "科技成果",
            Achievement,
            lambda a: a.title,
            lambda a: [(a.title, STRONG), (a.description, NORMAL)],
            named=False,
        ),
    )
}
BY_MODEL = {k.model: k for k in KINDS.values()}


def terms_of(kind: Kind, record: Any) -> dict[str, float]:
    """Every term of a record with the highest weight any of its fields gives it."""
    return weighted_terms(kind.fields(record), kind.named, kind.infixes, kind.keyed)


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


def term_rows(kind_name: str, ids: list[int], records: list[dict[str, Any]]) -> Rows:
    """Index rows of new records (an import's), search rows in the postings index's order,
    which makes inserting them a third faster. Top-level, so worker processes build them."""
    rows, docs = [], []
    for record_id, terms in zip(ids, analyse(kind_name, records), strict=True):
        rows.extend((kind_name, record_id, term, weight) for term, weight in terms.items())
        docs.append((kind_name, record_id, pack(terms)))
    rows.sort(key=lambda row: row[2])
    return Rows(rows, docs)


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


def install(session_class: type[Session]) -> None:
    install_docs(session_class)
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "after_flush_postexec", _after_flush_postexec)
        event.listen(session_class, "after_soft_rollback", _after_rollback)


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
