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


def test_whatever_needs_a_login_is_never_stored(client, make_user, make_enterprise):
    """Pages and API answers that need a login carry `Cache-Control: no-store` (so a phone's
    back button or a shared proxy keeps nothing of them); the login page and static files,
    the same for everyone, do not."""
    from tests.api.helpers import bearer, get

    officer = make_user()
    ent = make_enterprise(name="嵊州市不缓存领带有限公司", owner_id=officer.id)
    anonymous = client.get("/enterprises/")  # the redirect to the login page, too
    assert anonymous.status_code == 302 and anonymous.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    AuthActions(client).login(officer.username)
    for path in ("/", f"/enterprises/{ent.id}", "/enterprises/?format=csv", "/dashboard"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    static = client.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
    token = bearer(officer)
    api = get(client, f"/api/v1/enterprises/{ent.id}", token)
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/v1/openapi.json").headers.get("Cache-Control", "")
