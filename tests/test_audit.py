"""The audit trail: logins, failed logins, logouts and field changes, shown where they belong."""

from __future__ import annotations

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import AuthActions, csrf_token


def _actions(**where) -> list[str]:
    stmt = sa.select(AuditEntry.action).order_by(AuditEntry.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return list(db.session.scalars(stmt))


def test_login_failed_login_and_logout_are_audited(client, make_user):
    user = make_user()
    auth = AuthActions(client)
    auth.login(user.username, "wrong-password-123")
    auth.login("nobody-at-all", "wrong-password-123")
    auth.login(user.username)
    auth.logout()
    assert _actions(user_id=user.id)[-3:] == ["login_failed", "login", "logout"]
    unknown = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "login_failed", AuditEntry.user_id.is_(None)
        )
    )
    assert unknown.changes == {"username": [None, "nobody-at-all"]}
    assert unknown.ip == "127.0.0.1"


def test_enterprise_history_shows_who_changed_what(client, make_user, make_enterprise):
    officer = make_user(display_name="沈晓峰")
    ent = make_enterprise(name="旧名称", owner_id=officer.id)
    AuthActions(client).login(officer.username)
    token = csrf_token(client, f"/enterprises/{ent.id}/edit")
    client.post(
        f"/enterprises/{ent.id}/edit",
        data={"csrf_token": token, "name": "新名称", "version": "1", "town_id": ""},
    )
    body = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    history = body.split('data-testid="history"')[1]
    assert "修改" in history and "沈晓峰" in history
    assert "<del>旧名称</del> → 新名称" in history


def test_viewers_do_not_see_history(client, make_user, make_enterprise):
    ent = make_enterprise(name="某企业")
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    assert 'data-testid="history"' not in client.get(f"/enterprises/{ent.id}").get_data(
        as_text=True
    )


def test_admin_browses_and_filters_the_audit_trail(client, make_user):
    admin = make_user(role=Role.ADMIN, display_name="管理员甲")
    other = make_user()
    AuthActions(client).login(other.username, "wrong-password-123")
    AuthActions(client).login(admin.username)
    page = client.get("/admin/audit", query_string={"action": "login_failed"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "登录失败" in body and "登录尝试 #" in body and "login_attempt #" not in body
    only_admin = client.get("/admin/audit", query_string={"user": admin.id}).get_data(as_text=True)
    assert "登录失败" not in only_admin.split("<ul", 1)[1].split('data-testid="history"')[1]


def test_the_database_refuses_to_change_audit_entries(make_enterprise):
    import pytest
    from sqlalchemy.exc import DBAPIError

    make_enterprise(name="留痕企业")
    entry_id = db.session.scalar(sa.select(sa.func.max(AuditEntry.id)))
    for statement in (
        sa.update(AuditEntry).where(AuditEntry.id == entry_id).values(action="update"),
        sa.delete(AuditEntry).where(AuditEntry.id == entry_id),
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(statement)
    assert db.session.get(AuditEntry, entry_id).action == "create"
