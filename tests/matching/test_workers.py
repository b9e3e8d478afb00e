"""Several workers on one database: each app instance below stands for a gunicorn worker with
its own index; they share nothing but the database (no rolled-back test transaction here)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from crm import processes
from crm.auth import services as auth
from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching import cache, index, services, thesaurus
from crm.matching.models import MatchRun
from crm.needs.models import Need
from tests.conftest import PASSWORD, AuthActions, Databases, csrf_token, make_test_app


@pytest.fixture
def workers(databases: Databases, tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    url = databases.new()
    first, second = make_test_app(url, tmp_path / "a"), make_test_app(url, tmp_path / "b")
    with first.app_context():
        upgrade()
        db.session.add_all(
            [
                Researcher(name="甲老师", research_directions="永磁同步电机设计；电机振动与噪声"),
                Researcher(name="乙老师", research_directions="真丝染色；色牢度"),
            ]
        )
        db.session.commit()
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def _names(app: Flask, text: str) -> list[str]:
    with app.app_context():
        try:
            return [c.name for c in services.match_text(text, top=5)]
        finally:
            db.session.remove()


def _index(app: Flask) -> index.MatchIndex:
    with app.app_context():
        try:
            return cache.get_index(db.session.connection())
        finally:
            db.session.remove()


def test_a_save_in_one_worker_reaches_the_other_without_a_rebuild(workers):
    first, second = workers
    theirs = _index(second)
    assert _names(second, "马达嗡嗡响") == ["甲老师"]
    with first.app_context():
        motor = db.session.scalars(db.select(Researcher).filter_by(name="甲老师")).one()
        motor.research_directions, motor.bio = "茶叶加工", None
        db.session.add(Researcher(name="丙老师", research_directions="电机噪声控制"))
        db.session.commit()
        assert _names(first, "马达嗡嗡响") == ["丙老师"]  # the worker that saved it
    assert _names(second, "马达嗡嗡响") == ["丙老师"]  # and the other one
    assert _index(second) is theirs and len(theirs.delta) == 2  # taken in, not rebuilt
    with first.app_context():
        newcomer = db.session.scalars(db.select(Researcher).filter_by(name="丙老师")).one()
        db.session.delete(newcomer)
        db.session.commit()
    assert _names(second, "马达嗡嗡响") == []  # gone everywhere
    assert _index(second) is theirs


def test_transactions_committing_out_of_order_are_all_seen(workers, databases):
    """A transaction that started writing first but commits last must not be missed: the
    version is taken at commit. (SQLite runs writers one at a time, so only PostgreSQL can
    interleave them.)"""
    if databases.kind != "postgresql":
        pytest.skip("SQLite serialises writing transactions")
    first, second = workers
    theirs = _index(second)
    with first.app_context():
        early, late = Session(db.engine), Session(db.engine)
        try:
            early.add(Researcher(name="早开始", research_directions="硅藻土提纯"))
            early.flush()  # written, not committed
            late.add(Researcher(name="晚开始", research_directions="硅藻土煅烧"))
            late.commit()
            assert _names(second, "硅藻土") == ["晚开始"]
            early.commit()
        finally:
            early.close()
            late.close()
    assert sorted(_names(second, "硅藻土")) == ["早开始", "晚开始"]
    assert _index(second) is theirs


def test_a_thesaurus_edit_in_one_worker_reaches_the_other(workers):
    first, second = workers
    assert _names(second, "瓷砖麻点") == []
    with first.app_context():
        admin = auth.create_user(
            auth.UserData("thadmin", "管理员", Role.ADMIN, "a-long-password-1")
        )
        thesaurus.create(admin, thesaurus.EntryData("麻点", "振动 0.8"))
        db.session.commit()
        db.session.remove()
    assert _names(second, "瓷砖麻点") == ["甲老师"]  # 振动 ← 麻点, through the other worker


def test_a_run_started_in_the_web_runs_as_its_own_process(workers):
    """The real thing: the admin's button starts `crm match --all --run` in a process of its
    own, which writes its progress where the page reads it."""
    first, _ = workers
    with first.app_context():
        admin = auth.create_user(auth.UserData("runadmin", "管理员", Role.ADMIN, PASSWORD))
        maker = Enterprise(name="测试马达厂")
        db.session.add_all([admin, maker])
        db.session.flush()
        db.session.add(Need(enterprise_id=maker.id, title="马达嗡嗡响"))
        db.session.commit()
        db.session.remove()
    client = first.test_client()
    AuthActions(client).login("runadmin")
    token = csrf_token(client, "/admin/matching")
    assert client.post("/admin/matching/start", data={"csrf_token": token}).status_code == 302
    with first.app_context():
        run_id = db.session.scalars(sa.select(MatchRun.id)).one()
        db.session.remove()
    deadline = time.monotonic() + 60
    while (status := client.get(f"/admin/matching/runs/{run_id}.json").get_json())[
        "status"
    ] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status["status"] == "done", status
    assert (status["done"], status["total"]) == (1, 1) and status["added"] >= 1
    processes.wait_for_children(10)  # reap what this test started


def test_the_wsgi_module_loads_jieba_and_the_index_before_the_fork(workers):
    """`gunicorn --preload 'crm.wsgi:app'`: the master loads both once; workers inherit them."""
    first, _ = workers
    env = {
        **os.environ,
        "DATABASE_URL": first.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "wsgi-test-secret-key-0123456789abcdef",
    }
    code = (
        "import crm.wsgi as w; from crm.matching import index; from crm.text import analyzer; "
        "built = w.app.extensions['match_indexes'][index.TARGETS]; "
        "print(built.size, '_tokenizer' in analyzer._analyzer.__dict__)"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["2", "True"]  # the two researchers; jieba loaded
