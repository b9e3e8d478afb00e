"""Personal data (contacts' phone numbers and e-mails): shown in full only to those allowed."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from crm import policy


def mask_phone(phone: str | None) -> str:
    """13800008000 → 138****8000; 0575-83012345 → 0575-****2345."""
    if not phone:
        return ""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(phone)
    keep_head = 3 if len(digits) == 11 else 4
    hidden = set(digits[keep_head:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(phone))


def mask_email(email: str | None) -> str:
    """zhangsan@example.cn → z***@example.cn."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def register(app: Flask) -> None:
    """Template filters `phone` and `email` that mask unless the user may see personal data."""

    @app.template_filter("phone")
    def _phone(value: str | None) -> str:
        return (value or "") if policy.can_see_personal_data(current_user) else mask_phone(value)

    @app.template_filter("email")
    def _email(value: str | None) -> str:
        return (value or "") if policy.can_see_personal_data(current_user) else mask_email(value)
