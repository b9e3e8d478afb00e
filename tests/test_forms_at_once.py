"""Forms say everything at once: every missing or wrong field in one answer, each beside its
field (marked `is-invalid`, where the page's script focuses the first), not one per submit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crm.clock import local_today
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.visits.models import Visit
from tests.conftest import AuthActions, csrf_token

GOOD = "91330683AT6Y8A8U8C"  # checksum-valid (fictional, from seeds/demo)
BAD = "91330683AT6Y8A8U8D"


def invalid(body: str) -> set[str]:
    """The names of the fields the page shows in error."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", body)
    return {
        re.search(r'name="([^"]+)"', tag).group(1)
        for tag in tags
        if re.search(r'class="[^"]*\bis-invalid\b', tag)
    }


@pytest.fixture
def officer(client, make_user):
    user = make_user(department="高新技术科")
    AuthActions(client).login(user.username)
    return user


@pytest.fixture
def firm(officer, make_enterprise):
    return make_enterprise(owner_id=officer.id, department_id=officer.department_id)


def test_an_enterprise_without_a_name_and_with_a_bad_code(client, officer):
    token = csrf_token(client, "/enterprises/new")
    sent = {"csrf_token": token, "name": "", "uscc": BAD, "town_id": ""}
    response = client.post("/enterprises/new", data=sent)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请输入企业名称" in body and "统一社会信用代码校验位不正确" in body
    assert invalid(body) == {"name", "uscc"}


def test_an_enterprise_without_a_name_and_with_a_code_in_use(client, officer, make_enterprise):
    make_enterprise(name="已登记的企业", uscc=GOOD)
    token = csrf_token(client, "/enterprises/new")
    sent = {"csrf_token": token, "name": "", "uscc": GOOD, "town_id": ""}
    body = client.post("/enterprises/new", data=sent).get_data(as_text=True)
    assert "已被“已登记的企业”使用" in body and invalid(body) == {"name", "uscc"}


def test_an_enterprise_keeps_its_own_code_when_edited(client, officer, make_enterprise):
    ent = make_enterprise(uscc=GOOD, owner_id=officer.id)
    url = f"/enterprises/{ent.id}/edit"
    sent = {"csrf_token": csrf_token(client, url), "name": "改名后的企业", "uscc": GOOD}
    response = client.post(url, data={**sent, "town_id": "", "version": ent.version})
    assert response.status_code == 302


def test_a_contact_with_a_bad_phone_and_a_bad_email(client, firm):
    url = f"/enterprises/{firm.id}/contacts/new"
    sent = {"csrf_token": csrf_token(client, url), "name": "", "phone": "call me", "email": "x@"}
    body = client.post(url, data=sent).get_data(as_text=True)
    assert "电话号码只能包含数字" in body and "电子邮箱格式不正确" in body
    assert invalid(body) == {"name", "phone", "email"}


def test_a_cooperation_without_a_title_and_with_an_unknown_expert(client, firm):
    db.session.add(Institution(name="浙江理工大学（测试）", kind=InstitutionKind.UNIVERSITY))
    db.session.commit()
    url = f"/enterprises/{firm.id}/cooperation/new"
    sent = {
        "csrf_token": csrf_token(client, url),
        "title": "",
        "type": "service",
        "institution_id": "",
        "researcher_name": "查无此人",
        "amount": "-1",
        "origin": "visit",
    }
    body = client.post(url, data=sent).get_data(as_text=True)
    assert "请填写合作名称" in body and "专家库里没有“查无此人”" in body
    assert "金额不能为负数" in body
    assert invalid(body) == {"title", "researcher_name", "amount"}
    nobody = client.post(url, data={**sent, "researcher_name": ""}).get_data(as_text=True)
    assert "请填写合作的高校院所或专家" in nobody
    assert invalid(nobody) == {"title", "institution_id", "amount"}


def test_a_year_out_of_range_with_a_negative_figure(client, firm):
    url = f"/enterprises/{firm.id}/years"
    sent = {"csrf_token": csrf_token(client, url), "year": "1900", "revenue_wan": "-5"}
    body = client.post(url, data=sent).get_data(as_text=True)
    assert "金额不能为负数" in body and invalid(body) == {"year", "revenue_wan"}


def test_a_corrected_visit_in_the_future_with_notes_too_long(client, officer, firm):
    visit = Visit(enterprise_id=firm.id, officer_id=officer.id, visited_on=local_today())
    db.session.add(visit)
    db.session.commit()
    url = f"/visits/{visit.id}/edit"
    sent = {
        "csrf_token": csrf_token(client, url),
        "visited_on": (local_today() + timedelta(days=2)).isoformat(),
        "notes": "记" * 10001,
        "version": visit.version,
    }
    body = client.post(url, data=sent).get_data(as_text=True)
    assert "走访日期不能晚于今天" in body and invalid(body) == {"visited_on", "notes"}
