"""Login throttling counted in Redis (CRM_REDIS_URL, one script per attempt), and the database
taking over when Redis cannot be reached: the limit holds either way."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from crm.auth import services as auth
from crm.auth.models import LoginThrottle
from crm.auth.services import LoginThrottled
from crm.extensions import db
from tests.redis_server import REDIS, redis_up


@pytest.fixture
def limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_PAIR_FAILURES", 3)
    yield
    app.extensions.pop("crm_redis", None)


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_failures_counted_in_redis_make_the_pair_wait_and_a_success_clears_them(
    app, limit, monkeypatch, make_user
):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    user = make_user()
    ip = f"10.0.{uuid.uuid4().int % 250}.1"
    assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    assert auth.authenticate(user.username, "correct-horse-battery", ip) is not None  # clears
    client = app.extensions["crm_redis"]
    pair = f"crm:login-throttle:pair:{user.username}|{ip}"
    assert not client.exists(pair)
    for _ in range(3):
        assert auth.authenticate(user.username, "wrong-password-x", ip) is None
    with pytest.raises(LoginThrottled, match="请 1 分钟后再试"):
        auth.authenticate(user.username, "correct-horse-battery", ip)
    assert int(client.hget(pair, "n")) == 3  # the refused attempt was not counted
    assert client.ttl(pair) > 0  # forgotten by itself
    # nothing went to the database's counters
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) == 0
    db.session.rollback()


def test_an_unreachable_redis_falls_back_to_the_database(app, limit, monkeypatch, make_user):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    user = make_user()
    for _ in range(3):
        assert auth.authenticate(user.username, "wrong-password-x", "10.9.9.9") is None
    with pytest.raises(LoginThrottled):
        auth.authenticate(user.username, "correct-horse-battery", "10.9.9.9")
    assert db.session.get(LoginThrottle, ("pair", f"{user.username}|10.9.9.9")).failures == 3
