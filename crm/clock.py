"""Local dates: the bureau works in China Standard Time whatever the server's clock says."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_now() -> datetime:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"]))


def local_today() -> date:
    return local_now().date()
