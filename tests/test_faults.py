"""Faults, made for real: a gunicorn worker killed (-9) in the middle of an import's commit,
PostgreSQL going away in the middle of one and between requests, garbage where a file should
be. Each time: the data is as it was before the request (or as after it — never half), the
officer is told (a Chinese 503, a refused file), and the same action works afterwards.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth import services as auth
from crm.auth.models import Role
from crm.cooperation.models import Cooperation, CooperationType
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.imports.models import ImportBatch, ImportUpload
from crm.institutions.models import Institution, InstitutionKind, Researcher
from tests.conftest import PASSWORD, AuthActions, Databases, csrf_token, make_test_app
from tests.imports.helpers import csv_bytes
from tests.serving import serve
from tests.test_concurrency import COMMIT_TOKEN, TOKEN, Browser

ROWS = 6000
RELAYED_ROWS = 4000  # under the test client's 500 KB in-memory limit for a request body


def _roster(rows: int) -> bytes:
    return csv_bytes(
        [["姓名", "所在单位", "研究方向", "个人简介"]]
        + [
            [
                f"故障专家{i}",
                f"故障研究院{i % 30}",
                f"永磁同步电机设计；电磁振动{i % 97}",
                f"长期从事电机研究{i}",
            ]
            for i in range(rows)
        ]
    )


def _counts(url: str) -> dict[str, int]:
    """Counted over a connection of its own, not the app's."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.__tablename__: conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
                for table in (Researcher, ImportBatch, ImportUpload)
            }
    finally:
        engine.dispose()


def _new_database(databases: Databases, tmp_path, username: str) -> str:
    url = databases.new()
    app = make_test_app(url, tmp_path / "setup")
    with app.app_context():
        upgrade()
        auth.create_user(auth.UserData(username, "故障测试", Role.OFFICER, PASSWORD))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


# kill -9 --------------------------------------------------------------------------------------


def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_it_can_be_redone(
    databases: Databases, tmp_path
):
    url = _new_database(databases, tmp_path, "killed")
    log = tmp_path / "gunicorn.log"
    # SQLite is served by one worker (`crm check --deploy` refuses more); PostgreSQL by two
    workers = 2 if databases.kind == "postgresql" else 1
    # imported inside the request (a bigger file would go to a job process of its own)
    inline = {"CRM_IMPORT_BACKGROUND_ROWS": str(ROWS * 2)}
    with serve(url, workers=workers, log=log, **inline) as server:
        officer = Browser(server.base)
        assert officer.post("/login", "/login", {"username": "killed", "password": PASSWORD}) == 302
        started = time.monotonic()
        status, page = officer.upload(
            "/imports/preview", "/imports/", {"kind": "researchers"}, ("roster.csv", _roster(ROWS))
        )
        preview_seconds = time.monotonic() - started  # the commit does the same work, and writes
        assert status == 200, page
        form = {
            "csrf_token": TOKEN.search(page).group(1),
            "token": COMMIT_TOKEN.search(page).group(1),
            "kind": "researchers",
        }
        answer: list[object] = []

        def confirm() -> None:
            try:
                answer.append(officer.submit("/imports/commit", form))
            except OSError as exc:  # the connection dropped: what the officer's browser sees
                answer.append(exc)

        pressed = threading.Thread(target=confirm)
        pressed.start()
        time.sleep(preview_seconds / 4)  # into the rows, far from the commit
        assert pressed.is_alive(), "the import finished before the worker could be killed"
        killed = server.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        pressed.join(60)
        assert isinstance(answer[0], OSError), answer  # no answer at all: nginx shows its 502

        # never half: nothing of the import and the previewed file still there to confirm —
        # or, had it just committed when the worker died, all of it
        nothing = {"researcher": 0, "import_batch": 0, "import_upload": 1}
        everything = {"researcher": ROWS, "import_batch": 1, "import_upload": 0}
        after_kill = _counts(url)
        assert after_kill in (nothing, everything), after_kill

        # the master starts new workers; the officer presses 确认导入 again and it is done
        deadline = time.monotonic() + 30
        while set(server.workers()) & set(killed) and time.monotonic() < deadline:
            time.sleep(0.2)  # until the master has reaped them (and is starting others)
        assert officer.get("/imports/")[0] == 200
        status, target = officer.submit("/imports/commit", form)
        assert status == 302  # imported now, or told it already was (never twice)
        assert ("/imports/" in target) and (after_kill == nothing) == (target[-1].isdigit())
    assert _counts(url) == everything


