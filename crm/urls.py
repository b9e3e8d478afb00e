"""URL helpers shared by views."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_safe_next(target: str | None) -> bool:
    """Only paths inside this site: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target
