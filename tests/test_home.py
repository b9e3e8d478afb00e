"""The home page shows the signed-in officer's own work, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

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
