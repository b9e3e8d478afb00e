"""Contacts: personal data masked for viewers, full for officers; who may add one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.enterprises.models import Contact
from crm.extensions import db
from crm.privacy import mask_email, mask_phone
from tests.conftest import AuthActions, csrf_token


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800008000", "138****8000"),
        ("0575-83012345", "0575-****2345"),
        ("+86 138 0000 8000", "+86 13* **** 8000"),
        ("12345", "*****"),
        (None, ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_email():
    assert mask_email("zhangsan@example.cn") == "z***@example.cn"
    assert mask_email("") == ""


@pytest.fixture
def firm(make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(name="越丰电机", owner_id=owner.id, department_id=owner.department_id)
    db.session.add(
        Contact(enterprise_id=ent.id, name="丁玉兰", phone="13800008000", email="dyl@example.cn")
    )
    db.session.commit()
    return owner, ent


def test_viewer_sees_masked_personal_data(client, make_user, firm):
    _, ent = firm
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    body = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert "丁玉兰" in body
    assert "138****8000" in body and "13800008000" not in body
    assert "d***@example.cn" in body and "dyl@example.cn" not in body


def test_officer_sees_full_personal_data(client, firm):
    owner, ent = firm
    AuthActions(client).login(owner.username)
    body = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert 'href="tel:13800008000"' in body and "dyl@example.cn" in body


def test_owner_adds_a_contact_and_bad_phone_is_refused(client, firm):
    owner, ent = firm
    AuthActions(client).login(owner.username)
    url = f"/enterprises/{ent.id}/contacts/new"
    token = csrf_token(client, url)
    bad = client.post(url, data={"csrf_token": token, "name": "沈博文", "phone": "call me"})
    assert bad.status_code == 400 and "电话号码只能包含数字" in bad.get_data(as_text=True)
    ok = client.post(
        url,
        data={
            "csrf_token": token,
            "name": "沈博文",
            "position": "技术副总",
            "phone": "0575-83012345",
        },
    )
    assert ok.status_code == 302
    names = db.session.scalars(sa.select(Contact.name).where(Contact.enterprise_id == ent.id))
    assert sorted(names) == ["丁玉兰", "沈博文"]


def test_other_department_cannot_add_contacts(client, make_user, firm):
    _, ent = firm
    AuthActions(client).login(make_user(department="合作交流科").username)
    url = f"/enterprises/{ent.id}/contacts/new"
    assert client.get(url).status_code == 403
    token = csrf_token(client, "/")
    assert client.post(url, data={"csrf_token": token, "name": "外人"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1


def test_institution_contacts(client, make_user):
    from crm.institutions.models import Institution, InstitutionKind

    inst = Institution(name="浙江理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.commit()
    AuthActions(client).login(make_user().username)
    url = f"/institutions/{inst.id}/contacts/new"
    token = csrf_token(client, url)
    response = client.post(
        url,
        data={"csrf_token": token, "name": "钱成果", "position": "科技处", "phone": "13800001234"},
    )
    assert response.status_code == 302
    page = client.get(f"/institutions/{inst.id}").get_data(as_text=True)
    assert "钱成果" in page and "13800001234" in page
    viewer = client.application.test_client()
    AuthActions(viewer).login(make_user(role=Role.VIEWER).username)
    masked = viewer.get(f"/institutions/{inst.id}").get_data(as_text=True)
    assert "138****1234" in masked and "13800001234" not in masked
