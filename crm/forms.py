"""Helpers shared by every area's forms."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from crm.errors import CRMError
from crm.errors import ValidationError as RuleBroken
from crm.money import CENT
from crm.queries import MAX_ID


def attach_error(form: FlaskForm, exc: CRMError, default: str) -> None:
    """Show a service's error next to the field it names (or `default` if the form lacks it)."""
    field = getattr(form, exc.field or "", None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]


def add_errors(form: FlaskForm, problems: Iterable[CRMError], default: str) -> None:
    """Rules a service checks across fields, shown after every field's own check (a form
    says everything at once): each beside the field it names (or `default`); a field that
    already shows an error keeps only its own."""
    for exc in problems:
        field = getattr(form, exc.field or "", None) or getattr(form, default)
        if not field.errors:
            field.errors = [exc.message]


def check(form: FlaskForm, rule: Callable[[], object], default: str) -> None:
    """Run one of a service's checks in a form's `validate` (see `add_errors`)."""
    try:
        rule()
    except RuleBroken as exc:
        add_errors(form, [exc], default)


class Rule:
    """A service's check of one value as a field's validator: the field shows the service's
    own message, in the same pass as every other field's. The service checks again on save
    (the API and imports reach it without a form)."""

    def __init__(self, rule: Callable[[Any], object]) -> None:
        self.rule = rule

    def __call__(self, form: FlaskForm, field: Any) -> None:
        if field.data in (None, "") or field.errors:  # said already (too long, not a date)
            return
        try:
            self.rule(field.data)
        except RuleBroken as exc:
            raise StopValidation(exc.message) from exc


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


def id_or_none(value: object) -> int | None:
    """A select's record id: none for the blank option; anything not an id of a 32-bit column
    is invalid (WTForms then shows the field's error instead of asking the database)."""
    if value in (None, "", "None"):
        return None
    number = int(value)  # type: ignore[call-overload]
    if not 0 < number <= MAX_ID:
        raise ValueError(f"{value!r} is no record id")
    return number


class VersionField(HiddenField):
    """The version an edit form was loaded at. A value that is no version (tampered, "NaN",
    past any integer) becomes "0", which matches no record: the save is refused as stale
    (409, "已被他人修改") rather than failing on the number."""

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        raw = (self.data or "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID):
            self.data = "0"


class MoneyField(DecimalField):
    """An amount: a finite number below `most` (what its column holds) — "NaN", "Infinity" or
    1e400 is the field's error, not a failed INSERT."""

    def __init__(self, *args: Any, most: Decimal, **kwargs: Any) -> None:
        kwargs.setdefault("places", 2)
        super().__init__(*args, **kwargs)
        self.most = most

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("请输入数字金额，如 50 或 12.5。") from None
        if self.data is None:
            return
        if (
            self.data.is_finite()
            and abs(self.data) < self.most
            and self.data.as_tuple().exponent < -2
        ):
            self.data = self.data.quantize(CENT, rounding=ROUND_HALF_UP)  # as stored, to the cent
        if not self.data.is_finite() or abs(self.data) >= self.most:  # (99999999999999.999 too)
            self.data = None
            raise ValueError(f"请输入有效的金额（小于 {self.most:,}）。")


class AtMost:
    """A multiple select's most choices (its values reach a query as parameters)."""

    def __init__(self, most: int) -> None:
        self.most = most

    def __call__(self, form: FlaskForm, field: Any) -> None:
        if field.data and len(field.data) > self.most:
            raise StopValidation(f"最多选择 {self.most} 项。")
