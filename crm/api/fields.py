"""The API's field types: each one is both the JSON Schema the OpenAPI document shows and the
check a request's value passes before any service sees it — so the document cannot promise
what the code refuses, or the other way round."""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from crm.db import max_length
from crm.errors import ValidationError
from crm.queries import MAX_ID

MAX_PER_PAGE = 100
NO_NUL = r"^[^\u0000]*$"  # PostgreSQL text cannot hold NUL: the schema says so too
MONEY = re.compile(r"^\d{1,14}(\.\d{1,2})?$")  # yuan, Numeric(16, 2)


def stamp(moment: datetime) -> str:
    """A moment as UTC ISO 8601 with Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Field:
    """One value in a request or a response.

    type: string | text (no length limit) | integer | boolean | date | datetime | money |
    enum | strings (a list of short strings) | ids (a list of record ids) | number |
    json (anything: shown, never sent) | object / objects (a record's part, or a list of its
    parts, each with the fields `shape` names: shown, never sent)."""

    type: str
    nullable: bool = True
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""
    max_items: int = 50  # strings, ids: the longest list taken
    shape: tuple[tuple[str, Field], ...] = ()  # object, objects: the fields of each part
    #: how a response reads the value from a record (default: the attribute of that name)
    read: Callable[[Any], Any] | None = field(default=None, compare=False)

    def shown(self, record: Any, name: str) -> Any:
        """The record's value as this API writes it (dates ISO, money as text, choices by
        value, moments in UTC)."""
        value = self.read(record) if self.read is not None else getattr(record, name)
        if value is None:
            return None
        if self.type == "object":
            return {n: f.shown(value, n) for n, f in self.shape}
        if self.type == "objects":
            return [{n: f.shown(item, n) for n, f in self.shape} for item in value]
        if self.type == "date":
            return value.isoformat()
        if self.type == "datetime":
            return stamp(value)
        if self.type == "money":
            return str(value)  # a string: no float rounding of 万元
        if self.type == "enum":
            return getattr(value, "value", value)
        return value

    def schema(self) -> dict[str, Any]:
        schema = self._schema()
        if self.nullable and "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if self.nullable and "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        if self.doc:
            schema["description"] = self.doc
        return schema

    def _schema(self) -> dict[str, Any]:
        if self.type in ("string", "text"):
            schema: dict[str, Any] = {"type": "string", "pattern": NO_NUL}
            if self.max_length:
                schema["maxLength"] = self.max_length
            return schema
        if self.type == "integer":
            return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        if self.type == "number":
            return {"type": "number"}
        if self.type == "boolean":
            return {"type": "boolean"}
        if self.type == "date":
            return {"type": "string", "format": "date"}
        if self.type == "datetime":
            return {"type": "string", "format": "date-time"}
        if self.type == "money":
            return {"type": "string", "pattern": MONEY.pattern}
        if self.type == "enum":
            return {"type": "string", "enum": list(self.choices)}
        if self.type == "strings":
            item: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": NO_NUL}
            if self.max_length:
                item["maxLength"] = self.max_length
            return {"type": "array", "items": item, "maxItems": self.max_items}
        if self.type == "ids":
            return {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "maxItems": self.max_items,
            }
        if self.type in ("object", "objects"):
            part = {
                "type": "object",
                "properties": {n: f.schema() for n, f in self.shape},
                "required": [n for n, _ in self.shape],
                "additionalProperties": False,
            }
            return part if self.type == "object" else {"type": "array", "items": part}
        if self.type == "json":
            return {}
        raise ValueError(f"unknown field type {self.type}")

    def load(self, value: Any) -> Any:
        """A value this API wrote itself, back in the services' terms (no checks)."""
        if value is None:
            return None
        if self.type == "money":
            return Decimal(value)
        if self.type == "date":
            return date.fromisoformat(value)
        return value

    def parse(self, name: str, value: Any) -> Any:
        """The value as the services take it, or a ValidationError naming the field."""
        if value is None:
            if not self.nullable:
                raise ValidationError(f"{name} 不能为空。", field=name)
            return None
        if self.type in ("string", "text"):
            return text(name, value, self.max_length)
        if self.type == "integer":
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # JSON Schema: 3.0 is an integer
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
                raise ValidationError(f"{name} 应为 1 到 {MAX_ID} 之间的整数。", field=name)
            return value
        if self.type == "boolean":
            if not isinstance(value, bool):
                raise ValidationError(f"{name} 应为 true 或 false。", field=name)
            return value
        if self.type == "date":
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValidationError(f"{name} 应为日期，例如 2026-11-01。", field=name)
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValidationError(f"{name} 不是有效日期：{value}。", field=name) from None
        if self.type == "money":
            if not isinstance(value, str) or not MONEY.match(value):
                raise ValidationError(
                    f'{name} 应为以元计的金额文本，最多两位小数，例如 "150000.00"。', field=name
                )
            return Decimal(value)
        if self.type == "enum":
            if value not in self.choices:
                raise ValidationError(f"{name} 只能是 {'、'.join(self.choices)}。", field=name)
            return value
        if self.type == "strings":
            if not isinstance(value, list):
                raise ValidationError(f"{name} 应为文本列表。", field=name)
            if len(value) > self.max_items:
                raise ValidationError(f"{name} 最多 {self.max_items} 项。", field=name)
            items = (text(name, item, self.max_length).strip() for item in value)
            return list(dict.fromkeys(item for item in items if item))  # blanks and repeats go
        if self.type == "ids":
            if not isinstance(value, list):
                raise ValidationError(f"{name} 应为记录编号的列表。", field=name)
            if len(value) > self.max_items:
                raise ValidationError(f"{name} 最多 {self.max_items} 项。", field=name)
            item = Field("integer", nullable=False)
            return list(dict.fromkeys(item.parse(name, one) for one in value))  # repeats go
        raise ValidationError(f"{name} 不能修改。", field=name)


