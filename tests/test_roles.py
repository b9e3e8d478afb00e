"""Access rules generated from app.url_map, so every new route is covered automatically."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from crm.auth.models import Role, User
from crm.extensions import db
from crm.policy import Level, declared_access
from tests.conftest import AuthActions, csrf_token

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: The only routes a viewer (or an anonymous visitor, for login) may POST to. Adding one here
#: is a decision to review, not a way to make a test pass.
SELF_SERVICE = {"auth.login", "auth.logout", "auth.password", "tokens.index", "tokens.revoke"}
SAMPLE_ARGS = {"integer": 1, "unicode": "someone", "string": "someone", "path": "x"}


def _rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _url(rule: Rule) -> str:
    def kind(conv: object) -> str:
        if isinstance(conv, IntegerConverter):  # the app's record-id converter is one too
            return "integer"
        return type(conv).__name__.lower().replace("converter", "")

    converters = {name: kind(conv) for name, conv in rule._converters.items()}
    values = {
        arg: SAMPLE_ARGS.get(converters.get(arg, "default"), "someone") for arg in rule.arguments
    }
    return rule.build(values)[1]


def _fingerprint() -> dict[str, int]:
    """Row counts of every table: a refused request must not change any of them."""
    return {
        name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for name, table in db.metadata.tables.items()
    }


def test_every_view_declares_its_access(app):
    undeclared = [
        r.endpoint for r in _rules(app) if declared_access(app.view_functions[r.endpoint]) is None
    ]
    assert undeclared == []


def test_self_service_routes_are_exactly_the_reviewed_ones(app):
    self_service = {
        r.endpoint
        for r in _rules(app)
        if r.methods & UNSAFE and declared_access(app.view_functions[r.endpoint])[1]
    }
    assert self_service == SELF_SERVICE


def _unsafe(app: Flask) -> list[tuple[Rule, str]]:
    """Writes reached with a session; /api/ takes tokens only (401 here; tests/api)."""
    return [
        (r, m)
        for r in _rules(app)
        for m in sorted(r.methods & UNSAFE)
        if not r.rule.startswith("/api/")
    ]


def test_anonymous_users_cannot_change_anything(app, client):
    token = csrf_token(client)
    before = _fingerprint()
    for rule, method in _unsafe(app):
        if rule.endpoint == "auth.login":
            continue
        response = client.open(_url(rule), method=method, data={"csrf_token": token})
        assert response.status_code in (302, 401, 403), (rule.rule, method, response.status_code)
    assert _fingerprint() == before


def test_viewers_cannot_change_anything(app, client, make_user):
    viewer = make_user(role=Role.VIEWER)
    AuthActions(client).login(viewer.username)
    token = csrf_token(client, "/")
    before = _fingerprint()
    for rule, method in _unsafe(app):
        if rule.endpoint in SELF_SERVICE:
            continue
        response = client.open(_url(rule), method=method, data={"csrf_token": token})
        assert response.status_code == 403, (rule.rule, method, response.status_code)
    assert _fingerprint() == before
    assert client.get("/").status_code == 200  # still signed in: nothing was a logout


def _admin_rules(app: Flask) -> list[Rule]:
    return [
        r for r in _rules(app) if declared_access(app.view_functions[r.endpoint])[0] == Level.ADMIN
    ]


def test_there_are_admin_routes_to_check(app):
    assert {r.endpoint for r in _admin_rules(app)} >= {"auth.users", "auth.set_active"}


@pytest.mark.parametrize("role", [Role.OFFICER, Role.VIEWER])
def test_admin_routes_refuse_other_roles(app, client, make_user, role):
    user = make_user(role=role)
    AuthActions(client).login(user.username)
    token = csrf_token(client, "/")
    before = _fingerprint()
    for rule in _admin_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method, data={"csrf_token": token})
            assert response.status_code == 403, (rule.rule, method, response.status_code)
    assert _fingerprint() == before


def test_admin_routes_open_for_admins(client, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert admin.username in page.get_data(as_text=True)


def test_admin_creates_and_deactivates_a_user(app, client, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "LouJA",
            "display_name": "楼佳安",
            "role": "officer",
            "department": "",
            "password": "a-long-enough-password",
        },
    )
    assert response.status_code == 302
    other = app.test_client()
    assert AuthActions(other).login("louja", "a-long-enough-password").status_code == 302
    response = client.post("/admin/users/louja/active", data={"csrf_token": token})
    assert response.status_code == 302
    assert other.get("/").status_code == 302  # signed out at once


def test_admin_user_form_reports_errors_in_chinese(client, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": admin.username,
            "display_name": "重复",
            "role": "officer",
            "password": "short",
        },
    )
    assert response.status_code == 400
    assert "已存在" in response.get_data(as_text=True)


def _edit(client, token, who, version, **fields):
    data = {"csrf_token": token, "display_name": "改名", "role": "officer", "department": ""}
    data.update(fields, version=str(version))
    return client.post(f"/admin/users/{who}", data=data)


def test_admin_edits_a_user_and_extra_fields_are_ignored(app, client, make_user):
    admin = make_user(role=Role.ADMIN)
    officer = make_user(username="zhoulx")
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/users/zhoulx")
    response = _edit(
        client,
        token,
        "zhoulx",
        1,
        display_name="周立新",
        role="viewer",
        department="农村与社会发展科",
        username="hacked",
        active="",
        password_hash="x",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (officer.display_name, officer.role, officer.department.name) == (
        "周立新",
        Role.VIEWER,
        "农村与社会发展科",
    )
    assert officer.username == "zhoulx" and officer.active is True
    assert officer.version == 2


def test_stale_user_edit_is_refused_and_shows_both_versions(app, client, make_user):
    admin = make_user(role=Role.ADMIN)
    make_user(username="yujg", display_name="俞建国")
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/users/yujg")
    assert _edit(client, token, "yujg", 1, display_name="第一位管理员的修改").status_code == 302
    response = _edit(client, token, "yujg", 1, display_name="第二位管理员的修改")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改" in body
    assert "第一位管理员的修改" in body and "第二位管理员的修改" in body
    assert 'name="version" type="hidden" value="2"' in body
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.username == "yujg"))
    assert user.display_name == "第一位管理员的修改"  # the first save is kept


def test_admin_resets_a_password_from_the_web(app, client, make_user):
    admin = make_user(role=Role.ADMIN)
    officer = make_user(username="mahw")
    browser = app.test_client()
    AuthActions(browser).login("mahw")
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/users/mahw")
    response = _edit(client, token, "mahw", officer.version, new_password="reset-by-admin-01")
    assert response.status_code == 302
    assert browser.get("/").status_code == 302  # the officer's old session ended
    db.session.expire_all()
    assert officer.version == 2  # name and password changed in one versioned write
    assert AuthActions(app.test_client()).login("mahw", "reset-by-admin-01").status_code == 302


def test_last_admin_cannot_be_demoted(client, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    token = csrf_token(client, f"/admin/users/{admin.username}")
    response = _edit(client, token, admin.username, admin.version, role="officer")
    assert response.status_code == 400
    assert "最后一个启用的管理员" in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.role == Role.ADMIN
