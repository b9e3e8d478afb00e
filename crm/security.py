"""Security headers on every response, and requests no view should see refused first.

The content security policy allows only this site's own scripts, styles, fonts and images:
no inline script (the pages carry data as JSON blocks and behaviour in static files), no
inline style attribute (sizes from data are set through the CSSOM), no framing by others.
HSTS is sent in production only (behind HTTPS). A response that set its own policy (an
attachment's sandbox) keeps it.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request
from flask_login import current_user

from crm import policy
from crm.config import PRODUCTION
from crm.errors import NotFound, ValidationError

logger = logging.getLogger(__name__)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def install(app: Flask) -> None:
    production = app.config["ENV_NAME"] == PRODUCTION

    @app.before_request
    def _no_nul() -> None:
        """A NUL character is in no real text (and PostgreSQL cannot store one): a request
        carrying one in its path, query or form is refused before any view reads it."""
        if "\x00" in request.path:
            raise NotFound("页面不存在。")
        for source in (request.args, request.form):
            for values in source.listvalues():
                if any("\x00" in value for value in values):
                    logger.info("NUL refused on %s %s", request.method, request.path)
                    raise ValidationError("提交的内容含有无效字符（NUL），请删除后重新提交。")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        if _private(response):  # names, phones, enterprises: never kept by a browser or proxy
            headers["Cache-Control"] = "no-store"
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        headers.pop("Server", None)  # no version banner (gunicorn's own is off in its config)
        return response


def _private(response: Response) -> bool:
    """Whether the answer may hold what only a signed-in user (or a token) may see: whatever
    a view that needs a login answers (its redirect to the login page included), and any other
    page shown to a signed-in user (the menu names them) — not static files, not the API's
    public document."""
    if request.endpoint == "static":
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    needed = policy.required_level(view, request.method) if view else None
    if needed is not None and needed > policy.Level.PUBLIC:
        return True
    if request.path.startswith("/api/"):
        return False
    return bool(getattr(current_user, "is_authenticated", False))
