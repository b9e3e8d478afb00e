"""Tasks: the assignee closes them, admins reassign; the list shows one officer's work."""

from __future__ import annotations

from datetime import timedelta

from crm.auth.models import Role
from crm.clock import local_today
from crm.extensions import db
from crm.visits.models import Task
from tests.conftest import AuthActions, csrf_token


def _task(user, title="回访专家", days=0):
    task = Task(title=title, assignee_id=user.id, due_on=local_today() + timedelta(days=days))
    db.session.add(task)
    db.session.commit()
    return task


def test_assignee_completes_from_home_and_reopens(client, make_user):
    me = make_user()
    task = _task(me, "催交高企申报材料")
    AuthActions(client).login(me.username)
    token = csrf_token(client, "/")
    response = client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "next": "/"})
    assert response.headers["Location"] == "/"
    db.session.expire_all()
    assert task.done
    assert "催交高企申报材料" not in client.get("/").get_data(as_text=True)
    client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "done": "0"})
    db.session.expire_all()
    assert not task.done


def test_someone_elses_task_cannot_be_closed(client, make_user):
    other = make_user()
    task = _task(other)
    AuthActions(client).login(make_user().username)
    token = csrf_token(client, "/")
    assert client.post(f"/tasks/{task.id}/done", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert not task.done


def test_next_never_leaves_the_site(client, make_user):
    me = make_user()
    task = _task(me)
    AuthActions(client).login(me.username)
    token = csrf_token(client, "/")
    response = client.post(
        f"/tasks/{task.id}/done", data={"csrf_token": token, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/tasks"


def test_task_list_orders_open_tasks_by_due_date(client, make_user):
    me = make_user()
    _task(me, "下周的事", days=7)
    _task(me, "逾期的事", days=-3)
    _task(make_user(), "别人的事")
    AuthActions(client).login(me.username)
    body = client.get("/tasks").get_data(as_text=True)
    assert body.index("逾期的事") < body.index("下周的事")
    assert "别人的事" not in body


def test_admin_reassigns_and_sees_anyones_tasks(client, make_user):
    admin = make_user(role=Role.ADMIN)
    a, b = make_user(display_name="甲"), make_user(display_name="乙")
    viewer = make_user(role=Role.VIEWER)
    task = _task(a, "改派的事")
    AuthActions(client).login(admin.username)
    assert "改派的事" in client.get("/tasks", query_string={"assignee": a.id}).get_data(
        as_text=True
    )
    token = csrf_token(client, "/tasks")
    bad = client.post(
        f"/tasks/{task.id}/assign", data={"csrf_token": token, "assignee_id": viewer.id}
    )
    assert bad.status_code == 302
    db.session.expire_all()
    assert task.assignee_id == a.id  # a viewer cannot take tasks
    client.post(f"/tasks/{task.id}/assign", data={"csrf_token": token, "assignee_id": b.id})
    db.session.expire_all()
    assert task.assignee_id == b.id
