"""Needs: registered on an enterprise, edited by its officers, listed by status."""

from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.needs.models import Need, NeedStatus
from tests.conftest import AuthActions, csrf_token


def _need_form(token, **fields):
    data = {
        "csrf_token": token,
        "title": "集成灶风机噪声大",
        "description": "",
        "budget": "",
        "status": "open",
    }
    data.update(fields)
    return data


def test_register_edit_and_list(app, client, make_user, make_enterprise):
    officer = make_user(department="高新技术科")
    ent = make_enterprise(
        name="森锐智能厨具", owner_id=officer.id, department_id=officer.department_id
    )
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/needs/new"
    token = csrf_token(client, url)
    bad = client.post(url, data=_need_form(token, budget="-5"))
    assert bad.status_code == 400 and "预算不能为负数" in bad.get_data(as_text=True)
    created = client.post(url, data=_need_form(token, budget="300000"))
    need = db.session.scalar(sa.select(Need).where(Need.enterprise_id == ent.id))
    assert created.headers["Location"] == f"/needs/{need.id}"
    assert int(need.budget) == 300000 and need.status == NeedStatus.OPEN

    edit = f"/needs/{need.id}/edit"
    token = csrf_token(client, edit)
    assert (
        client.post(edit, data=_need_form(token, status="matched", version="1")).status_code == 302
    )
    stale = client.post(edit, data=_need_form(token, title="后来的修改", version="1"))
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert need.status == NeedStatus.MATCHED and need.title == "集成灶风机噪声大"

    listed = client.get("/needs/", query_string={"status": "matched"}).get_data(as_text=True)
    assert "集成灶风机噪声大" in listed
    assert "集成灶风机噪声大" not in client.get(
        "/needs/", query_string={"status": "open"}
    ).get_data(as_text=True)


def test_other_department_cannot_register_or_edit(client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(owner_id=owner.id, department_id=owner.department_id)
    need = Need(enterprise_id=ent.id, title="原有需求")
    db.session.add(need)
    db.session.commit()
    AuthActions(client).login(make_user(department="合作交流科").username)
    token = csrf_token(client, "/")
    assert (
        client.post(f"/enterprises/{ent.id}/needs/new", data=_need_form(token)).status_code == 403
    )
    assert (
        client.post(
            f"/needs/{need.id}/edit", data=_need_form(token, title="改", version="1")
        ).status_code
        == 403
    )
    assert client.get(f"/needs/{need.id}").status_code == 200  # reading is fine
    db.session.expire_all()
    assert need.title == "原有需求"


def test_need_history_and_delete(client, make_user, make_enterprise):
    officer = make_user(department="高新技术科", display_name="钱丽萍")
    ent = make_enterprise(owner_id=officer.id, department_id=officer.department_id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/needs/new"
    token = csrf_token(client, url)
    client.post(url, data=_need_form(token, title="硅藻土提纯"))
    need = db.session.scalar(sa.select(Need))
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "变更记录" in page and "钱丽萍" in page
    response = client.post(f"/trash/need/{need.id}/delete", data={"csrf_token": token})
    assert response.headers["Location"] == f"/enterprises/{ent.id}"
    assert client.get(f"/needs/{need.id}").status_code == 404
    assert "硅藻土提纯" not in client.get("/needs/").get_data(as_text=True)


def test_a_stale_edit_shows_every_field_that_differs(client, make_user, make_enterprise):
    """A colleague set the budget; the stale form's author sees that row marked, so saving
    again does not quietly clear it."""
    officer = make_user(department="高新技术科")
    ent = make_enterprise(owner_id=officer.id, department_id=officer.department_id)
    need = Need(enterprise_id=ent.id, title="集成灶风机噪声大")
    db.session.add(need)
    db.session.commit()
    AuthActions(client).login(officer.username)
    edit = f"/needs/{need.id}/edit"
    token = csrf_token(client, edit)
    assert (
        client.post(edit, data=_need_form(token, budget="200000", version="1")).status_code == 302
    )
    stale = client.post(edit, data=_need_form(token, description="补充一句", version="1"))
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    differs = body.split('data-testid="differs"')[1:]
    assert [row.split("</th>")[0].rsplit(">", 1)[1] for row in differs] == ["描述", "预算（元）"]
    assert "200,000.00" in differs[1]
