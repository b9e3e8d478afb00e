"""Starting a `crm` command in a process of its own, for work that outlives a request (batch
matching, a big import): this app's database and secret key, output to a log file, a session
of its own so a worker restart does not stop it. Finished children are reaped on the next
start."""

from __future__ import annotations

import logging
import os
import subprocess  # nosec B404
import sys
from pathlib import Path

from flask import current_app

logger = logging.getLogger(__name__)
_children: list[subprocess.Popen[bytes]] = []


def start_command(args: list[str], log: Path, **env: str) -> int:
    """`crm ARGS…` (as `python -m crm.manage`), its output appended to `log`; returns its pid.
    The arguments are ours (a command name and record ids), never a request's text."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)
    log.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "DATABASE_URL": str(current_app.config["SQLALCHEMY_DATABASE_URI"]),
        "SECRET_KEY": str(current_app.config["SECRET_KEY"]),
        **env,
    }
    with log.open("ab") as out:
        child = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-m", "crm.manage", *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _children.append(child)
    logger.info("Started `crm %s` as process %s (log %s)", " ".join(args), child.pid, log)
    return child.pid


def wait_for_children(timeout: float) -> None:
    """Wait for the processes started here to end (tests, and a clean shutdown)."""
    for child in list(_children):
        child.wait(timeout)
        _children.remove(child)
