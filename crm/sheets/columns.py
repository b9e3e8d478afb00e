"""A sheet's columns: the header officers write (and its other spellings), whether it is
required, an example for the template, and the cell an export writes for a record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as officers write it; the template's header
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    note: str = ""  # shown in the README and the template's second sheet
    personal: bool = False  # personal data: masked in a viewer's export
    exported: bool = True  # in the export and the template's header (else import only)
    yearly: bool = False  # a figure of one year: the year comes from the header or the page
    money: bool = False  # an amount in 万元 (or in the unit its header names)
    #: the cell an export writes for a record (default: the attribute named `key`)
    read: Callable[[Any], Any] | None = None

    def value(self, record: Any) -> Any:
        return self.read(record) if self.read is not None else getattr(record, self.key)


@dataclass(frozen=True)
class Sheet:
    kind: str
    label: str
    columns: tuple[Column, ...]
    #: at least one of these keys must be mapped (a needs sheet: 需求名称 or 需求描述)
    one_of: tuple[str, ...] = ()

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    @property
    def exported(self) -> list[Column]:
        return [c for c in self.columns if c.exported]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def name_of(record: Any) -> str | None:
    return record.name if record is not None else None


def label_of(choice: Any) -> str | None:
    return choice.label if choice is not None else None


def first_contact(enterprise: Any) -> Any:
    return next((c for c in enterprise.contacts if c.deleted_at is None), None)


def phone_of(contact: Any) -> str | None:
    return contact.phone if contact is not None else None
