"""A `kill -9` in the middle of an import leaves nothing behind (a real process, a real database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from crm.config import normalise_database_url
from tests.imports.helpers import write_csv

CRM = str(Path(sys.executable).with_name("crm"))


def _env(url: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "kill-test-secret-key-0123456789",
        "CRM_LOG_LEVEL": "WARNING",
    }


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(normalise_database_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("researcher", "institution", "import_batch", "search_term")
            }
    finally:
        engine.dispose()


def test_kill_during_import_leaves_nothing(databases, tmp_path):
    url = databases.new()
    env = _env(url, tmp_path)
    subprocess.run([CRM, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [CRM, "user", "create", "chief", "--role", "admin", "--password-stdin"],
        env=env,
        input="kill-test-password-1\n",
        text=True,
        check=True,
        capture_output=True,
    )
    rows = [["姓名", "所在单位", "研究方向", "个人简介"]] + [
        [
            f"专家{i}",
            f"第{i % 40}研究院",
            "永磁同步电机设计；电磁振动与噪声",
            f"长期从事电机研究{i}",
        ]
        for i in range(12_000)
    ]
    sheet = write_csv(tmp_path / "roster.csv", rows)

    with subprocess.Popen(
        [CRM, "import", str(sheet), "--user", "chief"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as process:
        deadline = time.monotonic() + 120
        assert process.stderr is not None
        for line in process.stderr:  # wait until it is well into the rows
            if "已处理 5,000 行" in line or time.monotonic() > deadline:
                break
        assert process.poll() is None, "the import finished before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)  # the import and any worker it forked
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert _counts(url) == {"researcher": 0, "institution": 0, "import_batch": 0, "search_term": 0}

    # the database is fine afterwards: the same import runs to the end
    done = subprocess.run(
        [CRM, "import", str(sheet), "--user", "chief"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    counts = _counts(url)
    assert counts["researcher"] == 12_000 and counts["import_batch"] == 1
