"""The committed gunicorn configuration starts the app and serves it (preloaded, headers on,
no software version in the Server header)."""

from __future__ import annotations

import urllib.parse
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


EXPORTS = {  # the list page → the live records its unfiltered export holds
    "/enterprises/": "enterprise",
    "/needs/": "need",
    "/institutions/": "institution",
    "/researchers/": "researcher",
    "/achievements/": "achievement",
}


def test_every_export_and_the_report_download_whole_through_gunicorn(databases, tmp_path):
    """As production serves them: every list's export in both formats and the year's report,
    read to the last byte by a separate client through gunicorn's workers, then opened. (The
    CSV export once sent its first bytes and was cut off: its body was streamed after the
    request's session was gone.)"""
    import csv
    import io
    from http.cookiejar import CookieJar

    import openpyxl
    import sqlalchemy as sa

    from crm.auth import services as auth
    from crm.auth.models import Role
    from crm.clock import local_today
    from crm.seed import demo as seed
    from tests.conftest import PASSWORD
    from tests.test_concurrency import TOKEN

    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        year = local_today().year
        seed.load_demo(local_today())
        auth.create_user(auth.UserData("smoke", "冒烟", Role.ADMIN, PASSWORD))
        db.session.commit()
        counts = {
            path: db.session.scalar(
                sa.text(f'SELECT count(*) FROM "{table}" WHERE deleted_at IS NULL')  # noqa: S608
            )
            for path, table in EXPORTS.items()
        }
        # the tasks list: an admin looks at the officer with the most, done ones included
        officer, tasks = db.session.execute(
            sa.text(
                "SELECT assignee_id, count(*) FROM task WHERE deleted_at IS NULL "
                "GROUP BY assignee_id ORDER BY count(*) DESC, assignee_id LIMIT 1"
            )
        ).one()
        counts[f"/tasks?assignee={officer}&done=1&"] = tasks
        db.session.remove()
        db.engine.dispose()
    assert all(counts.values()), counts  # the demo data has some of each
    log = tmp_path / "gunicorn.log"
    with gunicorn(url, workers=2 if databases.kind == "postgresql" else 1, log=log) as base:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"{base}/login", timeout=30).read().decode()
        form = {
            "csrf_token": TOKEN.search(page).group(1),
            "username": "smoke",
            "password": PASSWORD,
        }
        opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode(), timeout=30)

        def download(path: str) -> tuple[int, str, bytes]:
            with opener.open(base + path, timeout=60) as response:
                return response.status, response.headers["Content-Disposition"], response.read()

        for path, count in counts.items():
            path = path if "?" in path else path + "?"
            status, disposition, body = download(f"{path}format=csv")
            assert status == 200 and disposition.startswith("attachment"), path
            rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            assert len(rows) == count + 1, (path, len(rows), count)  # the header, then each
            status, disposition, body = download(f"{path}format=xlsx")
            sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
            assert sum(1 for _ in sheet.iter_rows()) == count + 1, path
        status, disposition, body = download(f"/dashboard/report.xlsx?year={year}")
        assert status == 200 and ".xlsx" in disposition
        book = openpyxl.load_workbook(io.BytesIO(body))
        assert book.sheetnames and book.active.max_row > 3
    assert "Traceback" not in log.read_text(errors="replace")