# PostgreSQL going away ------------------------------------------------------------------------


class Relay:
    """A TCP relay in front of PostgreSQL that a test can cut, as if the server stopped: open
    connections are reset and new ones refused until it is started again. (Stopping this
    machine's PostgreSQL itself would stop every other test using it.)"""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.sent = 0  # bytes from the app to PostgreSQL
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(32)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:  # shutdown wakes the relay threads blocked on it; both ends see it closed
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outgoing: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if outgoing:
                    self.sent += len(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def relayed(databases: Databases, tmp_path) -> Iterator[tuple[str, Relay, object]]:
    """A database reached through a Relay; yields (direct url, relay, app)."""
    if databases.kind != "postgresql":
        pytest.skip("PostgreSQL going away needs PostgreSQL (CRM_TEST_DATABASE_URL)")
    url = _new_database(databases, tmp_path, "relayed")
    parts = sa.engine.make_url(url)
    relay = Relay((parts.host or "127.0.0.1", parts.port or 5432))
    through = parts.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    # imported inside the request (a bigger file would go to a job process of its own)
    app = make_test_app(
        through, tmp_path / "instance", TESTING=False, IMPORT_BACKGROUND_ROWS=RELAYED_ROWS * 2
    )
    yield url, relay, app
    relay.cut()
    _end_backends(url)
    with app.app_context():
        db.engine.dispose()


def _end_backends(url: str) -> None:
    """End the server's sessions of that database (the relay cut only the network: a backend
    in COPY could go on holding its locks, and the next request waited on them for ever)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.commit()
    engine.dispose()


def test_postgresql_stopping_in_the_middle_of_an_import_gets_503_and_leaves_nothing(relayed):
    url, relay, app = relayed
    client = app.test_client()
    AuthActions(client).login("relayed")
    page = client.post(
        "/imports/preview",
        data={
            "csrf_token": csrf_token(client, "/imports/"),
            "kind": "researchers",
            "file": (io.BytesIO(_roster(RELAYED_ROWS)), "roster.csv"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(client, "/imports/"),
        "token": COMMIT_TOKEN.search(page).group(1),
        "kind": "researchers",
    }
    answer = []
    before = relay.sent
    pressed = threading.Thread(
        target=lambda: answer.append(client.post("/imports/commit", data=form))
    )
    pressed.start()
    deadline = time.monotonic() + 30
    while relay.sent - before < 200_000 and time.monotonic() < deadline:  # rows on their way
        time.sleep(0.01)
    assert pressed.is_alive(), "the import finished before PostgreSQL could be stopped"
    relay.cut()
    _end_backends(url)  # as a stopping server does: nothing of the cut transaction lives on
    pressed.join(60)
    response = answer[0]
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "请稍后重试" in html and "Traceback" not in html
    assert _counts(url) == {"researcher": 0, "import_batch": 0, "import_upload": 1}

    relay.start()  # PostgreSQL is back: the pool notices its dead connections by itself
    again = client.post("/imports/commit", data=form)
    assert again.status_code == 302, again.get_data(as_text=True)
    assert _counts(url) == {"researcher": RELAYED_ROWS, "import_batch": 1, "import_upload": 0}


def test_postgresql_restarting_or_down_between_requests(relayed):
    url, relay, app = relayed
    client = app.test_client()
    AuthActions(client).login("relayed")
    assert client.get("/enterprises/").status_code == 200  # the pool holds live connections
    relay.cut()
    relay.start()  # restarted while nobody asked for anything: the pooled connection is dead
    assert client.get("/enterprises/").status_code == 200  # found on checkout, replaced
    token = csrf_token(client, "/enterprises/new")
    relay.cut()
    down = client.post("/enterprises/new", data={"csrf_token": token, "name": "停机时登记"})
    assert down.status_code == 503 and "请稍后重试" in down.get_data(as_text=True)
    assert client.get("/enterprises/").status_code == 503
    relay.start()
    # the first request after the restart is served: no stale connection handed out
    assert client.get("/enterprises/").status_code == 200
    token = csrf_token(client, "/enterprises/new")
    saved = client.post("/enterprises/new", data={"csrf_token": token, "name": "恢复后登记"})
    assert saved.status_code == 302
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        names = conn.execute(sa.select(Enterprise.name)).scalars().all()
    engine.dispose()
    assert names == ["恢复后登记"]


# garbage uploads ------------------------------------------------------------------------------


def _garbage(rnd: random.Random) -> tuple[bytes, str]:
    """Random bytes, or a real format cut short or corrupted, under a plausible name."""
    kind = rnd.choice(["random", "zip", "truncated", "flipped", "text"])
    if kind == "random":
        body = rnd.randbytes(rnd.randint(0, 20_000))
    elif kind == "zip":
        body = b"PK\x03\x04" + rnd.randbytes(rnd.randint(10, 5000))
    elif kind == "truncated":
        body = _xlsx()[: rnd.randint(1, 3000)]
    elif kind == "flipped":
        body = bytearray(_xlsx())
        for _ in range(20):
            body[rnd.randrange(len(body))] = rnd.randrange(256)
        body = bytes(body)
    else:
        body = "\n".join(
            ",".join(rnd.choice(["=cmd|' /C calc'!A0", "\x00", "姓名", "é", ""]) for _ in range(5))
            for _ in range(50)
        ).encode("utf-8", "surrogatepass")
    return body, rnd.choice(["名单.xlsx", "roster.csv", "x.pdf", "a.png", "没有扩展名"])


_XLSX: list[bytes] = []


def _xlsx() -> bytes:
    if not _XLSX:
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.append(["姓名", "所在单位", "研究方向"])
        for i in range(200):
            wb.active.append([f"专家{i}", "港理工", "抗皱整理"])
        out = io.BytesIO()
        wb.save(out)
        _XLSX.append(out.getvalue())
    return _XLSX[0]


def test_garbage_uploads_are_refused_in_chinese_and_write_nothing(app, client, make_user):
    """60 garbage files as imports and as attachments: a 4xx with a message each time (or,
    for a corrupted sheet that still reads, a preview that writes nothing), never a 500."""
    user = make_user(role=Role.ADMIN)
    AuthActions(client).login(user.username)
    enterprise = Enterprise(name="垃圾文件测试企业")
    db.session.add(enterprise)
    db.session.flush()
    institution = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(institution)
    db.session.flush()
    coop = Cooperation(
        institution_id=institution.id,
        title="附件测试",
        enterprise_id=enterprise.id,
        officer_id=user.id,
        type=CooperationType.DEVELOPMENT,
    )
    db.session.add(coop)
    db.session.commit()
    rnd = random.Random(20261129)
    outcomes: dict[str, int] = {}
    for _ in range(60):
        body, name = _garbage(rnd)
        preview = client.post(
            "/imports/preview",
            data={
                "csrf_token": csrf_token(client, "/imports/"),
                "kind": "",
                "file": (io.BytesIO(body), name),
            },
            content_type="multipart/form-data",
        )
        html = preview.get_data(as_text=True)
        assert preview.status_code in (200, 400), (name, preview.status_code)
        if preview.status_code == 400:  # the reason, in Chinese, under the file field
            assert re.search(r'data-testid="file-error">[^<]*[\u4e00-\u9fff]', html), html[:500]
        outcomes[f"import {preview.status_code}"] = (
            outcomes.get(f"import {preview.status_code}", 0) + 1
        )
        stored = client.post(
            f"/cooperation/{coop.id}/attachments",
            data={
                "csrf_token": csrf_token(client, f"/cooperation/{coop.id}"),
                "file": (io.BytesIO(body), name),
            },
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        assert stored.status_code == 200, (name, stored.status_code)
        assert "只能上传 PDF 或图片" in stored.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Researcher.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    assert outcomes.get("import 400", 0) >= 50, outcomes  # nearly all refused outright
    assert not coop.attachments  # random bytes are never a PDF or an image


def test_a_client_vanishing_mid_upload_does_not_wedge_the_server(databases: Databases, tmp_path):
    """A client that sends half a body and vanishes does not wedge a worker."""
    url = _new_database(databases, tmp_path, "halfway")
    with serve(url, workers=1) as server:
        host, port = server.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as s:
            s.sendall(
                b"POST /imports/preview HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                b" boundary=b\r\nContent-Length: 1000000\r\n\r\n--b\r\n" + b"x" * 1000
            )
        with urllib.request.urlopen(server.base + "/login", timeout=30) as page:  # noqa: S310
            assert page.status == 200
