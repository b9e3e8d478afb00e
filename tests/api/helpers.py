"""Tokens and requests for the API tests."""

from __future__ import annotations

from typing import Any

from crm.api import tokens
from crm.auth.models import Role, User
from crm.extensions import db


def bearer(user: User, role: Role | None = None, days: int = 90) -> str:
    """A live token of `user` (with its role, unless a lower one is given)."""
    _, text = tokens.create(user, tokens.TokenData("脚本", role or user.role, days))
    db.session.commit()
    return text


def get(client: Any, path: str, token: str | None, **headers: str) -> Any:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


def send(client: Any, method: str, path: str, token: str, body: Any = None, **headers: str) -> Any:
    """A write: `If_Match="..."` becomes the If-Match header."""
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    headers["Authorization"] = f"Bearer {token}"
    return client.open(path, method=method, json=body, headers=headers)
