"""Login throttling that slows a guesser without locking out the innocent.

Three counters of failed logins, each in one row of `login_throttle` (or one Redis hash when
`CRM_REDIS_URL` is set, so every worker and app server shares them):

- `pair` — one account from one address. After `LOGIN_PAIR_FAILURES` failures (5) each
  further attempt waits, 1 minute, then 2, 4, 8 … up to `LOGIN_MAX_DELAY_MINUTES` (15). A
  colleague mistyping in the same office (same address, another account) is not affected.
- `account` — one account from anywhere, counted only for addresses the account has not signed
  in from (in the last 90 days). Past `LOGIN_MAX_FAILURES` (20) unknown addresses wait in the
  same way — a known address still gets in, so guessing the user's name (pinyin) does not let
  anyone lock the user out.
- `address` — one address, for accounts not known there. Past `LOGIN_MAX_FAILURES_PER_IP`
  (100), the address waits for accounts it has never signed in to; the office whose staff
  share that address signs in as usual.

The account and address counters remember a day; a pair forgets after its quiet window plus
the longest wait.

Each attempt *claims* its check before the password is hashed, in one atomic statement (an
upsert that counts the attempt and sets the wait it would earn if it fails, unless a wait is
running) or one Redis script: 30 simultaneous guesses get 30 different counts, and only those
within the allowance are checked. A right password then clears its pair (and gives back its
place in the other two). A counter forgets after a quiet window plus the longest wait.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from crm.auth.models import LoginAttempt, LoginThrottle
from crm.db import utcnow
from crm.extensions import db

logger = logging.getLogger(__name__)
KNOWN_FOR = timedelta(days=90)  # an address signed in from within this is "known"
FIRST_WAIT = timedelta(minutes=1)
#: the account and address counters remember a day (guessing spread over hours adds up); a
#: pair forgets after its quiet window plus the longest wait (the user has gone away)
LONG_MEMORY = timedelta(hours=24)

LIMITS = {  # scope → the setting that says how many failures are free
    "pair": "LOGIN_PAIR_FAILURES",
    "account": "LOGIN_MAX_FAILURES",
    "address": "LOGIN_MAX_FAILURES_PER_IP",
}


@dataclass(frozen=True)
class Rules:
    free: int
    max_wait: timedelta
    window: timedelta
    long_memory: bool = False

    @classmethod
    def of(cls, scope: str) -> Rules:
        cfg = current_app.config
        return cls(
            free=int(cfg[LIMITS[scope]]),
            max_wait=timedelta(minutes=int(cfg["LOGIN_MAX_DELAY_MINUTES"])),
            window=timedelta(minutes=int(cfg["LOGIN_FAILURE_WINDOW_MINUTES"])),
            long_memory=scope != "pair",
        )

    def wait(self, failures: int) -> timedelta:
        """How long the next attempt waits after `failures` failures."""
        if failures < self.free:
            return timedelta(0)
        return min(self.max_wait, FIRST_WAIT * 2 ** min(failures - self.free, 20))

    @property
    def forget_after(self) -> timedelta:
        quiet = self.window + self.max_wait
        return max(quiet, LONG_MEMORY) if self.long_memory else quiet


def is_known(username: str, ip: str, now: datetime) -> bool:
    """Has this account signed in from this address lately?"""
    return (
        db.session.scalar(
            sa.select(LoginAttempt.id)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.ip == ip,
                LoginAttempt.succeeded.is_(True),
                LoginAttempt.at > now - KNOWN_FOR,
            )
            .limit(1)
        )
        is not None
    )


def claim(scope: str, key: str, now: datetime) -> datetime | None:
    """Count an attempt, unless a wait is running: None when it may be checked now, else the
    moment the wait ends (nothing counted)."""
    rules = Rules.of(scope)
    client = redis_client()
    if client is not None:
        try:
            return _claim_redis(client, scope, key, rules, now)
        except Exception:  # noqa: BLE001 - any Redis trouble: the database still counts
            logger.warning("Redis unavailable for login throttling; counting in the database")
    return _claim_db(scope, key, rules, now)


def release(scope: str, key: str, checked: bool = True) -> None:
    """Give back a claimed place: a right password (`checked`) starts its pair afresh; an
    attempt refused by a later counter, never checked, is not counted at all."""
    fresh = checked and scope == "pair"
    client = redis_client()
    if client is not None:
        try:
            client.eval(_RELEASE, 1, _redis_key(scope, key), 1 if fresh else 0)
            return
        except Exception:  # noqa: BLE001
            logger.warning("Redis unavailable for login throttling; counting in the database")
    table = LoginThrottle.__table__
    where = sa.and_(table.c.scope == scope, table.c.key == key)
    if fresh:
        db.session.execute(sa.delete(table).where(where))
        forgotten = utcnow() - LONG_MEMORY - Rules.of(scope).max_wait  # nobody's any more
        db.session.execute(sa.delete(table).where(table.c.last_at < forgotten))
    else:  # a wait another attempt has started stays
        db.session.execute(
            sa.update(table)
            .where(where, table.c.failures > 0)
            .values(failures=table.c.failures - 1)
        )


def minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))


# ---- the database: one upsert per claim ---------------------------------------------------------


def _claim_db(scope: str, key: str, rules: Rules, now: datetime) -> datetime | None:
    table = LoginThrottle.__table__
    stale = now - rules.forget_after
    failures = sa.case((table.c.last_at < stale, 1), else_=table.c.failures + 1)
    steps = math.ceil(math.log2(max(rules.max_wait / FIRST_WAIT, 1))) + 1  # until the cap
    at = table.c.blocked_until.type  # moments as the column stores them (UTC, naive on SQLite)
    waits = [
        (failures == n, sa.literal(now + rules.wait(n), at))
        for n in range(rules.free, rules.free + steps)
    ]
    # no wait earned: NULL, not "now" — a request that read the clock a moment earlier and
    # waited for the lock would take a past "now" for a running wait
    blocked_until = sa.case(
        (failures < rules.free, sa.null()),
        *waits,
        else_=sa.literal(now + rules.max_wait, at),
    )
    first_wait = rules.wait(1)
    insert = _dialect_insert(table).values(
        scope=scope,
        key=key,
        failures=1,
        last_at=now,
        blocked_until=now + first_wait if first_wait else None,
    )
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.key],
        set_={"failures": failures, "last_at": now, "blocked_until": blocked_until},
        where=sa.or_(
            table.c.blocked_until.is_(None),
            table.c.blocked_until <= now,
            table.c.last_at < stale,
        ),
    ).returning(table.c.failures)
    if db.session.execute(statement).first() is not None:
        return None
    until = db.session.scalar(
        sa.select(table.c.blocked_until).where(table.c.scope == scope, table.c.key == key)
    )
    return until or now


def _dialect_insert(table: sa.Table) -> Any:
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# ---- Redis: one script per claim ---------------------------------------------------------------

_CLAIM = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local till = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])
local free, first, most, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
if last < stale then n = 0; till = 0 end
if till > now then return {0, tostring(till)} end
n = n + 1
local till_next = 0
if n >= free then till_next = now + math.min(most, first * 2 ^ math.min(n - free, 20)) end
redis.call('HSET', KEYS[1], 'n', n, 'last', now, 'until', till_next)
redis.call('EXPIRE', KEYS[1], ttl)
return {1, tostring(till_next)}
"""

_RELEASE = """
if ARGV[1] == '1' then return redis.call('DEL', KEYS[1]) end
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return 0
"""


def _redis_key(scope: str, key: str) -> str:
    return f"crm:login-throttle:{scope}:{key}"


def _claim_redis(client: Any, scope: str, key: str, rules: Rules, now: datetime) -> datetime | None:
    allowed, until = client.eval(
        _CLAIM,
        1,
        _redis_key(scope, key),
        now.timestamp(),
        (now - rules.forget_after).timestamp(),
        rules.free,
        FIRST_WAIT.total_seconds(),
        rules.max_wait.total_seconds(),
        int(rules.forget_after.total_seconds()) + 60,
    )
    if int(allowed):
        return None
    return datetime.fromtimestamp(float(until), UTC)


def redis_client() -> Any | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("crm_redis")
    if client is None:
        import redis  # noqa: PLC0415 - installed with the app, imported only once a URL is set

        client = current_app.extensions["crm_redis"] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client
