"""The app under gunicorn with the committed configuration, for tests that need real
worker processes (concurrency, the deployment smoke test)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    pid: int  # the gunicorn master

    def workers(self) -> list[int]:
        """The master's worker processes, as they are now."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int, log: Path | None = None) -> Iterator[str]:
    """Serve the app on a free loopback port until the block ends; yields its base URL."""
    with serve(database_url, workers, log) as served:
        yield served.base


@contextlib.contextmanager
def serve(
    database_url: str, workers: int, log: Path | None = None, **settings: str
) -> Iterator[Served]:
    """As gunicorn(), yielding the master's pid too (to kill its workers); `settings` are
    extra environment variables (CRM_…)."""
    port = free_port()
    env = {
        "CRM_EMBEDDER": "false",  # no model work beside a test unless it asks (settings)
        **os.environ,
        **settings,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "served-in-tests-0123456789abcdef",
        "CRM_BIND": f"127.0.0.1:{port}",
        "CRM_WORKERS": str(workers),
    }
    out = log.open("wb") if log else subprocess.DEVNULL
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "crm.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/login", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not answer within 60 s")
        yield Served(base, server.pid)
    finally:
        server.terminate()
        server.wait(30)
        if log:
            out.close()


def at_once(sends: list[Callable[[], T]]) -> list[T]:
    """Call every function at the same moment, each in a thread of its own (a double tap, a
    crowd of guesses); their results in order."""
    answers: list[Any] = [None] * len(sends)
    barrier = threading.Barrier(len(sends))

    def run(n: int) -> None:
        barrier.wait()
        answers[n] = sends[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(sends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return answers
