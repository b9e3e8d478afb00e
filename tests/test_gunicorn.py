"""The committed gunicorn configuration starts the app and serves it (preloaded, headers on,
no software version in the Server header)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask_migrate import upgrade

from crm.extensions import db
from tests.conftest import Databases, make_test_app

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_app_with_its_config(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "gunicorn-test-secret-0123456789abcdef",
        "CRM_BIND": f"127.0.0.1:{port}",
        "CRM_WORKERS": "2" if databases.kind == "postgresql" else "1",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(  # noqa: S603
        [gunicorn, "-c", "gunicorn.conf.py", "crm.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, response = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5)  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        assert response is not None, "gunicorn did not answer"
        with response:
            body = response.read().decode()
            assert response.status == 200 and "登录" in body
            assert response.headers["Server"] == "crm"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    finally:
        server.terminate()
        server.wait(20)
