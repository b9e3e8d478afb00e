"""`KEEP`: a value a service leaves as the record has it. A PATCH that does not send a field,
or a form that does not show it, passes KEEP, and the save does not touch that field."""

from __future__ import annotations

from typing import Any


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        raise TypeError("KEEP has no truth value: compare with `is KEEP`")


KEEP: Any = _Keep()
