"""What a field of the trail is called: the label its form gives it, else the audit's own word.

The history in people's words (`crm.audit.pages`) names a stored column the way the form that
edits it does. Audit imports no area's forms: each area registers its own here as its forms
module loads (`register_forms("need", NeedForm)` at the foot of `crm/needs/forms.py`), and the
app factory imports every area's views, which import their forms, before a page is served. A
column no registered form labels is named by the audit's own words (`models.FIELD_LABELS`), its
spreadsheet column's header, the kind of record it refers to, or its stored name.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper
from wtforms.fields.core import UnboundField

from crm.audit.models import FIELD_LABELS, TABLE_LABELS
from crm.db import Base
from crm.sheets import EXPORTS

#: table → [(secondary, form)] as registered; `forms(table)` puts the table's own forms first.
_FORMS: dict[str, list[tuple[bool, type]]] = {}
#: Columns a form field fills under another name (besides `x_id` ← `x`, `x` ← `x_wan`).
RENAMED: dict[str, dict[str, str]] = {}


def register_forms(
    table: str, *forms: type, renamed: dict[str, str] | None = None, secondary: bool = False
) -> None:
    """The forms that edit `table`, first the one whose labels win. `renamed` maps a column to
    the form field that fills it under another name (`{"end_reason": "reason"}`). A
    `secondary` form edits the table from another area's page (the visit form's needs): its
    labels count only where the table's own forms give none. Registering twice changes nothing."""
    listed = _FORMS.setdefault(table, [])
    for form in forms:
        if all(f is not form for _, f in listed):
            listed.append((secondary, form))
    if renamed:
        RENAMED.setdefault(table, {}).update(renamed)
    _form_fields.cache_clear()


def forms(table: str) -> tuple[type, ...]:
    """The forms registered for `table`, first the one whose labels win."""
    return tuple(form for _, form in sorted(_FORMS.get(table, ()), key=lambda e: e[0]))


# ---- what the schema and the forms say ----------------------------------------------------------


@functools.cache
def mappers() -> dict[str, Mapper[Any]]:
    return {m.local_table.name: m for m in Base.registry.mappers if m.local_table is not None}


def column(table: str, name: str) -> sa.Column[Any] | None:
    mapper = mappers().get(table)
    if mapper is None:
        return None
    return mapper.local_table.c.get(name)  # type: ignore[union-attr]


def target(table: str, name: str) -> str | None:
    """The table a column refers to, if it is a reference."""
    found = column(table, name)
    if found is None or not found.foreign_keys:
        return None
    return next(iter(found.foreign_keys)).column.table.name


def _unbound(form: type) -> dict[str, UnboundField]:
    fields: dict[str, UnboundField] = {}
    for klass in reversed(form.__mro__):
        fields.update((k, v) for k, v in vars(klass).items() if isinstance(v, UnboundField))
    return fields


def _label_of(unbound: UnboundField) -> str | None:
    label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
    if not isinstance(label, str) or not label:
        return None
    # "合同金额（万元）", "别名（每行一个，或用逗号分隔）": the history shows its own units
    return label.split("（", 1)[0].strip() or label


def _choices_of(unbound: UnboundField) -> dict[str, str]:
    found: dict[str, str] = {}
    for choice in unbound.kwargs.get("choices") or ():
        # crm.forms.choices gives SelectChoice objects; a form may also write (value, label)
        value, label = (choice.value, choice.label) if hasattr(choice, "label") else choice[:2]
        if value not in (None, ""):
            found[str(value)] = str(label)
    return found


@functools.cache
def _form_fields(table: str) -> dict[str, UnboundField]:
    """Column name → the form field that edits it, for one table."""
    renamed = RENAMED.get(table, {})
    found: dict[str, UnboundField] = {}
    for form in reversed(forms(table)):
        for name, unbound in _unbound(form).items():
            if _label_of(unbound) is None:
                continue
            key = next((c for c, f in renamed.items() if f == name), name.removesuffix("_wan"))
            if column(table, key) is None and column(table, f"{key}_id") is not None:
                key = f"{key}_id"
            found[key] = unbound
    return found


def label(table: str, name: str) -> str:
    """A field as people know it: its form's label, else the audit's own word for it, else its
    spreadsheet column's header, else the kind of record it refers to, else its stored name."""
    unbound = _form_fields(table).get(name)
    if unbound is not None and (text := _label_of(unbound)):
        return text
    if name in FIELD_LABELS.get(table, {}):
        return FIELD_LABELS[table][name]
    sheet = EXPORTS.get(f"{table}s")
    header = next((c.header for c in sheet.columns if c.key == name), None) if sheet else None
    if header:
        return header.split("（", 1)[0]
    refers_to = target(table, name)
    if refers_to is not None and refers_to in TABLE_LABELS:
        return TABLE_LABELS[refers_to]
    return FIELD_LABELS["*"].get(name, name)


def kind_label(table: str) -> str:
    return TABLE_LABELS.get(table, table)


def form_choices(table: str, name: str) -> dict[str, str]:
    """What the form field that edits a column offers: value → label."""
    unbound = _form_fields(table).get(name)
    return _choices_of(unbound) if unbound else {}
