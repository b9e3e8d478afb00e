"""Login throttling slows a guesser and locks out no innocent: per account *and* address, with
waits that grow; a softer limit per account that a known address passes; a limit per address
that the office's own staff pass; and counts taken atomically — thirty guesses at once get
exactly the allowance checked, on SQLite and PostgreSQL, through gunicorn's workers."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth import services as auth_services
from crm.auth.models import LoginAttempt, LoginThrottle, Role
from crm.db import utcnow
from crm.extensions import db
from tests.conftest import PASSWORD, AuthActions, Databases, make_test_app
from tests.redis_server import REDIS, redis_up
from tests.serving import at_once, gunicorn
from tests.test_concurrency import TOKEN, Browser

WRONG = "wrong-password-123"


@pytest.fixture(params=["database", "redis"])
def backend(request, app, monkeypatch):
    """Counted in the database, or in Redis (`CRM_REDIS_URL`): the same rules either way."""
    if request.param == "redis":
        if not redis_up():
            pytest.skip("no Redis at 127.0.0.1:6379")
        monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    yield request.param
    app.extensions.pop("crm_redis", None)


@pytest.fixture
def net() -> str:
    """This test's own addresses (Redis keeps its counters between tests)."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}."


def _from(client, address: str) -> AuthActions:
    """A browser at an address (the office's, a phone's, an attacker's)."""
    client.environ_base["REMOTE_ADDR"] = address
    return AuthActions(client)


def _time_passes(app, minutes: int) -> None:
    """Every running wait and every last failure moves `minutes` into the past."""
    if app.config.get("REDIS_URL"):
        redis = app.extensions["crm_redis"]
        for key in redis.scan_iter("crm:login-throttle:*"):
            for field in ("last", "until"):
                value = redis.hget(key, field)
                if value is not None:
                    redis.hset(key, field, float(value) - minutes * 60)
        return
    for row in db.session.scalars(sa.select(LoginThrottle)):
        row.last_at -= timedelta(minutes=minutes)
        if row.blocked_until is not None:
            row.blocked_until -= timedelta(minutes=minutes)
    db.session.commit()


def test_one_account_from_one_address_waits_longer_each_time(app, backend, net, make_user, caplog):
    user = make_user()
    colleague = make_user()
    office = _from(app.test_client(), net + "1")
    home = _from(app.test_client(), net + "2")
    assert home.login(user.username).status_code == 302  # home is a known address now
    for _ in range(5):
        assert office.login(user.username, WRONG).status_code == 200
    with caplog.at_level(logging.WARNING, logger="crm.auth.services"):
        waiting = office.login(user.username)  # even the right password waits
    assert waiting.status_code == 429
    body = waiting.get_data(as_text=True)
    assert "登录失败次数过多" in body and "请 1 分钟后再试" in body
    # (the records' own text: formatting them now would read ORM objects of ended requests)
    assert any(r.msg.startswith("Login throttled") and r.args[0] == "pair" for r in caplog.records)

    # nobody else is locked out: the colleague at the same desk, the user at home
    assert _from(app.test_client(), net + "1").login(colleague.username).status_code == 302
    assert _from(app.test_client(), net + "2").login(user.username).status_code == 302

    _time_passes(app, 1)
    assert office.login(user.username, WRONG).status_code == 200
    assert "请 2 分钟后再试" in office.login(user.username).get_data(as_text=True)
    _time_passes(app, 2)
    assert office.login(user.username, WRONG).status_code == 200
    assert "请 4 分钟后再试" in office.login(user.username).get_data(as_text=True)
    _time_passes(app, 4)
    assert office.login(user.username).status_code == 302  # waited: the right one gets in
    assert _count(app, "pair", f"{user.username}|{net}1") == 0  # and the pair starts afresh


