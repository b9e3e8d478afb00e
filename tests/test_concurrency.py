"""Many officers at once, through gunicorn with several workers: 8 processes × 200 writes —
visits logged, their own enterprise edited, researcher rosters imported (upload, preview,
commit) in turn → every write stored, no 5xx, no "database is locked" — on SQLite and on
PostgreSQL. And two officers saving one record from the same version: exactly one wins, the
other is told.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth import services as auth
from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.institutions.models import Researcher
from crm.visits.models import Visit
from tests.conftest import PASSWORD, Databases, make_test_app, today
from tests.imports.helpers import csv_bytes
from tests.serving import gunicorn

PROCESSES, WRITES = 8, int(os.environ.get("CRM_CONCURRENCY_WRITES", "200"))
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
COMMIT_TOKEN = re.compile(r'name="token"[^>]*value="([0-9a-f]{32})"')
ROSTER_ROWS = 3


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
        status, page = self.get(form_path)
        found = TOKEN.search(page)
        if found is None:  # say what came instead of the form (a worker's error, a redirect)
            raise AssertionError(f"GET {form_path}: {status} without a form: {page[:300]!r}")
        token = found.group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.read()
            return error.code

    def upload(self, path: str, form_path: str, fields: dict[str, str], file: tuple[str, bytes]):
        """A multipart form post with one file; returns (status, page)."""
        _, page = self.get(form_path)
        token = TOKEN.search(page).group(1)
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in {**fields, "csrf_token": token}.items()
        ]
        filename, content = file
        body = (
            "".join(parts).encode()
            + f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(  # noqa: S310 (http to the test server)
            self.base + path,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def send(self, path: str, data: dict[str, str]) -> int:
        return self.submit(path, data)[0]

    def submit(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        """A form post; returns the status and where it redirects to."""
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            error.read()
            return error.code, error.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def _roster(number: int, i: int) -> bytes:
    return csv_bytes(
        [["姓名", "所在单位", "研究方向", "个人简介"]]
        + [
            [
                f"并发专家{number}-{i}-{k}",
                f"并发研究院{number}",
                f"永磁电机设计{k}",
                "导入于并发测试",
            ]
            for k in range(ROSTER_ROWS)
        ]
    )


def _officer(base: str, number: int, enterprise_id: int, writes: int, out) -> None:  # noqa: ANN001
    """Visits, edits of the officer's own enterprise and imports, in turn."""
    browser = Browser(base)
    statuses: dict[str, int] = {}

    def seen(kind: str, status: int) -> None:
        key = f"{kind} {status}"
        statuses[key] = statuses.get(key, 0) + 1

    seen(
        "login",
        browser.post("/login", "/login", {"username": f"load{number}", "password": PASSWORD}),
    )
    visit_form = f"/enterprises/{enterprise_id}/visits/new"
    edit_form = f"/enterprises/{enterprise_id}/edit"
    for i in range(writes):
        if i % 3 == 0:
            seen(
                "visit",
                browser.post(
                    visit_form,
                    visit_form,
                    {"visited_on": today().isoformat(), "notes": f"并发走访 {number}-{i}"},
                ),
            )
        elif i % 3 == 1:
            _, page = browser.get(edit_form)
            version = VERSION.search(page).group(1)
            seen(
                "edit",
                browser.send(
                    edit_form,
                    {
                        "csrf_token": TOKEN.search(page).group(1),
                        "name": f"并发测试企业{number}",
                        "notes": f"第 {i} 次修改",
                        "version": version,
                    },
                ),
            )
        else:
            status, page = browser.upload(
                "/imports/preview",
                "/imports/",
                {"kind": "researchers"},
                (f"roster-{number}-{i}.csv", _roster(number, i)),
            )
            if status != 200:
                seen("preview", status)
                continue
            seen(
                "import",
                browser.send(
                    "/imports/commit",
                    {
                        "csrf_token": TOKEN.search(page).group(1),
                        "token": COMMIT_TOKEN.search(page).group(1),
                        "kind": "researchers",
                    },
                ),
            )
    out.put(statuses)


