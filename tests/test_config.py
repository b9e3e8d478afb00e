"""Configuration: defaults, instance/config.py, then environment; read in create_app only."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from crm.config import load_config, normalise_database_url


def _app(tmp_path: Path) -> Flask:
    return Flask("crm", instance_path=str(tmp_path / "instance"), instance_relative_config=True)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "CRM_ENV_NAME", "CRM_SESSION_IDLE_MINUTES"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_use_sqlite_in_instance_and_generate_a_key_once(tmp_path):
    app = _app(tmp_path)
    load_config(app, None)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/instance/crm.sqlite3"
    key = app.config["SECRET_KEY"]
    assert len(key) == 64
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = _app(tmp_path)
    load_config(again, None)
    assert again.config["SECRET_KEY"] == key


def test_instance_file_then_environment(tmp_path, monkeypatch):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text(
        'SESSION_IDLE_MINUTES = 45\nSTALE_VISIT_DAYS = 60\nSECRET_KEY = "from-file"\n'
    )
    monkeypatch.setenv("CRM_SESSION_IDLE_MINUTES", "20")
    monkeypatch.setenv("DATABASE_URL", "postgres://crm@db.internal/crm")
    app = _app(tmp_path)
    load_config(app, None)
    assert app.config["STALE_VISIT_DAYS"] == 60  # from the file
    assert app.config["SESSION_IDLE_MINUTES"] == 20  # environment wins, parsed as a number
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 20 * 60
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://crm@db.internal/crm"


def test_production_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_ENV_NAME", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config(_app(tmp_path), None)
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_with_key_has_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_ENV_NAME", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = _app(tmp_path)
    load_config(app, None)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_uses_psycopg3(url, expected):
    assert normalise_database_url(url) == expected


def test_importing_the_package_reads_no_environment(monkeypatch):
    import importlib

    import crm.config

    monkeypatch.setenv("DATABASE_URL", "postgresql://should-not-be-read/at-import")
    module = importlib.reload(crm.config)
    assert "should-not-be-read" not in repr(vars(module))