def test_guessing_from_many_addresses_leaves_the_known_one_open(
    app, backend, net, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user()
    assert _from(app.test_client(), net + "3").login(user.username).status_code == 302
    for n in range(3):
        guess = _from(app.test_client(), f"{net}{100 + n}")
        assert guess.login(user.username, WRONG).status_code == 200
    stranger = _from(app.test_client(), net + "99").login(user.username)
    assert stranger.status_code == 429
    assert "只能从您常用的地点登录" in stranger.get_data(as_text=True)
    assert _from(app.test_client(), net + "3").login(user.username).status_code == 302


def test_a_spray_from_one_address_does_not_lock_the_office_out(
    app, backend, net, make_user, monkeypatch
):
    """Many accounts guessed from the office's shared address: the address then waits for
    accounts it has never signed in to; the staff who sign in there are not affected."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 3)
    staff = make_user()
    newcomer = make_user()
    office = net + "4"
    assert _from(app.test_client(), office).login(staff.username).status_code == 302
    for n in range(3):
        assert _from(app.test_client(), office).login(f"zhang{n}", WRONG).status_code == 200
    refused = _from(app.test_client(), office).login(newcomer.username)
    assert refused.status_code == 429
    assert "该地址登录失败次数过多" in refused.get_data(as_text=True)
    assert _from(app.test_client(), office).login(staff.username).status_code == 302
    assert _from(app.test_client(), net + "5").login(newcomer.username).status_code == 302


def test_a_pair_is_forgotten_after_a_quiet_window(app, backend, net, make_user):
    user = make_user()
    browser = _from(app.test_client(), net + "6")
    for _ in range(5):
        browser.login(user.username, WRONG)
    assert browser.login(user.username).status_code == 429
    _time_passes(app, 31)  # 15 quiet minutes after the longest wait (15)
    _wait_until(app, "pair", f"{user.username}|{net}6", minutes=5)  # even a wait set then:
    assert browser.login(user.username).status_code == 302  # the counter is stale, starts again


def test_guessing_spread_over_hours_still_adds_up(app, backend, net, make_user, monkeypatch):
    """The account's counter remembers a day: a guesser who pauses an hour is not given the
    free attempts again — the next failure makes the next wait longer."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user()
    for n in range(3):
        assert (
            _from(app.test_client(), f"{net}{10 + n}").login(user.username, WRONG).status_code
            == 200
        )
    _time_passes(app, 60)
    assert _from(app.test_client(), net + "20").login(user.username, WRONG).status_code == 200
    waiting = _from(app.test_client(), net + "21").login(user.username)
    assert waiting.status_code == 429 and " 2 分钟后再试" in waiting.get_data(as_text=True)


def test_an_attempt_refused_by_one_counter_is_not_counted_by_the_others(
    app, backend, net, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 2)
    user = make_user()
    spray = net + "30"
    for n in range(2):
        _from(app.test_client(), spray).login(f"li{n}", WRONG)
    for _ in range(3):  # refused by the address: never checked
        assert _from(app.test_client(), spray).login(user.username, WRONG).status_code == 429
    assert _count(app, "pair", f"{user.username}|{spray}") == 0
    assert _count(app, "account", user.username) == 0


def _count(app, scope: str, key: str) -> int:
    if app.config.get("REDIS_URL"):
        value = app.extensions["crm_redis"].hget(f"crm:login-throttle:{scope}:{key}", "n")
        return int(value or 0)
    db.session.expire_all()
    row = db.session.get(LoginThrottle, (scope, key))
    return row.failures if row else 0


def _wait_until(app, scope: str, key: str, minutes: int) -> None:
    moment = utcnow() + timedelta(minutes=minutes)
    if app.config.get("REDIS_URL"):
        app.extensions["crm_redis"].hset(
            f"crm:login-throttle:{scope}:{key}", "until", moment.timestamp()
        )
        return
    db.session.get(LoginThrottle, (scope, key)).blocked_until = moment
    db.session.commit()


# ---- at the same moment, through real workers --------------------------------------------------


@pytest.fixture
def served(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        auth_services.create_user(auth_services.UserData("guessed", "被猜", Role.OFFICER, PASSWORD))
        for n in range(8):
            auth_services.create_user(
                auth_services.UserData(f"staff{n}", f"同事{n}", Role.OFFICER, PASSWORD)
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with gunicorn(url, workers=2) as base:
        yield app, base
    with app.app_context():
        db.engine.dispose()


def _sign_ins_at_once(base: str, attempts: list[tuple[str, str]]) -> list[int]:
    """Each (username, password) from a browser of its own (the login page read first), all
    sent at the same moment; their statuses in order."""
    browsers = [Browser(base) for _ in attempts]
    bodies = []
    for browser, (username, password) in zip(browsers, attempts, strict=True):
        _, page = browser.get("/login")
        token = TOKEN.search(page).group(1)
        bodies.append({"csrf_token": token, "username": username, "password": password})
    return at_once(
        [
            lambda b=b, body=body: b.send("/login", body)
            for b, body in zip(browsers, bodies, strict=True)
        ]
    )


def test_thirty_guesses_at_once_get_only_the_allowance_checked(served):
    app, base = served
    statuses = _sign_ins_at_once(base, [("guessed", WRONG)] * 30)
    assert sorted(statuses) == [200] * 5 + [429] * 25, statuses
    with app.app_context():
        checked = db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)))
        assert checked == 5  # only the allowance's passwords were hashed and compared
        db.session.remove()


def test_an_office_signing_in_at_nine_gets_in_at_once(served):
    """Eight colleagues signing in for the first time at the same moment from the office's
    one address: all get in. (A counter with no wait earned once held the moment it was
    counted; a colleague whose request read the clock a moment earlier, and then waited for
    the database, took that for a running wait: 3 of 8 were told to wait a minute.)"""
    _, base = served
    statuses = _sign_ins_at_once(base, [(f"staff{n}", PASSWORD) for n in range(8)])
    assert statuses == [302] * 8, statuses
