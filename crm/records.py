"""A service's input dataclass filled from what a page's form or an API body holds.

Each service declares its input once, as a dataclass (`ResearcherData`, `NeedData`, …); a form
or a body is read by those field names, so neither writes the field list out again. A field
typed as a choice (`Maturity | None`) is built from its stored value; a blank choice is None."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def _choice_types(cls: type) -> dict[str, type[enum.Enum]]:
    """The dataclass's fields typed as an Enum (or an optional one)."""
    found = {}
    for name, hint in typing.get_type_hints(cls).items():
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for option in options:
            if isinstance(option, type) and issubclass(option, enum.Enum):
                found[name] = option
    return found


def _read(source: Any, name: str) -> tuple[bool, Any]:
    if isinstance(source, Mapping):
        return (name in source, source.get(name))
    if name in source:  # a WTForms form: its fields by name
        return (True, source[name].data)
    return (False, None)


def data_from(cls: type[T], source: Any, **given: Any) -> T:
    """`cls` filled from `source` (a mapping, or a form's fields' data) by field name; `given`
    values win (what the caller derives: a parsed alias list, an id looked up)."""
    choices = _choice_types(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in given:
            values[field.name] = given[field.name]
            continue
        present, value = _read(source, field.name)
        if not present:
            continue
        if field.name in choices:
            value = choices[field.name](value) if value not in (None, "") else None
        values[field.name] = value
    return cls(**values)
