"""Where failed logins are counted for throttling: the database (`login_attempt`, which
every worker and app server shares), or Redis when `CRM_REDIS_URL` is set — a counter per
account and per address that expires with the window, so a check costs no SQL. A Redis that
cannot be reached falls back to the database for that check (logged), never to no limit."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.auth.models import LoginAttempt
from crm.extensions import db

logger = logging.getLogger(__name__)
COLUMNS = {"username": LoginAttempt.username, "ip": LoginAttempt.ip}


def redis_client() -> Any | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("crm_redis")
    if client is None:
        import redis  # noqa: PLC0415 - only deployments that use Redis load it

        client = current_app.extensions["crm_redis"] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client


def _key(kind: str, value: str) -> str:
    return f"crm:login-failures:{kind}:{value}"


def failures(kind: str, value: str, since: datetime) -> list[datetime]:
    """Times of the failed logins of this account or address after `since` and after its
    last successful login, oldest first."""
    client = redis_client()
    if client is not None:
        try:
            key = _key(kind, value)
            client.zremrangebyscore(key, "-inf", since.timestamp())
            return [
                datetime.fromtimestamp(score, UTC)
                for _, score in client.zrangebyscore(
                    key, since.timestamp(), "+inf", withscores=True
                )
            ]
        except Exception:  # noqa: BLE001 - any Redis trouble: the database still counts
            logger.warning("Redis unavailable for login throttling; counting in the database")
    column = COLUMNS[kind]
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded)
    )
    start = max(since, last_success) if last_success else since
    return list(
        db.session.scalars(
            sa.select(LoginAttempt.at)
            .where(column == value, LoginAttempt.at > start, LoginAttempt.succeeded.is_(False))
            .order_by(LoginAttempt.at)
        )
    )


def record(username: str, ip: str, ok: bool, at: datetime, window: timedelta) -> None:
    """Count a login attempt where the checks will look (the database row is written by the
    caller either way: it is also the audit of logins)."""
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        for kind, value in (("username", username), ("ip", ip)):
            key = _key(kind, value)
            if ok:
                pipe.delete(key)
            else:
                pipe.zadd(key, {f"{at.timestamp()}:{secrets.token_hex(4)}": at.timestamp()})
                pipe.expire(key, int(window.total_seconds()) + 60)
        pipe.execute()
    except Exception:  # noqa: BLE001
        logger.warning("Redis unavailable: a login attempt was counted in the database only")
