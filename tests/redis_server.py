"""The Redis the throttling tests use (database 15 of the machine's Redis), when it runs."""

from __future__ import annotations

REDIS = "redis://127.0.0.1:6379/15"


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping())
    except Exception:  # noqa: BLE001
        return False
