"""History in people's words: an audit entry's fields, values and record as the pages show them.

The audit hook stores what the database holds (`"status": ["open", "matched"]`,
`"enterprise_id": [null, 67]`); a record page's 变更记录 and the admin's 操作日志 show it here as
an officer reads it: a field by the label its form gives it (`crm.audit.labels`, which the
areas' forms register with), a choice by its label, a reference by the name of the record it
points at (a link to that record's page, when the reader may open it), money in 万元, a moment
in the county's time, 是/否 and （空）. The names of the records an entry list refers to are
read in one query per kind. An entry written before a field was removed, or pointing at a
record since purged, still shows: the field by its stored name, the record as "已删除的记录 #67".
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import links, policy
from crm.audit import labels, services
from crm.audit.models import ACTION_LABELS, AuditEntry
from crm.clock import as_local
from crm.db import UTCDateTime
from crm.enterprises.models import MONEY
from crm.extensions import db
from crm.matching.decisions import partner_name
from crm.matching.models import Suggestion
from crm.money import format_wan
from crm.queries import MAX_ID
from crm.targets.metrics import METRICS
from crm.targets.models import Target
from crm.visits.models import Visit

EMPTY = "（空）"
#: Codes stored in a plain text column, by (table, column): code → label.
CODES = {("target", "metric"): {m.code: m.label for m in METRICS}}


@dataclass(frozen=True)
class Shown:
    """A value as shown: its text, and the page it opens (a referenced record's)."""

    text: str
    url: str | None = None


@dataclass(frozen=True)
class Change:
    label: str
    before: Shown | None  # None: the field had no value before (a new record)
    after: Shown


@dataclass
class Described:
    """One entry as people read it."""

    entry: AuditEntry
    action: str
    who: str
    record: Shown
    changes: list[Change] = field(default_factory=list)


# ---- values -----------------------------------------------------------------------------------


def _is_id(value: Any) -> bool:
    """A value that can be a record's id (a crafted 10**30 cannot: no query is made for it)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _moment(value: str) -> str:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return as_local(moment).strftime("%Y-%m-%d %H:%M")


def _plain(table: str, name: str, value: Any) -> str:
    """A value that refers to no record, as text."""
    if isinstance(value, bool):
        return "是" if value else "否"
    found = labels.column(table, name)
    kind = found.type if found is not None else None
    try:
        if isinstance(kind, sa.Boolean) and value in (0, 1):
            return "是" if value else "否"
        if isinstance(kind, sa.Enum) and kind.enum_class is not None:
            choice = kind.enum_class(value)
            return str(getattr(choice, "label", None) or choice.value)
        codes = CODES.get((table, name)) or labels.form_choices(table, name)
        if str(value) in codes:
            return codes[str(value)]
        if isinstance(kind, sa.Numeric) and (kind.precision, kind.scale) == (
            MONEY.precision,
            MONEY.scale,
        ):
            return f"{format_wan(Decimal(str(value)))} 万元"
        if isinstance(kind, UTCDateTime) and isinstance(value, str):
            return _moment(value)
        if isinstance(kind, sa.Date) and isinstance(value, str):
            return date.fromisoformat(value[:10]).isoformat()
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        pass  # a value the column no longer takes (or a date past 9999): shown as stored
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 120 else text[:119] + "…"
    return str(value)


def _name(table: str, record: Any) -> str:
    """What a record is called: its name or title, or the kind and number of a nameless one."""
    if isinstance(record, Visit):
        return f"{record.visited_on.isoformat()} 走访"
    if isinstance(record, Suggestion):
        return f"推荐：{partner_name(record)}"
    if isinstance(record, Target):
        metric = CODES["target", "metric"].get(record.metric, record.metric)
        return f"{record.year} 年{metric}"
    for attribute in ("display_name", "name", "title", "filename", "alias"):
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value:
            return value
    return f"{labels.kind_label(table)} #{record.id}"


#: What naming a record of a kind needs loaded with it.
_LOAD = {
    "suggestion": (
        selectinload(Suggestion.researcher),
        selectinload(Suggestion.achievement),
        selectinload(Suggestion.institution),
    ),
}


def _records(wanted: dict[str, set[int]], user: Any) -> dict[tuple[str, int], Shown]:
    """The records referred to, by (table, id): named and linked; one query per table."""
    found: dict[tuple[str, int], Shown] = {}
    for table, ids in wanted.items():
        mapper = labels.mappers().get(table)
        if mapper is None or not ids or "id" not in mapper.columns:
            continue  # a table of no record kind (an old or crafted entry): ids as stored
        model = mapper.class_
        stmt = sa.select(model).where(model.id.in_(sorted(ids))).options(*_LOAD.get(table, ()))
        for record in db.session.scalars(stmt):
            name = _name(table, record)
            if getattr(record, "deleted_at", None) is not None:
                found[(table, record.id)] = Shown(f"{name}（已删除）")
            else:
                found[(table, record.id)] = Shown(name, links.record_link(table, record, user))
    return found


def _gone(record_id: int) -> Shown:
    return Shown(f"已删除的记录 #{record_id}")


# ---- entries ----------------------------------------------------------------------------------


def describe(entries: list[AuditEntry], user: Any) -> list[Described]:
    """The entries as people read them, for `user` (who may or may not open what they name)."""
    wanted: dict[str, set[int]] = {}

    def want(table: str | None, value: Any) -> None:
        if table is not None and _is_id(value):
            wanted.setdefault(table, set()).add(value)

    for e in entries:
        if e.record_id:
            want(e.table_name, e.record_id)
        want("user", e.user_id)
        for name, pair in _pairs(e):
            refers_to = labels.target(e.table_name, name)
            for value in pair:
                want(refers_to, value)
    records = _records(wanted, user)

    def shown(table: str, name: str, value: Any) -> Shown:
        if value is None or value == "":
            return Shown(EMPTY)
        refers_to = labels.target(table, name)
        if refers_to is not None and _is_id(value):
            return records.get((refers_to, value)) or _gone(value)
        return Shown(_plain(table, name, value))

    described = []
    for e in entries:
        who = records.get(("user", e.user_id)) if e.user_id else None
        record = Shown(labels.kind_label(e.table_name))
        if e.record_id:
            named = records.get((e.table_name, e.record_id))
            nameless = f"{labels.kind_label(e.table_name)} #{e.record_id}"
            if named is None or named.text == nameless:
                record = Shown(nameless, named.url if named else None)
            else:
                record = Shown(f"{labels.kind_label(e.table_name)}：{named.text}", named.url)
        described.append(
            Described(
                entry=e,
                action=ACTION_LABELS.get(e.action, e.action),
                who=who.text if who is not None else ("已删除的用户" if e.user_id else "系统"),
                record=record,
                changes=[
                    Change(
                        labels.label(e.table_name, name),
                        None if pair[0] is None else shown(e.table_name, name, pair[0]),
                        shown(e.table_name, name, pair[1]),
                    )
                    for name, pair in _pairs(e)
                ],
            )
        )
    return described


def _pairs(entry: AuditEntry) -> list[tuple[str, tuple[Any, Any]]]:
    """The entry's (field, (before, after)) pairs; a malformed stored change is skipped."""
    pairs = []
    skipped = services.derived(entry.table_name)  # (written before they were left out)
    for name, pair in (entry.changes or {}).items():
        if isinstance(pair, list | tuple) and len(pair) == 2 and name not in skipped:
            pairs.append((str(name), (pair[0], pair[1])))
    return pairs


def history_context(user: Any, table: str, record_id: int) -> dict[str, Any]:
    """What a record page needs for its 变更记录 section (officers and admins only)."""
    entries = services.history(table, record_id) if policy.can_write(user) else []
    return {"history": describe(entries, user)}
