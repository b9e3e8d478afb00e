"""URLs of the app's routes with the ids of records that exist, for the tests that walk every
route of `app.url_map` (the access matrix, the XSS tour)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule


def real_url(rule: Rule, ids: dict[str, Any], records: dict[str, Any]) -> str | None:
    """The rule's URL: each argument from `ids` by name, `record_id` from `records` by the
    rule's path prefix (/needs/, /researchers/ …). None when a record it needs is missing."""
    values = {}
    for arg in rule.arguments:
        if arg == "kind" and rule.rule.startswith("/imports/templates/"):
            value = "researchers"  # a sheet kind, where trash routes take a record kind
        elif arg == "record_id":
            prefix = next((p for p in records if rule.rule.startswith(p)), None)
            value = records.get(prefix) if prefix else None
        else:
            value = ids.get(arg)
        if value is None:
            return None
        values[arg] = value
    return rule.build(values)[1]
