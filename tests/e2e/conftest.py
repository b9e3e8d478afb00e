"""Browser harness: the real app served on a loopback port, driven by Debian's Chromium."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from crm.auth import services as auth_services
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import CHROMIUM, PASSWORD, Databases, make_test_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    app: Any

    def sign_in(self, page: Any, username: str) -> None:
        """Through the login form, as a person would; lands on the home page."""
        page.goto(f"{self.url}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.url}/")

    def add_user(self, username: str, display_name: str, role: Role = Role.OFFICER) -> None:
        with self.app.app_context():
            auth_services.create_user(
                auth_services.UserData(username, display_name, role, PASSWORD, "高新技术科")
            )
            db.session.commit()


def sign_out(page: Any) -> None:
    """Through the user menu, as a person does (on a phone, the menu opens first); waits for
    each part to finish opening, so a click never lands on a menu still sliding in."""
    toggler = page.get_by_label("展开菜单")
    if toggler.is_visible():
        toggler.click()
        page.locator(".navbar-collapse.show").wait_for()
    page.get_by_test_id("current-user").click()
    page.locator(".dropdown-menu.show").wait_for()
    page.get_by_role("button", name="退出登录").click()


@contextlib.contextmanager
def _serving(app: Any) -> Iterator[LiveServer]:
    """The app on a loopback port in a thread, until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    app = make_test_app(databases.new(), tmp_path_factory.mktemp("live"), TESTING=False)
    with app.app_context():
        upgrade()
    with _serving(app) as server:
        yield server


@pytest.fixture(scope="session")
def demo_server(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app with the demo data set (`crm seed demo`), as an officer first sees it."""
    from crm.clock import local_today
    from crm.seed import demo as seed

    app = make_test_app(databases.new(), tmp_path_factory.mktemp("demo"), TESTING=False)
    with app.app_context():
        upgrade()
        seed.load_demo(local_today())
        db.session.commit()
    with _serving(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            # Playwright turns the back/forward cache off; a phone has it on
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
