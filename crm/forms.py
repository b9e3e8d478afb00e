"""Helpers shared by every area's forms."""

from __future__ import annotations

from flask_wtf import FlaskForm

from crm.errors import CRMError


def attach_error(form: FlaskForm, exc: CRMError, default: str) -> None:
    """Show a service's error next to the field it names (or `default` if the form lacks it)."""
    field = getattr(form, exc.field or "", None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]
