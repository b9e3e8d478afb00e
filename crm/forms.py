"""Helpers shared by every area's forms."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from crm.errors import CRMError


def attach_error(form: FlaskForm, exc: CRMError, default: str) -> None:
    """Show a service's error next to the field it names (or `default` if the form lacks it)."""
    field = getattr(form, exc.field or "", None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]
