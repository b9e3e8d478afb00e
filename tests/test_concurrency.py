"""Many officers at once, through gunicorn with several workers: 8 processes × 200 visits
logged → every one stored, no 5xx, no "database is locked" — on SQLite and on PostgreSQL.
And two officers saving one record from the same version: exactly one wins, the other is told.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import urllib.parse
import urllib.request
from datetime import date
from http.cookiejar import CookieJar

import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth import services as auth
from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.visits.models import Visit
from tests.conftest import PASSWORD, Databases, make_test_app
from tests.serving import gunicorn

PROCESSES, WRITES = 8, int(os.environ.get("CRM_CONCURRENCY_WRITES", "200"))
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """An officer's browser: cookies, a CSRF token read from the page, form posts."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, form_path: str, data: dict[str, str]) -> int:
        _, page = self.get(form_path)
        token = TOKEN.search(page).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.read()
            return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def _officer(base: str, number: int, enterprise_id: int, writes: int, out) -> None:  # noqa: ANN001
    browser = Browser(base)
    statuses: dict[int, int] = {}
    status = browser.post("/login", "/login", {"username": f"load{number}", "password": PASSWORD})
    statuses[status] = statuses.get(status, 0) + 1
    form = f"/enterprises/{enterprise_id}/visits/new"
    for i in range(writes):
        status = browser.post(
            form,
            form,
            {
                "visited_on": date.today().isoformat(),
                "notes": f"并发走访 {number}-{i}",
                "next_step": "",
                "next_due": "",
            },
        )
        statuses[status] = statuses.get(status, 0) + 1
    out.put(statuses)


def test_eight_officers_at_once_lose_no_visit(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        for n in range(PROCESSES):
            auth.create_user(auth.UserData(f"load{n}", f"并发{n}", Role.ADMIN, PASSWORD))
        enterprise = Enterprise(name="并发测试企业")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
        db.session.remove()
        db.engine.dispose()
    log = tmp_path / "gunicorn.log"
    with gunicorn(url, workers=4, log=log) as base:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        officers = [
            context.Process(target=_officer, args=(base, n, enterprise_id, WRITES, results))
            for n in range(PROCESSES)
        ]
        for p in officers:
            p.start()
        totals: dict[int, int] = {}
        for _ in officers:
            for status, count in results.get(timeout=600).items():
                totals[status] = totals.get(status, 0) + count
        for p in officers:
            p.join(30)
    # every visit form answered with its redirect: nothing refused, nothing failed
    assert totals == {302: PROCESSES * (WRITES + 1)}, totals
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count(Visit.id)))
        db.session.remove()
        db.engine.dispose()
    assert stored == PROCESSES * WRITES
    server_log = log.read_text(errors="replace")
    assert "database is locked" not in server_log and "Traceback" not in server_log


def test_two_officers_saving_one_record_at_once_one_wins_the_other_is_told(
    databases: Databases, tmp_path
):
    """Both open the edit form at version 1 and press save together, through two workers."""
    import threading

    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        for n in range(2):
            auth.create_user(auth.UserData(f"edit{n}", f"编辑{n}", Role.ADMIN, PASSWORD))
        enterprise = Enterprise(name="同时编辑的企业")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
        db.session.remove()
        db.engine.dispose()
    with gunicorn(url, workers=2) as base:
        officers = [Browser(base) for _ in range(2)]
        form = f"/enterprises/{enterprise_id}/edit"
        tokens = []
        for n, officer in enumerate(officers):
            officer.post("/login", "/login", {"username": f"edit{n}", "password": PASSWORD})
            _, page = officer.get(form)
            tokens.append(TOKEN.search(page).group(1))
        statuses: list[int] = [0, 0]

        def save(n: int) -> None:
            body = urllib.parse.urlencode(
                {"csrf_token": tokens[n], "name": f"同时编辑的企业（改{n}）", "version": "1"}
            ).encode()
            try:
                with officers[n].opener.open(base + form, data=body, timeout=30) as response:
                    statuses[n] = response.status
            except urllib.error.HTTPError as error:
                error.read()
                statuses[n] = error.code

        threads = [threading.Thread(target=save, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(statuses) == [302, 409], statuses  # one saved, the other told 已被他人修改
    with app.app_context():
        saved = db.session.get(Enterprise, enterprise_id)
        winner = statuses.index(302)
        assert saved.name == f"同时编辑的企业（改{winner}）" and saved.version == 2
        db.session.remove()
        db.engine.dispose()
