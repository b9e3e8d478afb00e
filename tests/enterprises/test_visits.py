"""Logging a visit: needs found become Need records, the next step becomes a Task."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.clock import local_today
from crm.extensions import db
from crm.needs.models import Need, NeedStatus
from crm.visits.models import Task, Visit
from tests.conftest import AuthActions, csrf_token
from tests.pages import form_to


def _visit_form(token, **fields):
    data = {
        "csrf_token": token,
        "visited_on": local_today().isoformat(),
        "notes": "与总经理座谈",
        "needs-0-title": "",
        "needs-0-description": "",
        "needs-1-title": "",
        "needs-1-description": "",
        "next_step": "",
        "next_due": "",
    }
    data.update(fields)
    return data


def test_visit_with_a_need_and_a_next_step(client, make_user, make_enterprise):
    officer = make_user(display_name="金海燕")
    companion = make_user(display_name="俞建国")
    ent = make_enterprise(name="浙江锦程领带有限公司", owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{local_today().isoformat()}"' in page  # date defaults to today
    token = csrf_token(client, url)
    response = client.post(
        url,
        data=_visit_form(
            token,
            companions=str(companion.id),
            **{"needs-0-title": "领带面料起皱", "needs-0-description": "打结后起皱起褶"},
            next_step="联系香港理工大学专家",
        ),
    )
    assert response.status_code == 302
    visit = db.session.scalar(sa.select(Visit).where(Visit.enterprise_id == ent.id))
    assert visit.officer_id == officer.id
    assert [u.display_name for u in visit.companions] == ["俞建国"]
    need = db.session.scalar(sa.select(Need).where(Need.visit_id == visit.id))
    assert (need.title, need.status, need.enterprise_id) == (
        "领带面料起皱",
        NeedStatus.OPEN,
        ent.id,
    )
    task = db.session.scalar(sa.select(Task).where(Task.visit_id == visit.id))
    assert task.assignee_id == officer.id
    assert task.due_on == local_today() + timedelta(days=7)

    detail = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert "已记录走访，新增 1 条技术需求" in detail
    assert "领带面料起皱" in detail and "金海燕 走访" in detail


def test_next_step_due_today_shows_on_home(client, make_user, make_enterprise):
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    token = csrf_token(client, url)
    client.post(
        url,
        data=_visit_form(token, next_step="回访确认专家时间", next_due=local_today().isoformat()),
    )
    home = client.get("/").get_data(as_text=True)
    today_section = home.split("今日待办")[1].split("我最近的走访")[0]
    assert "回访确认专家时间" in today_section


def test_bad_visits_write_nothing(client, make_user, make_enterprise):
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    token = csrf_token(client, url)
    future = (local_today() + timedelta(days=1)).isoformat()
    response = client.post(url, data=_visit_form(token, visited_on=future))
    assert response.status_code == 400
    assert "走访日期不能晚于今天" in response.get_data(as_text=True)
    response = client.post(url, data=_visit_form(token, **{"needs-1-description": "只有描述"}))
    assert response.status_code == 400
    assert "请同时填写需求名称" in response.get_data(as_text=True)
    for model in (Visit, Need, Task):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_officer_corrects_own_visit_only(app, client, make_user, make_enterprise):
    officer, other = make_user(), make_user()
    ent = make_enterprise(owner_id=officer.id)
    visit = Visit(
        enterprise_id=ent.id, officer_id=officer.id, visited_on=local_today(), notes="写错了"
    )
    db.session.add(visit)
    db.session.commit()
    AuthActions(client).login(officer.username)
    assert f"/visits/{visit.id}/edit" in client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    token = csrf_token(client, f"/visits/{visit.id}/edit")
    data = {
        "csrf_token": token,
        "visited_on": local_today().isoformat(),
        "notes": "改正后的记录",
        "version": "1",
    }
    assert client.post(f"/visits/{visit.id}/edit", data=data).status_code == 302
    stale = client.post(f"/visits/{visit.id}/edit", data={**data, "notes": "过期的修改"})
    assert stale.status_code == 409
    db.session.expire_all()
    assert visit.notes == "改正后的记录"

    intruder = app.test_client()
    AuthActions(intruder).login(other.username)
    token = csrf_token(intruder, "/")
    assert (
        intruder.post(
            f"/visits/{visit.id}/edit", data={**data, "csrf_token": token, "version": "2"}
        ).status_code
        == 403
    )


def test_a_visit_cannot_register_needs_of_another_departments_firm(
    client, make_user, make_enterprise, make_department
):
    """The visit form's needs go through the needs' own rule: `needs/new` is 403 for a firm
    of another department, and so is a visit that carries one (it created the need)."""
    theirs = make_department("对方科室")
    ent = make_enterprise(name="嵊州市别科厨具有限公司", department_id=theirs.id)
    visitor = make_user(department="本科室")
    AuthActions(client).login(visitor.username)
    url = f"/enterprises/{ent.id}/visits/new"
    assert client.get(f"/enterprises/{ent.id}/needs/new").status_code == 403
    refused = client.post(
        url, data=_visit_form(csrf_token(client, url), **{"needs-0-title": "集成灶降噪"})
    )
    assert refused.status_code == 403
    assert "您只能为本人或本科室负责的企业登记需求" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Need.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0  # nothing half-saved
    # a joint visit without needs is the visitor's own record, and goes in
    plain = client.post(url, data=_visit_form(csrf_token(client, url)))
    assert plain.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 1
    # and the form does not offer what would be refused
    page = client.get(url).get_data(as_text=True)
    assert 'name="needs-0-title"' not in page and 'data-testid="needs-not-yours"' in page


def test_the_form_shows_the_due_date_a_next_step_gets(client, make_user, make_enterprise, clock):
    """The due-date field is pre-filled with today + 7 (the county's day) and says so."""
    clock.set(date(2026, 12, 1))
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    page = client.get(url).get_data(as_text=True)
    field = form_to(page, url, url)
    assert dict(field.fields)["next_due"] == "2026-12-08"
    assert "默认 7 天后（2026-12-08）" in page


@pytest.mark.parametrize(
    ("due", "said"), [("", "2026-12-08"), ("2026-12-03", "2026-12-03")], ids=["cleared", "chosen"]
)
def test_the_save_message_names_the_task_and_its_date(
    client, make_user, make_enterprise, clock, due, said
):
    clock.set(date(2026, 12, 1))
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    token = csrf_token(client, url)
    response = client.post(
        url,
        data=_visit_form(token, next_step="联系香港理工大学专家", next_due=due),
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert f"已记录走访，并新建待办「联系香港理工大学专家」，截止 {said}。" in body
    task = db.session.scalar(sa.select(Task).where(Task.title == "联系香港理工大学专家"))
    assert task.due_on.isoformat() == said


def test_a_visit_without_a_next_step_names_no_task(client, make_user, make_enterprise):
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    response = client.post(url, data=_visit_form(csrf_token(client, url)), follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "已记录走访。" in body and "待办「" not in body


def test_every_mistake_of_a_visit_is_said_at_once(client, make_user, make_enterprise):
    """A date after today and a need described without a title: both in one answer, each
    beside its field."""
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    future = (local_today() + timedelta(days=1)).isoformat()
    response = client.post(
        url,
        data=_visit_form(
            csrf_token(client, url),
            visited_on=future,
            notes="x" * 10001,
            **{"needs-1-description": "只有描述"},
        ),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "走访日期不能晚于今天" in body
    assert "请同时填写需求名称" in body
    assert re.search(r'id="needs-1-title"[^>]*is-invalid|is-invalid[^>]*id="needs-1-title"', body)
    assert body.count("is-invalid") == 3  # the date, the notes, the need's title
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0


def test_the_same_visit_sent_again_after_the_back_button_is_logged_once(
    client, make_user, make_enterprise
):
    """Back, then 保存走访 again: the page came back fresh (a new one-time key) with what was
    typed still in it. One visit, one need, one task; a different visit that day still goes in."""
    officer = make_user()
    ent = make_enterprise(owner_id=officer.id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/visits/new"
    typed = {"needs-0-title": "面料起皱", "next_step": "约专家"}
    for _ in range(2):
        response = client.post(url, data=_visit_form(csrf_token(client, url), **typed))
        assert response.status_code == 302
    assert "刚才已经保存过" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Need.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Task.id))) == 1
    response = client.post(url, data=_visit_form(csrf_token(client, url), notes="下午再谈"))
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 2
