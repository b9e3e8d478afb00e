"""The targets form: one number per metric, and its share per department, all optional."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from crm.targets.metrics import METRICS

TARGET_LIMIT = Decimal(10) ** 10  # the column holds 12 digits, 2 of them decimals


def parse_target(raw: str | None) -> Decimal | None:
    """Blank, or a finite number below `TARGET_LIMIT`, rounded to the cent as stored."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"“{raw}”不是数字。") from None
    if number.is_finite() and abs(number) < TARGET_LIMIT and number.as_tuple().exponent < -2:
        number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # …9.999 → 1e10
    if not number.is_finite() or abs(number) >= TARGET_LIMIT:  # NaN, Infinity, 1e400
        raise ValidationError(f"“{raw}”不是可用的数字（应小于 {TARGET_LIMIT:,}）。")
    return number


class TargetField(StringField):
    """A target or a share, typed as text (inputmode=decimal) and read by `parse_target`."""

    def __init__(self, *args: Any, metric: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metric = metric
        self.number: Decimal | None = None

    def pre_validate(self, form: Any) -> None:
        self.number = parse_target(self.data)


def total_name(code: str) -> str:
    return f"t-{code}"


def share_name(code: str, department_id: int) -> str:
    return f"s-{code}-{department_id}"


def targets_form(department_ids: list[int]) -> FlaskForm:
    """A form for this year's targets with a share field per active department."""

    class TargetsForm(FlaskForm):
        seen = HiddenField()

    for metric in METRICS:
        setattr(TargetsForm, total_name(metric.code), TargetField(metric.label, metric=metric.code))
        for department_id in department_ids:
            setattr(
                TargetsForm,
                share_name(metric.code, department_id),
                TargetField(metric.label, metric=metric.code),
            )
    return TargetsForm()


def metric_errors(form: FlaskForm) -> dict[str, str]:
    """The first error of each metric's row (its total or any share)."""
    errors: dict[str, str] = {}
    for field in form:
        if isinstance(field, TargetField) and field.errors:
            errors.setdefault(field.metric, field.errors[0])
    return errors
