"""Who an API request is: the owner of the bearer token it carries, capped at the token's role,
and within the token's requests per minute. Only tokens count under /api/: a browser's session
cookie is ignored there (so no API write can be forged from another site, and the API needs no
CSRF token). The OpenAPI document and its page are public: they describe, they hold no data."""

from __future__ import annotations

import logging

from flask import Response, current_app, g, request

from crm.api import throttle, tokens
from crm.errors import render_error
from crm.extensions import db

logger = logging.getLogger(__name__)
PUBLIC = frozenset({"/api/v1/openapi.json", "/api/v1/docs"})


def authenticate_request() -> tuple[Response | str, int, dict[str, str]] | None:
    """before_request, ahead of the access check: 401 without a live token, 429 over its
    rate."""
    if not request.path.startswith("/api/") or request.path in PUBLIC:
        return None
    # a record's JSON is a few KB: a body past the API's own limit is refused (413) unread
    request.max_content_length = int(current_app.config["API_MAX_BODY_KB"]) * 1024
    scheme, _, text = request.headers.get("Authorization", "").partition(" ")
    token = tokens.authenticate(text.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        body, status = render_error(
            401, "缺少有效的 API 令牌：请在请求头中发送 Authorization: Bearer 令牌。"
        )
        return body, status, {"WWW-Authenticate": 'Bearer realm="crm"'}
    allowance = throttle.hit(token)
    db.session.commit()  # the count (and the token's last use) stand whatever the request does
    g.rate_headers = {
        "X-RateLimit-Limit": str(allowance.limit),
        "X-RateLimit-Remaining": str(allowance.remaining),
        "X-RateLimit-Reset": str(allowance.reset),
    }
    if allowance.exceeded:
        logger.warning("%r over its rate: %d requests this minute", token, allowance.used)
        body, status = render_error(
            429,
            f"请求过于频繁：每个令牌每分钟最多 {allowance.limit} 次，"
            f"请 {allowance.reset} 秒后再试。",
        )
        return body, status, {**g.rate_headers, "Retry-After": str(allowance.reset)}
    g.api_token = token
    g._login_user = token.user  # Flask-Login's current_user for this request only
    return None


def add_rate_headers(response: Response) -> Response:
    """after_request: every API answer says how much of the minute's allowance is left."""
    for name, value in g.get("rate_headers", {}).items():
        response.headers.setdefault(name, value)
    return response
