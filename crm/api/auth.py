"""Who an API request is: the owner of the bearer token it carries, capped at the token's role.
Only tokens count under /api/: a browser's session cookie is ignored there (so no API write
can be forged from another site, and the API needs no CSRF token)."""

from __future__ import annotations

from flask import Response, g, request

from crm.api import tokens
from crm.errors import render_error
from crm.extensions import db


def authenticate_request() -> tuple[Response | str, int] | None:
    """before_request, ahead of the access check: 401 without a live token."""
    if not request.path.startswith("/api/"):
        return None
    scheme, _, text = request.headers.get("Authorization", "").partition(" ")
    token = tokens.authenticate(text.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        body, status = render_error(
            401, "缺少有效的 API 令牌：请在请求头中发送 Authorization: Bearer 令牌。"
        )
        return body, status, {"WWW-Authenticate": 'Bearer realm="crm"'}  # type: ignore[return-value]
    if token in db.session.dirty:
        db.session.commit()  # its last use, noted at most every five minutes
    g.api_token = token
    g._login_user = token.user  # Flask-Login's current_user for this request only
    return None
