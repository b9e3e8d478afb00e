"""Cooperation attachments: PDF/images by content, size-limited, outside the web root,
served only through the app with safe headers; nothing left behind by a refused upload."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.cooperation.models import Attachment, Cooperation, CooperationType, Stage
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from tests.conftest import AuthActions, csrf_token

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def deal(app, make_enterprise, make_user, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path / "files"))
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    inst = Institution(name="测试大学（附件）", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    coop = Cooperation(
        title="合同扫描件测试",
        enterprise_id=ent.id,
        institution_id=inst.id,
        type=CooperationType.TRANSFER,
        stage=Stage.NEGOTIATION,
        officer_id=officer.id,
    )
    db.session.add(coop)
    db.session.commit()
    return officer, coop, tmp_path / "files"


def _upload(client, coop, content: bytes, name: str):
    token = csrf_token(client, f"/cooperation/{coop.id}")
    return client.post(
        f"/cooperation/{coop.id}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_pdf_is_kept_outside_the_web_root_and_served_safely(deal, client, make_user):
    officer, coop, folder = deal
    AuthActions(client).login(officer.username)
    page = _upload(client, coop, PDF, "技术转让合同.pdf").get_data(as_text=True)
    assert "已上传 技术转让合同.pdf" in page
    item = db.session.scalars(sa.select(Attachment)).one()
    assert item.content_type == "application/pdf" and item.size == len(PDF)
    assert _files(folder) == [item.stored_name] and item.stored_name.endswith(".pdf")
    assert "static" not in str(folder)
    AuthActions(client).logout()
    assert client.get(f"/attachments/{item.id}").status_code == 302  # signed-out: to login
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    response = client.get(f"/attachments/{item.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Disposition"].startswith("attachment")
    response.close()


def test_the_content_decides_not_the_name(deal, client):
    officer, coop, folder = deal
    AuthActions(client).login(officer.username)
    html = b"<html><script>alert(1)</script></html>"
    refused = _upload(client, coop, html, "看起来像.pdf").get_data(as_text=True)
    assert "只能上传 PDF 或图片" in refused
    assert _files(folder) == [] and db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    _upload(client, coop, PNG, "..\\..\\现场照片.exe")
    item = db.session.scalars(sa.select(Attachment)).one()
    assert item.content_type == "image/png" and item.filename == "现场照片.png"


def test_too_big_is_refused_and_leaves_no_partial_file(deal, client, app, monkeypatch):
    officer, coop, folder = deal
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_MB", 1)
    AuthActions(client).login(officer.username)
    big = PDF + b"0" * (1024 * 1024)
    assert "附件不能超过 1 MB" in _upload(client, coop, big, "大.pdf").get_data(as_text=True)
    assert _files(folder) == [] and db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_only_those_who_may_edit_the_record_upload_or_delete(deal, client, make_user):
    officer, coop, folder = deal
    AuthActions(client).login(officer.username)
    _upload(client, coop, PDF, "合同.pdf")
    item = db.session.scalars(sa.select(Attachment)).one()
    AuthActions(client).logout()
    AuthActions(client).login(make_user().username)  # an officer of nobody's department
    token = csrf_token(client, f"/cooperation/{coop.id}")
    stranger = client.post(
        f"/cooperation/{coop.id}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(PDF), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert stranger.status_code == 403
    assert (
        client.post(f"/attachments/{item.id}/delete", data={"csrf_token": token}).status_code == 403
    )
    assert _files(folder) == [item.stored_name]
    AuthActions(client).logout()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, f"/cooperation/{coop.id}")
    assert (
        client.post(f"/attachments/{item.id}/delete", data={"csrf_token": token}).status_code == 302
    )
    assert _files(folder) == [] and db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
