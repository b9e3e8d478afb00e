"""Login throttling counted in Redis (CRM_REDIS_URL), and the database taking over when Redis
cannot be reached: the limit holds either way."""

from __future__ import annotations

import uuid

import pytest

from crm.auth import services as auth
from crm.auth.services import LoginThrottled
from crm.extensions import db
from tests.redis_server import REDIS, redis_up


@pytest.fixture
def limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 100)
    yield
    app.extensions.pop("crm_redis", None)


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_failures_counted_in_redis_lock_the_account_and_a_success_clears_them(
    app, limit, monkeypatch, make_user
):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    user = make_user()
    ip = f"10.0.{uuid.uuid4().int % 250}.1"
    assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    assert auth.authenticate(user.username, "correct-horse-battery", ip) is not None  # clears
    for _ in range(3):
        assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    with pytest.raises(LoginThrottled, match="账号登录失败次数过多"):
        auth.authenticate(user.username, "correct-horse-battery", ip)
    client = app.extensions["crm_redis"]
    assert client.zcard(f"crm:login-failures:username:{user.username}") == 3
    db.session.rollback()


def test_an_unreachable_redis_falls_back_to_the_database(app, limit, monkeypatch, make_user):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    user = make_user()
    for _ in range(3):
        assert auth.authenticate(user.username, "wrong-password-x", "10.9.9.9") is None
    with pytest.raises(LoginThrottled):
        auth.authenticate(user.username, "correct-horse-battery", "10.9.9.9")
