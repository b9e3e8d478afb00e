"""The committed gunicorn configuration starts the app and serves it (preloaded, headers on,
no software version in the Server header)."""

from __future__ import annotations

import urllib.request

from flask_migrate import upgrade

from crm.extensions import db
from tests.conftest import Databases, make_test_app
from tests.serving import gunicorn


def test_gunicorn_serves_the_app_with_its_config(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with gunicorn(url, workers=2 if databases.kind == "postgresql" else 1) as base:
        with urllib.request.urlopen(f"{base}/login", timeout=10) as response:  # noqa: S310
            body = response.read().decode()
            assert response.status == 200 and "登录" in body
            assert response.headers["Server"] == "crm"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
