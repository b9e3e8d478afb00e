"""Fixtures: one migrated database per test run, each test inside a rolled-back transaction.

SQLite (a file in a temporary folder) by default; PostgreSQL when CRM_TEST_DATABASE_URL is set,
in which case a throw-away database is created next to the one named and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from crm import clock as crm_clock
from crm import create_app
from crm.auth import services as auth_services
from crm.auth.models import Department, Role, User
from crm.config import DEFAULTS, normalise_database_url
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.matching import context as match_context
from crm.text.analyzer import get_analyzer

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: Chromium not found at {CHROMIUM}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# ---- databases ---------------------------------------------------------------------------------


class Databases:
    """Makes empty databases of the kind under test and drops them at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server_url = os.environ.get("CRM_TEST_DATABASE_URL")
        self.created: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.server_url else "sqlite"

    def new(self) -> str:
        name = f"crm_test_{uuid.uuid4().hex[:10]}"
        if not self.server_url:
            return f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        url = sa.engine.make_url(normalise_database_url(self.server_url))
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(
            normalise_database_url(self.server_url or ""),
            isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool,
        )
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def drop_all(self) -> None:
        for name in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


def make_test_app(database_url: str, instance: Path, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ENV_NAME": "test",
        "LOG_LEVEL": "DEBUG",
        "EMBEDDER": False,  # tests embed when they mean to (crm.matching.embeddings.embed_pending)
        **overrides,
    }
    app = create_app(config)
    app.instance_path = str(instance)
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture(scope="session")
def app(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = make_test_app(databases.new(), tmp_path_factory.mktemp("instance"))
    with application.app_context():
        upgrade()
        db.engine.dispose()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test inside a transaction that is rolled back; commits become savepoints."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        request.node.db_connection = connection  # for `undone` below
        try:
            with app.app_context():
                yield
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()
            # what the process built from commits that are now undone (never so in production,
            # where a committed version is never handed out again)
            app.extensions.pop("match_indexes", None)
            app.extensions.pop("vector_indexes", None)
            match_context.forget()
            get_analyzer().thesaurus_version = None


class FreshContextClient(FlaskClient):
    """Each request as a server runs it: in a context of its own, where no app context is
    active, so Flask pushes one for the request and tears it down (removing the request's
    session) as under gunicorn. A streamed body is then read to the last byte and closed in
    that same context, after the request has ended — as the server sends it. The test's own
    app context (its rolled-back session, the factories) is not visible to the request."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if not response.is_sequence:
            context.run(response.make_sequence)
            context.run(response.close)
        return response


@pytest.fixture
def undone(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """`with undone(): …` — what the requests inside write is rolled back at the end of the
    block (a savepoint around them), so that one test can try many writes from the same
    starting point."""

    @contextlib.contextmanager
    def block() -> Iterator[None]:
        connection = request.node.db_connection
        savepoint = connection.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()
            db.session.expire_all()

    return block


class Clock:
    """The app's own clock (`crm.clock.local_now`, what "today" means for due dates, visits and
    targets), set by a test; `today()` below reads it. Never the machine's `date.today()`,
    which is a different day for eight hours of every UTC day."""

    ZONE = ZoneInfo(DEFAULTS["TIMEZONE"])

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def set(self, when: date | datetime) -> None:
        """From now on the app's now is `when` (a day: 10:00 that day, the county's time)."""
        if not isinstance(when, datetime):
            when = datetime.combine(when, dt_time(10), tzinfo=self.ZONE)
        self._monkeypatch.setattr(crm_clock, "fixed_now", when)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def today() -> date:
    """The app's today (as the `clock` fixture set it, or the real one)."""
    return (crm_clock.fixed_now or datetime.now(Clock.ZONE)).astimezone(Clock.ZONE).date()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# ---- factories ---------------------------------------------------------------------------------


@pytest.fixture
def make_department(app: Flask) -> Callable[..., Department]:
    def make(name: str | None = None) -> Department:
        return auth_services.get_or_create_department(name or f"科室{uuid.uuid4().hex[:6]}")

    return make


@pytest.fixture
def make_user(make_department: Callable[..., Department]) -> Callable[..., User]:
    def make(
        role: Role | str = Role.OFFICER,
        username: str | None = None,
        password: str = PASSWORD,
        department: str | None = None,
        display_name: str | None = None,
    ) -> User:
        username = username or f"u{uuid.uuid4().hex[:8]}"
        user = auth_services.create_user(
            auth_services.UserData(
                username=username,
                display_name=display_name or f"测试{username[-4:]}",
                role=Role(role),
                password=password,
                department=department,
            )
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_enterprise(app: Flask) -> Callable[..., Enterprise]:
    def make(**overrides: Any) -> Enterprise:
        values: dict[str, Any] = {"name": f"测试企业{uuid.uuid4().hex[:6]}有限公司"}
        values.update(overrides)
        enterprise = Enterprise(**values)
        db.session.add(enterprise)
        db.session.commit()
        return enterprise

    return make


# ---- signing in --------------------------------------------------------------------------------

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
        token = csrf_token(self.client)
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            **kwargs,
        )

    def logout(self) -> Any:
        token = csrf_token(self.client, "/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
