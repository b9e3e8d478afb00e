"""Yearly figures: entered in 万元, stored in yuan, one row a year, edits versioned."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from crm.enterprises.models import EnterpriseYear
from crm.extensions import db
from tests.conftest import AuthActions, csrf_token


def test_add_and_correct_a_year(client, make_user, make_enterprise):
    officer = make_user(department="高新技术科")
    ent = make_enterprise(owner_id=officer.id, department_id=officer.department_id)
    AuthActions(client).login(officer.username)
    url = f"/enterprises/{ent.id}/years"
    token = csrf_token(client, url)
    form = {
        "csrf_token": token,
        "year": "2025",
        "above_scale": "y",
        "revenue_wan": "51493",
        "rnd_spend_wan": "1372.5",
        "industrial_output_wan": "",
        "hitech_output_wan": "",
    }
    assert client.post(url, data=form).status_code == 302
    row = db.session.scalar(sa.select(EnterpriseYear))
    assert row.revenue == Decimal("514930000.00") and row.rnd_spend == Decimal("13725000.00")
    assert row.industrial_output is None and row.above_scale
    page = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert "51,493" in page and "2.67%" in page

    again = client.post(url, data=form)
    assert again.status_code == 400 and "已存在" in again.get_data(as_text=True)
    negative = client.post(url, data={**form, "year": "2024", "revenue_wan": "-1"})
    assert negative.status_code == 400 and "不能为负数" in negative.get_data(as_text=True)

    edit = client.get(url, query_string={"year": 2025}).get_data(as_text=True)
    assert 'value="51493' in edit
    fixed = client.post(f"{url}?year=2025", data={**form, "revenue_wan": "52000", "version": "1"})
    assert fixed.status_code == 302
    stale = client.post(f"{url}?year=2025", data={**form, "revenue_wan": "1", "version": "1"})
    assert stale.status_code == 302 and "已被他人修改" in client.get(
        f"/enterprises/{ent.id}"
    ).get_data(as_text=True)
    db.session.expire_all()
    assert row.revenue == Decimal("520000000.00")


def test_other_department_cannot_enter_figures(client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(owner_id=owner.id, department_id=owner.department_id)
    AuthActions(client).login(make_user(department="合作交流科").username)
    token = csrf_token(client, "/")
    response = client.post(
        f"/enterprises/{ent.id}/years", data={"csrf_token": token, "year": "2025"}
    )
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(EnterpriseYear.id))) == 0
