"""A database that is down or locked: a Chinese 503 "请稍后重试", no traceback, nothing
half-written."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.conftest import PASSWORD, csrf_token, make_test_app


def test_a_database_that_is_down_gets_a_503_page(tmp_path):
    app = make_test_app("postgresql://crm@127.0.0.1:1/nowhere", tmp_path, TESTING=False)
    client = app.test_client()
    token = csrf_token(client)  # the login form needs no database
    page = client.post("/login", data={"username": "x", "password": "y", "csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "请稍后重试" in html and "Traceback" not in html
    assert page.headers["Retry-After"] == "10"
    api = client.post(
        "/login",
        data={"username": "x", "password": "y", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert api.status_code == 503 and api.get_json()["error"]["code"] == 503


def test_a_locked_database_refuses_the_write_whole(databases, tmp_path):
    if databases.kind != "sqlite":
        pytest.skip("a file lock is SQLite's")
    path = tmp_path / "locked.sqlite3"
    app = make_test_app(f"sqlite:///{path}", tmp_path / "i", SQLITE_BUSY_TIMEOUT_MS=200)
    with app.app_context():
        upgrade()
        from crm.auth import services as auth
        from crm.auth.models import Role

        auth.create_user(auth.UserData("locked", "锁测试", Role.ADMIN, PASSWORD))
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    token = csrf_token(client)
    client.post("/login", data={"username": "locked", "password": PASSWORD, "csrf_token": token})
    token = csrf_token(client, "/enterprises/new")
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        response = client.post(
            "/enterprises/new",
            data={"csrf_token": token, "name": "锁住时登记的企业", "version": ""},
        )
        assert response.status_code == 503 and "请稍后重试" in response.get_data(as_text=True)
    finally:
        holder.rollback()
        holder.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0
        db.session.remove()
        db.engine.dispose()


def test_nginx_has_a_chinese_page_for_when_the_app_cannot_answer(client):
    """A killed worker or a restarting gunicorn is nginx's 502: the README points its
    error_page at a static page the app ships (it needs neither the app nor the database)."""
    from pathlib import Path

    page = client.get("/static/errors/unavailable.html")
    assert page.status_code == 200 and "请稍后重试" in page.get_data(as_text=True)
    page.close()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "error_page 502 504 /static/errors/unavailable.html;" in readme
