"""Every response carries the security headers; production adds HSTS; no server banner."""

from __future__ import annotations

import secrets

from tests.conftest import AuthActions, make_test_app


def test_every_page_has_the_headers(client, make_user):
    for response in (client.get("/login"), client.get("/static/css/app.css"), client.get("/nope")):
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # not in development
        assert "Server" not in headers
        response.close()
    AuthActions(client).login(make_user().username)
    page = client.get("/dashboard").get_data(as_text=True)
    assert ' style="' not in page and "<script>" not in page  # nothing the policy would block


def test_production_adds_hsts(databases, tmp_path):
    app = make_test_app(
        databases.new(), tmp_path, ENV_NAME="production", SECRET_KEY=secrets.token_hex(32)
    )
    response = app.test_client().get("/login", base_url="https://crm.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