def test_eight_officers_at_once_lose_no_write(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        enterprises = []
        for n in range(PROCESSES):
            auth.create_user(auth.UserData(f"load{n}", f"并发{n}", Role.ADMIN, PASSWORD))
            enterprises.append(Enterprise(name=f"并发测试企业{n}"))
        db.session.add_all(enterprises)
        db.session.commit()
        enterprise_ids = [e.id for e in enterprises]
        db.session.remove()
        db.engine.dispose()
    log = tmp_path / "gunicorn.log"
    with gunicorn(url, workers=4, log=log) as base:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        officers = [
            context.Process(target=_officer, args=(base, n, enterprise_ids[n], WRITES, results))
            for n in range(PROCESSES)
        ]
        for p in officers:
            p.start()
        totals: dict[str, int] = {}
        received, deadline = 0, time.monotonic() + 900
        while received < len(officers):
            try:
                counts = results.get(timeout=5)
            except queue.Empty:  # an officer that crashed fails the test now, not in 15 min
                crashed = [p.exitcode for p in officers if p.exitcode not in (None, 0)]
                assert not crashed and time.monotonic() < deadline, crashed
                continue
            received += 1
            for key, count in counts.items():
                totals[key] = totals.get(key, 0) + count
        for p in officers:
            p.join(30)
    visits = len(range(0, WRITES, 3))
    edits = len(range(1, WRITES, 3))
    imports = len(range(2, WRITES, 3))
    # every form answered with its redirect: nothing refused, nothing failed
    assert totals == {
        "login 302": PROCESSES,
        "visit 302": PROCESSES * visits,
        "edit 302": PROCESSES * edits,
        "import 302": PROCESSES * imports,
    }, totals
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == PROCESSES * visits
        for enterprise_id in enterprise_ids:
            saved = db.session.get(Enterprise, enterprise_id)
            assert saved.version == 1 + edits  # no edit lost, none applied twice
            assert saved.notes == f"第 {3 * (edits - 1) + 1} 次修改"
        assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == PROCESSES * imports
        assert (
            db.session.scalar(sa.select(sa.func.count(Researcher.id)))
            == PROCESSES * imports * ROSTER_ROWS
        )
        db.session.remove()
        db.engine.dispose()
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


def test_confirm_import_pressed_twice_at_once_imports_once(databases: Databases, tmp_path):
    """Two presses of 确认导入 reach two workers together: one import, the other told."""
    import threading

    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        auth.create_user(auth.UserData("twice", "连点", Role.OFFICER, PASSWORD))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with gunicorn(url, workers=2) as base:
        officer = Browser(base)
        login = officer.post("/login", "/login", {"username": "twice", "password": PASSWORD})
        assert login == 302, login
        status, page = officer.upload(
            "/imports/preview", "/imports/", {"kind": "researchers"}, ("r.csv", _roster(0, 0))
        )
        assert status == 200, page
        form = {
            "csrf_token": TOKEN.search(page).group(1),
            "token": COMMIT_TOKEN.search(page).group(1),
            "kind": "researchers",
        }
        answers: list[tuple[int, str]] = []
        threads = [
            threading.Thread(target=lambda: answers.append(officer.submit("/imports/commit", form)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    # both answered with a redirect: one to the new batch, the other back to the upload page
    # with 这份预览已失效或已经导入
    assert [status for status, _ in answers] == [302, 302], answers
    targets = sorted(urllib.parse.urlsplit(location).path for _, location in answers)
    assert targets[0] == "/imports/" and re.fullmatch(r"/imports/\d+", targets[1]), targets
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Researcher.id))) == ROSTER_ROWS
        db.session.remove()
        db.engine.dispose()


def test_two_scripts_patching_one_record_at_once_one_wins_the_other_gets_412(
    databases: Databases, tmp_path
):
    """The API's If-Match under a real race: two tokens PATCH from the same ETag through two
    workers, ten times over; each time exactly one change is saved and the other is 412."""
    import json
    import threading

    from crm.api import tokens as api_tokens

    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        texts = []
        for n in range(2):
            user = auth.create_user(auth.UserData(f"script{n}", f"脚本{n}", Role.ADMIN, PASSWORD))
            texts.append(api_tokens.create(user, api_tokens.TokenData("同步", Role.ADMIN, 30))[1])
        enterprise = Enterprise(name="两个脚本同时改的企业")
        db.session.add(enterprise)
        db.session.commit()
        enterprise_id = enterprise.id
        db.session.remove()
        db.engine.dispose()
    rounds: list[list[int]] = []
    with gunicorn(url, workers=2) as base:
        path = f"{base}/api/v1/enterprises/{enterprise_id}"
        for version in range(1, 11):
            statuses = [0, 0]

            def patch(n: int, version: int = version, statuses: list[int] = statuses) -> None:
                request = urllib.request.Request(  # noqa: S310 (loopback)
                    path,
                    data=json.dumps({"notes": f"脚本{n}第{version}次"}).encode(),
                    method="PATCH",
                    headers={
                        "Authorization": f"Bearer {texts[n]}",
                        "Content-Type": "application/json",
                        "If-Match": f'"{enterprise_id}.{version}"',
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        statuses[n] = response.status
                except urllib.error.HTTPError as error:
                    error.read()
                    statuses[n] = error.code

            threads = [threading.Thread(target=patch, args=(n,)) for n in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            rounds.append(sorted(statuses))
    assert rounds == [[200, 412]] * 10, rounds
    with app.app_context():
        saved = db.session.get(Enterprise, enterprise_id)
        assert saved.version == 11 and saved.notes.endswith("第10次")
        db.session.remove()
        db.engine.dispose()


def test_api_reads_and_writes_at_once_on_sqlite_lose_nothing(databases: Databases, tmp_path):
    """Scripts reading through the API while others write: each read also counts against its
    token's rate (a write to the token's row when there is no Redis), so on SQLite it must take
    the write lock up front — a read transaction that upgrades later fails at once with
    "database is locked" if another write committed in between. 8 threads × 40 requests."""
    import json
    import threading

    from crm.api import tokens as api_tokens

    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        texts, targets = [], []
        for n in range(8):
            user = auth.create_user(auth.UserData(f"api{n}", f"脚本{n}", Role.ADMIN, PASSWORD))
            texts.append(api_tokens.create(user, api_tokens.TokenData("同步", Role.ADMIN, 30))[1])
            enterprise = Enterprise(name=f"接口并发企业{n}")
            db.session.add(enterprise)
            db.session.flush()
            targets.append(enterprise.id)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    statuses: list[int] = []

    def call(method: str, path: str, token: str, **headers: str) -> tuple[int, dict]:
        body = json.dumps({"notes": uuid.uuid4().hex}).encode() if method == "PATCH" else None
        request = urllib.request.Request(  # noqa: S310 (loopback)
            base + path,
            data=body,
            method=method,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, {"etag": response.headers.get("ETag")}
        except urllib.error.HTTPError as error:
            error.read()
            return error.code, {}

    def script(n: int) -> None:
        path = f"/api/v1/enterprises/{targets[n]}"
        for i in range(40):
            if n % 2:  # a reader
                status, _ = call(
                    "GET", "/api/v1/enterprises?per_page=5" if i % 2 else path, texts[n]
                )
            else:  # a writer: read, then change
                status, seen = call("GET", path, texts[n])
                if status == 200:
                    status, _ = call("PATCH", path, texts[n], **{"If-Match": seen["etag"]})
            statuses.append(status)

    with gunicorn(url, workers=1) as base:
        threads = [threading.Thread(target=script, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(statuses) == 8 * 40 and set(statuses) == {200}, sorted(set(statuses))
    with app.app_context():
        versions = db.session.scalars(
            sa.select(Enterprise.version).where(Enterprise.id.in_(targets[::2]))
        ).all()
        assert versions == [41] * 4  # every writer's 40 changes stored
        db.session.remove()
        db.engine.dispose()
