"""Security headers on every response.

The content security policy allows only this site's own scripts, styles, fonts and images:
no inline script (the pages carry data as JSON blocks and behaviour in static files), no
inline style attribute (sizes from data are set through the CSSOM), no framing by others.
HSTS is sent in production only (behind HTTPS). A response that set its own policy (an
attachment's sandbox) keeps it.
"""

from __future__ import annotations

from flask import Flask, Response

from crm.config import PRODUCTION

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

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
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
