"""Each API token may make `API_RATE_LIMIT` requests a minute (fixed one-minute windows).
Counted in Redis when `CRM_REDIS_URL` is set (one INCR), else on the token's own row (one
UPDATE … RETURNING, shared by every worker and server); Redis trouble falls back to the row,
never to no limit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from crm.api.models import ApiToken
from crm.auth.throttle import redis_client
from crm.extensions import db

logger = logging.getLogger(__name__)
WINDOW = 60  # seconds


@dataclass(frozen=True)
class Allowance:
    limit: int
    used: int
    reset: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def hit(token: ApiToken) -> Allowance:
    """Count one request of `token` and say how many it has made in this window."""
    now = time.time()
    start = int(now // WINDOW * WINDOW)
    limit = int(current_app.config["API_RATE_LIMIT"])
    reset = start + WINDOW - int(now)
    client = redis_client()
    if client is not None:
        try:
            key = f"crm:api-requests:{token.digest[:24]}:{start}"  # unique across installs
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW + 5)
            used, _ = pipe.execute()
            return Allowance(limit, int(used), reset)
        except Exception:  # noqa: BLE001 - any Redis trouble: the database still counts
            logger.warning("Redis unavailable for API throttling; counting in the database")
    window = datetime.fromtimestamp(start, UTC)
    same = ApiToken.window_started_at == window
    used = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(
            window_started_at=window,
            window_requests=sa.case((same, ApiToken.window_requests + 1), else_=1),
        )
        .returning(ApiToken.window_requests)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return Allowance(limit, used, reset)
