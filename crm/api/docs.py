"""The OpenAPI document as the docs page (`/api/v1/docs`) lists it: operations grouped by tag,
request bodies spelt out field by field."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from crm.api.openapi import document


@dataclass(frozen=True)
class Operation:
    """One operation as the docs page lists it."""

    method: str
    path: str
    summary: str
    parameters: list[dict[str, Any]]
    body: list[tuple[str, str, bool, str]]  # name, type, required, description
    answers: list[tuple[str, str]]  # status, description


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"] if v is not None)
    kind = schema.get("type", "any")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k != "null"]
    text = "/".join(kinds)
    if schema.get("format"):
        text += f" ({schema['format']})"
    if schema.get("maxLength"):
        text += f" ≤{schema['maxLength']}"
    return text


@cache
def operations() -> dict[str, list[Operation]]:
    """The document's operations grouped by tag, with request bodies spelt out."""
    doc = document()
    schemas, answers = doc["components"]["schemas"], doc["components"]["responses"]
    grouped: dict[str, list[Operation]] = {}
    for path, item in doc["paths"].items():
        for method in ("get", "post", "patch", "delete"):
            if method not in item:
                continue
            op = item[method]
            body: list[tuple[str, str, bool, str]] = []
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = schemas[ref.rsplit("/", 1)[-1]]
                body = [
                    (name, _type(s), name in schema["required"], s.get("description", ""))
                    for name, s in schema["properties"].items()
                ]
            responses = [
                (status, answers[r["$ref"].rsplit("/", 1)[-1]]["description"])
                if "$ref" in r
                else (status, r["description"])
                for status, r in op["responses"].items()
            ]
            grouped.setdefault(op["tags"][0], []).append(
                Operation(
                    method.upper(),
                    path,
                    op["summary"],
                    [*item.get("parameters", []), *op.get("parameters", [])],
                    body,
                    responses,
                )
            )
    return grouped