def text(name: str, value: Any, max_length: int | None = None) -> str:
    """A string both databases can store: no NUL, no lone surrogate, within the column."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} 应为文本。", field=name)
    if "\x00" in value:
        raise ValidationError(f"{name} 不能包含 NUL 字符。", field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} 含有无效的 Unicode 字符。", field=name) from None
    if max_length and len(value) > max_length:
        raise ValidationError(f"{name} 最多 {max_length} 个字。", field=name)
    return value


def enum_field(choices: Any, nullable: bool = True, doc: str = "") -> Field:
    return Field("enum", nullable, choices=tuple(c.value for c in choices), doc=doc)


def fields_for(data: type, model: Any, **given: Field) -> dict[str, Field]:
    """The API fields of a service's input dataclass, in its order: a choice as its values, an
    `…_id` as an id, text as long as the model's column takes; a field without a default is
    required (never null). `given` fields (another type, a doc) win."""
    hints = typing.get_type_hints(data)
    fields: dict[str, Field] = {}
    for item in dataclasses.fields(data):
        name = item.name
        required = (
            item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
        )
        choice = next(
            (t for t in typing.get_args(hints[name]) or (hints[name],) if _is_choice(t)), None
        )
        if name in given:
            fields[name] = given[name]
        elif choice is not None:
            fields[name] = enum_field(choice, nullable=not required)
        elif name.endswith("_id"):
            fields[name] = Field("integer", nullable=not required)
        else:
            fields[name] = column_field(model, name, nullable=False if required else None)
    return fields


def _is_choice(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def column_field(model: Any, name: str, nullable: bool | None = None, doc: str = "") -> Field:
    """A string field as long as its column allows — a String's length, or the longest text
    the forms take for a Text column (crm.db.long_text): the API accepts what the web does."""
    column = model.__table__.c[name]
    kind = "string" if getattr(column.type, "length", None) else "text"
    nullable = column.nullable if nullable is None else nullable
    return Field(kind, nullable, max_length(column), doc=doc)
