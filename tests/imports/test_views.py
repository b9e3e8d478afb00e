"""The upload page: preview writes nothing, commit, revert, limits, templates, access."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import ImportBatch, ImportStatus, ImportUpload
from crm.institutions.models import Researcher
from crm.sheets import SHEETS
from tests.conftest import AuthActions, csrf_token
from tests.imports.helpers import RESEARCHERS, read_xlsx, upload, write_xlsx
from tests.pages import form_to

TOKEN = re.compile(r'name="token"[^>]*value="([0-9a-f]{32})"')


def _kept(token: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ImportUpload).where(ImportUpload.token == token)
    )


def test_preview_commit_and_revert(app, client, tmp_path, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    rows = RESEARCHERS + [[None, "港理工", "教授"]]
    data = write_xlsx(tmp_path / "r.xlsx", rows).read_bytes()
    response = upload(client, data, "../../etc/专家名单.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "尚未写入" in html and "姓名不能为空" in html and "有 1 行存在错误" in html
    assert db.session.scalar(sa.select(sa.func.count(Researcher.id))) == 0  # nothing written
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    token = TOKEN.search(html).group(1)
    confirm = form_to(html, "http://localhost/imports/preview", "/imports/commit")
    assert confirm.data()["kind"] == "researchers"  # inferred, and carried by the confirm form
    assert "确认导入" in confirm.buttons and "按以上设置重新预览" in confirm.buttons

    response = client.post("/imports/commit", data=confirm.data(action="commit"))
    assert response.status_code == 302
    batch = db.session.scalars(sa.select(ImportBatch)).one()
    assert batch.filename == "专家名单.xlsx"  # the name is shown, never used as a path
    assert batch.counts["created"] == 3 and batch.counts["errors"] == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "撤销这次导入" in page and "姓名不能为空" in page

    # the same preview cannot be committed twice
    again = client.post(
        "/imports/commit",
        data={"csrf_token": csrf_token(client, "/imports/"), "token": token, "kind": "researchers"},
    )
    assert (
        again.status_code == 302
        and db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 1
    )

    response = client.post(
        f"/imports/{batch.id}/revert", data={"csrf_token": csrf_token(client, "/imports/")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert batch.status == ImportStatus.REVERTED
    live = db.session.scalar(
        sa.select(sa.func.count(Researcher.id)).where(Researcher.deleted_at.is_(None))
    )
    assert live == 0


def test_bad_file_gets_a_clear_message_and_writes_nothing(client, make_user):
    AuthActions(client).login(make_user().username)
    response = upload(client, b"MZ" + b"\x00" * 500, "名单.xlsx")
    assert response.status_code == 400
    assert "这不是表格文件" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    response = upload(client, "姓名,所在单位\n".encode(), "空.csv")
    assert response.status_code == 400 and "只有表头" in response.get_data(as_text=True)


def test_upload_over_the_limit_gets_a_friendly_413(client, make_user):
    AuthActions(client).login(make_user().username)
    token = csrf_token(client, "/imports/")
    # a raw multipart body (the test client would spool a file part to a temporary file)
    body = (
        b'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        + b"a," * (6 * 1024 * 1024)  # 12 MB
        + b"\r\n--x--\r\n"
    )
    response = client.post(
        "/imports/preview", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert "超过 10 MB" in response.get_data(as_text=True)


def test_templates_download_as_workbooks_with_the_documented_headers(client, make_user):
    AuthActions(client).login(make_user().username)
    for kind, sheet in SHEETS.items():
        response = client.get(f"/imports/templates/{kind}.xlsx")
        assert response.status_code == 200
        rows = read_xlsx(response.data)
        assert rows[0] == [c.header for c in sheet.columns]
    assert client.get("/imports/templates/nothing.xlsx").status_code == 404


def test_readme_documents_every_template_header():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for sheet in SHEETS.values():
        for col in sheet.columns:
            assert col.header in readme, col.header


def test_viewers_and_strangers_cannot_import_or_see_batches(app, client, tmp_path, make_user):
    viewer = make_user(role=Role.VIEWER)
    AuthActions(client).login(viewer.username)
    assert client.get("/imports/").status_code == 403
    officer_a, officer_b = app.test_client(), app.test_client()
    AuthActions(officer_a).login(make_user().username)
    data = write_xlsx(tmp_path / "r.xlsx", RESEARCHERS).read_bytes()
    html = upload(officer_a, data, "r.xlsx").get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    # another officer cannot commit someone else's upload
    AuthActions(officer_b).login(make_user().username)
    officer_b.post(
        "/imports/commit",
        data={
            "csrf_token": csrf_token(officer_b, "/imports/"),
            "token": token,
            "kind": "researchers",
        },
    )
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    officer_a.post(
        "/imports/commit",
        data={
            "csrf_token": csrf_token(officer_a, "/imports/"),
            "token": token,
            "kind": "researchers",
        },
    )
    batch = db.session.scalars(sa.select(ImportBatch)).one()
    assert officer_b.get(f"/imports/{batch.id}").status_code == 403
    assert officer_a.get(f"/imports/{batch.id}").status_code == 200
    response = officer_a.post(
        f"/imports/{batch.id}/revert", data={"csrf_token": csrf_token(officer_a, "/imports/")}
    )
    assert response.status_code == 403  # only admins revert


def test_the_preview_is_kept_in_the_database_so_any_server_can_confirm_it(
    app, client, tmp_path, make_user
):
    """Preview on one app server, 确认导入 on another: nothing of the upload is on a disk."""
    AuthActions(client).login(make_user().username)
    data = write_xlsx(tmp_path / "r.xlsx", RESEARCHERS).read_bytes()
    html = upload(client, data, "r.xlsx").get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    kept = db.session.get(ImportUpload, token)
    assert kept is not None and kept.body == data and kept.filename == "r.xlsx"
    leftovers = [p for p in Path(app.instance_path).rglob("*") if p.is_file()]
    assert not [p for p in leftovers if p.read_bytes() == data]

    app.instance_path = str(tmp_path / "another-server")  # a machine that never saw the file
    response = client.post(
        "/imports/commit",
        data={"csrf_token": csrf_token(client, "/imports/"), "token": token, "kind": "researchers"},
    )
    assert response.status_code == 302
    assert (
        db.session.scalars(sa.select(ImportBatch)).one().counts["created"] == len(RESEARCHERS) - 1
    )
    assert not _kept(token)  # taken by the confirmation


def test_a_preview_older_than_a_day_is_refused_and_dropped(client, tmp_path, make_user):
    AuthActions(client).login(make_user().username)
    data = write_xlsx(tmp_path / "r.xlsx", RESEARCHERS).read_bytes()
    token = TOKEN.search(upload(client, data, "r.xlsx").get_data(as_text=True)).group(1)
    db.session.get(ImportUpload, token).created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    response = client.post(
        "/imports/commit",
        data={"csrf_token": csrf_token(client, "/imports/"), "token": token, "kind": "researchers"},
        follow_redirects=True,
    )
    assert "这份预览已失效或已经导入" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    upload(client, data, "r.xlsx")  # the next preview clears what has expired
    assert not _kept(token)
