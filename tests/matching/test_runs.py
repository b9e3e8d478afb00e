"""Batch matching started from the web: one run at a time, progress written as it goes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.matching import batch, runs
from crm.matching.models import MatchRun, RunStatus, Suggestion
from tests.conftest import AuthActions, csrf_token


def test_an_admin_starts_one_run_at_a_time(experts, client, make_user, monkeypatch):
    launched = []
    monkeypatch.setattr(runs, "launch", lambda run, user: launched.append((run.id, user.id)))
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/matching")
    response = client.post("/admin/matching/start", data={"csrf_token": token})
    assert response.status_code == 302
    run = db.session.scalars(sa.select(MatchRun)).one()
    assert run.status == RunStatus.RUNNING and run.total == 1 and launched == [(run.id, admin.id)]
    page = client.get("/admin/matching").get_data(as_text=True)
    assert 'data-testid="run-progress"' in page and "start-run" not in page
    again = client.post("/admin/matching/start", data={"csrf_token": token}, follow_redirects=True)
    assert "已有一次批量匹配正在运行" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(MatchRun.id))) == 1 and len(launched) == 1


def test_a_run_whose_process_died_does_not_block_the_next(experts, make_user):
    admin = make_user(role=Role.ADMIN)
    dead = runs.start(admin)
    dead.heartbeat_at = utcnow() - runs.STALE - timedelta(minutes=1)
    db.session.commit()
    assert runs.running() is None
    assert runs.start(admin).id != dead.id


def test_the_run_process_reports_progress_and_the_result(experts, runner, make_user, client):
    admin = make_user(role=Role.ADMIN)
    run = runs.start(admin)
    db.session.commit()
    result = runner.invoke(args=["match", "--all", "--user", admin.username, "--run", str(run.id)])
    assert result.exit_code == 0, result.output
    db.session.refresh(run)
    added = db.session.scalar(sa.select(sa.func.count(Suggestion.id)))
    assert (run.status, run.done, run.total, run.added) == (RunStatus.DONE, 1, 1, added)
    assert added >= 1 and run.finished_at is not None
    AuthActions(client).login(admin.username)
    status = client.get(f"/admin/matching/runs/{run.id}.json").get_json()
    assert status["status"] == "done" and status["percent"] == 100 and status["added"] == added


def test_a_failed_run_says_so_and_keeps_nothing_half_done(experts, runner, make_user, monkeypatch):
    admin = make_user(role=Role.ADMIN)
    run = runs.start(admin)
    db.session.commit()

    def broken(*_args, **_kwargs):
        db.session.add(Suggestion(need_id=experts[2].id, researcher_id=experts[0]["grid"].id))
        db.session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch, "generate_all", broken)
    result = runner.invoke(args=["match", "--all", "--user", admin.username, "--run", str(run.id)])
    assert result.exit_code != 0
    db.session.refresh(run)
    assert run.status == RunStatus.FAILED and "出错" in run.message
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == 0


def test_only_admins_run_batches(experts, client, make_user):
    AuthActions(client).login(make_user(role=Role.OFFICER).username)
    assert client.get("/admin/matching").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/admin/matching/start", data={"csrf_token": token}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(MatchRun.id))) == 0
