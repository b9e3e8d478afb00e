"""Signing in and out: CSRF, server-side sessions, throttling, safe redirects, cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from crm.auth import services
from crm.auth.models import LoginAttempt, Role, UserSession
from crm.errors import ValidationError
from crm.extensions import db
from tests.conftest import PASSWORD, AuthActions, csrf_token, make_test_app


def test_login_through_form_shows_home(client, auth, make_user):
    user = make_user(display_name="沈晓峰")
    response = auth.login(user.username)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "沈晓峰" in page
    assert "我的工作台" in page


def test_wrong_password_is_refused_and_recorded(client, auth, make_user):
    user = make_user()
    response = auth.login(user.username, "wrong-password-123")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out
    attempts = db.session.scalars(
        sa.select(LoginAttempt).where(LoginAttempt.username == user.username)
    ).all()
    assert [a.succeeded for a in attempts] == [False]


def test_unknown_user_gets_the_same_message(auth):
    response = auth.login("nobody-here", "whatever-password")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "令牌" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_ends_the_session_for_a_copied_cookie(app, client, auth, make_user):
    user = make_user()
    auth.login(user.username)
    assert client.get("/").status_code == 200
    stolen = client.get_cookie("session").value

    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    revoked = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert all(s.revoked_at is not None for s in revoked)


def test_password_change_ends_other_sessions(app, client, auth, make_user):
    user = make_user()
    other = app.test_client()
    AuthActions(other).login(user.username)
    auth.login(user.username)

    token = csrf_token(client, "/password")
    response = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "a-brand-new-passphrase",
            "confirm": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302  # the other one is out
    assert AuthActions(app.test_client()).login(user.username).status_code == 200  # old refused
    fresh = AuthActions(app.test_client()).login(user.username, "a-brand-new-passphrase")
    assert fresh.status_code == 302


def test_password_change_rejects_short_password(client, auth, make_user):
    user = make_user()
    auth.login(user.username)
    token = csrf_token(client, "/password")
    response = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm": "short",
        },
    )
    assert response.status_code == 400
    assert "至少需要 10 个字符" in response.get_data(as_text=True)


def test_deactivation_ends_sessions(app, client, auth, make_user):
    user = make_user()
    auth.login(user.username)
    assert client.get("/").status_code == 200
    services.deactivate_user(user.username)
    db.session.commit()
    assert client.get("/").status_code == 302
    assert AuthActions(app.test_client()).login(user.username).status_code == 200  # refused


def test_idle_timeout_signs_out(app, client, auth, make_user, monkeypatch):
    user = make_user()
    monkeypatch.setattr(app, "permanent_session_lifetime", timedelta(seconds=1))
    auth.login(user.username)
    assert client.get("/").status_code == 200
    signed_at = TimestampSigner.get_timestamp
    later = lambda self: signed_at(self) + 2  # noqa: E731 - two idle seconds, without waiting
    monkeypatch.setattr(TimestampSigner, "get_timestamp", later)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/password", "/password"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_redirects_inside_the_site(client, make_user, target, expected):
    user = make_user()
    token = csrf_token(client)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == expected


def test_session_cookie_flags(client, auth, make_user):
    user = make_user()
    response = auth.login(user.username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # not production


def test_production_cookies_are_secure(databases, tmp_path):
    app = make_test_app(databases.new(), tmp_path, ENV_NAME="production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_passwords_are_hashed_and_long_enough(make_user):
    user = make_user()
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    with pytest.raises(ValidationError, match="至少需要 10 个字符"):
        services.create_user(services.UserData("shorty", "短", Role.OFFICER, "123456789"))
