"""Institutions (with aliases), researchers and achievements: create, edit, validation."""

from __future__ import annotations

import sqlalchemy as sa

from crm.auth.models import Role
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Maturity, Researcher
from crm.search import services as search
from tests.conftest import AuthActions, csrf_token


def _login(client, make_user, role=Role.OFFICER):
    AuthActions(client).login(make_user(role=role).username)


def test_institution_with_aliases_is_found_by_them(client, make_user):
    _login(client, make_user)
    token = csrf_token(client, "/institutions/new")
    form = {
        "csrf_token": token,
        "name": "香港理工大学",
        "kind": "university",
        "aliases": "港理工，PolyU\n香港理工大學",
        "website": "https://www.polyu.edu.hk",
    }
    assert client.post("/institutions/new", data=form).status_code == 302
    inst = db.session.scalar(sa.select(Institution))
    assert sorted(a.alias for a in inst.aliases) == ["PolyU", "港理工", "香港理工大學"]
    assert [h.title for h in search.search("港理工")][:1] == ["香港理工大学"]

    edit = f"/institutions/{inst.id}/edit"
    token = csrf_token(client, edit)
    form.update(csrf_token=token, aliases="港理工\n理大", version="1")
    assert client.post(edit, data=form).status_code == 302
    db.session.expire_all()
    assert sorted(a.alias for a in inst.aliases) == ["港理工", "理大"]
    assert [h.title for h in search.search("理大")][:1] == ["香港理工大学"]
    assert "PolyU" not in [t for h in search.search("PolyU") for t in h.terms]


def test_institution_validation(client, make_user):
    _login(client, make_user)
    token = csrf_token(client, "/institutions/new")
    base = {"csrf_token": token, "kind": "university"}
    bad_url = client.post(
        "/institutions/new", data={**base, "name": "甲大学", "website": "javascript:alert(1)"}
    )
    assert bad_url.status_code == 400 and "http:// 或 https://" in bad_url.get_data(as_text=True)
    client.post("/institutions/new", data={**base, "name": "甲大学", "aliases": "甲大"})
    dup = client.post("/institutions/new", data={**base, "name": "甲大学"})
    assert dup.status_code == 400 and "已存在" in dup.get_data(as_text=True)
    alias = client.post("/institutions/new", data={**base, "name": "乙大学", "aliases": "甲大"})
    assert alias.status_code == 400 and "已属于其他单位" in alias.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Institution.id))) == 1


def test_researcher_create_edit_and_conflict(app, client, make_user):
    _login(client, make_user)
    inst = Institution(name="浙江理工大学", kind="university")
    db.session.add(inst)
    db.session.commit()
    token = csrf_token(client, "/researchers/new")
    form = {
        "csrf_token": token,
        "name": "丁佳琪",
        "institution_id": str(inst.id),
        "title": "教授",
        "research_directions": "丝绸织造；提花织物设计",
    }
    assert client.post("/researchers/new", data=form).status_code == 302
    person = db.session.scalar(sa.select(Researcher))
    assert person.institution_id == inst.id
    edit = f"/researchers/{person.id}/edit"
    token = csrf_token(client, edit)
    ok = client.post(edit, data={**form, "csrf_token": token, "title": "研究员", "version": "1"})
    assert ok.status_code == 302
    stale = client.post(edit, data={**form, "csrf_token": token, "title": "讲师", "version": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert person.title == "研究员"
    page = client.get("/researchers/", query_string={"q": "提花"}).get_data(as_text=True)
    assert "丁佳琪" in page


def test_achievement_create(client, make_user):
    _login(client, make_user)
    token = csrf_token(client, "/achievements/new")
    form = {
        "csrf_token": token,
        "title": "低品位硅藻土选矿提纯工艺",
        "maturity": "scale_up",
        "transfer_mode": "",
        "institution_id": "",
        "researcher_id": "",
    }
    assert client.post("/achievements/new", data=form).status_code == 302
    item = db.session.scalar(sa.select(Achievement))
    assert item.maturity == Maturity.SCALE_UP and item.transfer_mode is None
    assert "低品位硅藻土选矿提纯工艺" in client.get("/achievements/").get_data(as_text=True)


def test_viewer_reads_lists_but_cannot_register(client, make_user):
    _login(client, make_user, Role.VIEWER)
    for path in ("/institutions/", "/researchers/", "/achievements/", "/needs/"):
        page = client.get(path)
        assert page.status_code == 200 and "登记</a>" not in page.get_data(as_text=True)
    assert client.get("/researchers/new").status_code == 403


def test_record_page_titles_are_plain(client, make_user):
    inst = Institution(name="东华大学", kind="university")
    db.session.add(inst)
    db.session.commit()
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    body = client.get(f"/institutions/{inst.id}").get_data(as_text=True)
    title = body.split("<title>")[1].split("</title>")[0]
    assert title == "东华大学 · 科技红娘"


def test_edit_page_says_edit(client, make_user):
    inst = Institution(name="绍兴文理学院", kind="university")
    db.session.add(inst)
    db.session.commit()
    AuthActions(client).login(make_user().username)
    assert "编辑高校院所：绍兴文理学院" in client.get(f"/institutions/{inst.id}/edit").get_data(
        as_text=True
    )
    assert "登记高校院所" in client.get("/institutions/new").get_data(as_text=True)
