"""Local dates: the bureau works in China Standard Time whatever the server's clock says."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

#: Set only by tests (the `clock` fixture): the moment the app takes as now.
fixed_now: datetime | None = None


def local_now() -> datetime:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return fixed_now.astimezone(zone) if fixed_now is not None else datetime.now(zone)


def local_today() -> date:
    return local_now().date()


def as_local(moment: datetime) -> datetime:
    """A stored moment (UTC) in the county's time."""
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def start_of(day: date) -> datetime:
    """The moment a local day begins, in UTC (as moments are stored)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
