"""What every dated pipeline shares (a cooperation's stages, a project's, a firm's coaching
steps in the pool): a step happens on a day that is not in the future and not before the
step before it."""

from __future__ import annotations

from datetime import date

from crm.errors import ValidationError


def date_problems(
    on: date, last: date | None, today: date, before: str = "上一次变动"
) -> list[ValidationError]:
    """The date rule's refusal, on the form's `on` field, or nothing."""
    if on > today:
        return [ValidationError("日期不能晚于今天。", field="on")]
    if last is not None and on < last:
        return [ValidationError(f"日期不能早于{before}（{last.isoformat()}）。", field="on")]
    return []
