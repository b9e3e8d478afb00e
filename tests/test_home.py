"""The home page shows the signed-in officer's own work, and nobody else's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm.auth.models import Role
from crm.clock import local_today
from crm.db import utcnow
from crm.extensions import db
from crm.visits.models import Task, Visit
from tests.conftest import AuthActions


def test_home_shows_own_tasks_visits_and_neglected_enterprises(client, make_user, make_enterprise):
    me = make_user(display_name="周立新")
    other = make_user()
    today = local_today()
    visited = make_enterprise(name="越岭茶业有限公司", owner_id=me.id)
    neglected = make_enterprise(name="剡溪茶场有限公司", owner_id=me.id)
    make_enterprise(name="别人的企业", owner_id=other.id)
    db.session.add_all(
        [
            Visit(enterprise_id=visited.id, officer_id=me.id, visited_on=today - timedelta(days=3)),
            Visit(
                enterprise_id=neglected.id, officer_id=me.id, visited_on=today - timedelta(days=120)
            ),
            Task(title="催交高企申报材料", assignee_id=me.id, due_on=today - timedelta(days=2)),
            Task(title="回访专家对接", assignee_id=me.id, due_on=today),
            Task(title="已完成的事", assignee_id=me.id, due_on=today, done_at=utcnow()),
            Task(title="别人的待办", assignee_id=other.id, due_on=today),
        ]
    )
    db.session.commit()

    AuthActions(client).login(me.username)
    page = client.get("/").get_data(as_text=True)
    assert "周立新" in page
    assert "负责企业 2 家" in page
    assert "催交高企申报材料" in page
    assert "回访专家对接" in page
    assert "已完成的事" not in page
    assert "别人的待办" not in page
    stale_section = page.split("未走访的企业")[1]
    assert "剡溪茶场有限公司" in stale_section
    assert "越岭茶业有限公司" not in stale_section
    assert "别人的企业" not in page


def test_home_has_empty_states(client, make_user):
    me = make_user()
    AuthActions(client).login(me.username)
    page = client.get("/").get_data(as_text=True)
    assert "没有逾期的待办" in page
    assert "还没有走访记录" in page


def test_home_shows_the_tasks_of_the_next_seven_days_apart(client, make_user, clock):
    """A task due in 5 days is on the home page, under its own heading (not 今日 or 逾期);
    one due in 8 days is not yet."""
    clock.set(date(2026, 12, 1))
    me = make_user()
    db.session.add_all(
        [
            Task(title="今天的事", assignee_id=me.id, due_on=date(2026, 12, 1)),
            Task(title="五天后的事", assignee_id=me.id, due_on=date(2026, 12, 6)),
            Task(title="第八天的事", assignee_id=me.id, due_on=date(2026, 12, 9)),
        ]
    )
    db.session.commit()
    AuthActions(client).login(me.username)
    page = client.get("/").get_data(as_text=True)
    ahead = page.split('data-testid="tasks-ahead"')[1].split("</section>")[0]
    assert "未来 7 天待办" in ahead
    assert "五天后的事" in ahead and "截止 2026-12-06" in ahead
    assert "今天的事" not in ahead and "第八天的事" not in page
    today_section = page.split("今日待办")[1].split("</section>")[0]
    assert "五天后的事" not in today_section


@pytest.mark.parametrize(
    ("role", "register", "ask_admin"),
    [(Role.OFFICER, True, True), (Role.ADMIN, True, False), (Role.VIEWER, False, False)],
)
def test_a_new_officer_is_told_how_to_get_enterprises(client, make_user, role, register, ask_admin):
    """No enterprise yet: not "all visited", but how to get some."""
    AuthActions(client).login(make_user(role=role).username)
    page = client.get("/").get_data(as_text=True)
    assert "负责的企业没有超过 90 天未走访的" not in page
    assert 'data-testid="no-enterprises"' in page
    assert ('href="/enterprises/new"' in page) is register
    assert ("请管理员把已有的企业分配给您" in page) is ask_admin


def test_an_officer_whose_firms_were_all_visited_is_told_so(client, make_user, make_enterprise):
    me = make_user()
    ent = make_enterprise(owner_id=me.id)
    db.session.add(Visit(enterprise_id=ent.id, officer_id=me.id, visited_on=local_today()))
    db.session.commit()
    AuthActions(client).login(me.username)
    page = client.get("/").get_data(as_text=True)
    assert "负责的企业没有超过 90 天未走访的" in page and 'data-testid="no-enterprises"' not in page


def test_a_firm_never_visited_is_neglected_only_once_it_has_been_on_the_books_that_long(
    client, make_user, make_enterprise
):
    from datetime import UTC, datetime

    me = make_user()
    make_enterprise(name="刚登记的企业", owner_id=me.id)
    old = make_enterprise(name="登记已久的企业", owner_id=me.id)
    old.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    db.session.commit()
    AuthActions(client).login(me.username)
    page = client.get("/").get_data(as_text=True)
    stale = page.split('id="stale-h"', 1)[1]
    assert "登记已久的企业" in stale and "从未走访" in stale
    assert "刚登记的企业" not in stale
