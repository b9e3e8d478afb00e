"""The policy module: who may change which enterprise, who sees personal data."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from crm import policy
from crm.auth import services as auth_services
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import PASSWORD, AuthActions, make_test_app


def test_enterprise_editing_rights(make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    colleague = make_user(department="高新技术科")
    stranger = make_user(department="合作交流科")
    loner = make_user()  # no department
    viewer = make_user(role=Role.VIEWER, department="高新技术科")
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(owner_id=owner.id, department_id=owner.department_id)
    orphan = make_enterprise()  # no owner, no department

    assert policy.can_edit_enterprise(owner, ent)
    assert policy.can_edit_enterprise(colleague, ent)
    assert not policy.can_edit_enterprise(stranger, ent)
    assert not policy.can_edit_enterprise(viewer, ent)
    assert policy.can_edit_enterprise(admin, ent)
    assert not policy.can_edit_enterprise(loner, orphan)  # None == None is not a shared dept
    assert policy.can_edit_enterprise(admin, orphan)


def test_personal_data_and_user_management(make_user):
    viewer, officer, admin = (make_user(role=r) for r in (Role.VIEWER, Role.OFFICER, Role.ADMIN))
    assert not policy.can_see_personal_data(viewer)
    assert policy.can_see_personal_data(officer)
    assert [policy.can_manage_users(u) for u in (viewer, officer, admin)] == [False, False, True]
    assert [policy.can_write(u) for u in (viewer, officer, admin)] == [False, True, True]


def test_forbidden_page_is_chinese(client, make_user):
    officer = make_user()
    AuthActions(client).login(officer.username)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


@pytest.fixture
def two_workers(databases, tmp_path):
    """Two app instances on one database: separate engines and pools, like two processes."""
    url = databases.new()
    first = make_test_app(url, tmp_path / "a")
    second = make_test_app(url, tmp_path / "b")
    with first.app_context():
        upgrade()
        auth_services.create_user(auth_services.UserData("shared", "共享", Role.OFFICER, PASSWORD))
        db.session.commit()
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_throttling_holds_across_workers(two_workers):
    first, second = two_workers
    for _ in range(10):
        AuthActions(first.test_client()).login("shared", "wrong-password-123")
    response = AuthActions(second.test_client()).login("shared")
    assert response.status_code == 429


def test_logout_on_one_worker_ends_the_session_on_the_other(two_workers):
    first, second = two_workers
    browser = first.test_client()
    AuthActions(browser).login("shared")
    cookie = browser.get_cookie("session").value
    other = second.test_client()
    other.set_cookie("session", cookie)
    assert other.get("/").status_code == 200  # the same session works on the other worker
    AuthActions(browser).logout()
    assert other.get("/").status_code == 302
