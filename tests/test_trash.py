"""Soft delete: deleted records leave lists, search and counts; an admin restores them."""

from __future__ import annotations

from crm.auth.models import Role
from crm.extensions import db
from crm.search import services as search
from tests.conftest import AuthActions, csrf_token


def test_delete_hides_everywhere_and_restore_brings_back(app, client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(
        name="华硅新材料有限公司", owner_id=owner.id, department_id=owner.department_id
    )
    assert [h.title for h in search.search("华硅")] == ["华硅新材料有限公司"]
    AuthActions(client).login(owner.username)
    token = csrf_token(client, f"/enterprises/{ent.id}")
    response = client.post(f"/trash/enterprise/{ent.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get(f"/enterprises/{ent.id}").status_code == 404
    assert "华硅新材料" not in client.get("/enterprises/").get_data(as_text=True)
    assert "负责企业 0 家" in client.get("/").get_data(as_text=True)
    assert search.search("华硅") == []

    admin = app.test_client()
    AuthActions(admin).login(make_user(role=Role.ADMIN).username)
    bin_page = admin.get("/admin/trash", query_string={"kind": "enterprise"}).get_data(as_text=True)
    assert "华硅新材料有限公司" in bin_page
    token = csrf_token(admin, "/admin/trash")
    assert (
        admin.post(
            f"/admin/trash/enterprise/{ent.id}/restore", data={"csrf_token": token}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert ent.deleted_at is None
    assert client.get(f"/enterprises/{ent.id}").status_code == 200
    assert [h.title for h in search.search("华硅")] == ["华硅新材料有限公司"]


def test_others_cannot_delete(client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(name="别人的企业", owner_id=owner.id, department_id=owner.department_id)
    AuthActions(client).login(make_user(department="合作交流科").username)
    token = csrf_token(client, "/")
    assert (
        client.post(f"/trash/enterprise/{ent.id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    db.session.expire_all()
    assert ent.deleted_at is None


def test_unknown_kind_is_404(client, make_user):
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    token = csrf_token(client, "/")
    assert client.post("/trash/user/1/delete", data={"csrf_token": token}).status_code == 404


def test_admin_deletes_a_researcher_officers_cannot(app, client, make_user):
    from crm.institutions.models import Researcher

    person = Researcher(name="被删的专家")
    db.session.add(person)
    db.session.commit()
    officer = app.test_client()
    AuthActions(officer).login(make_user().username)
    assert "删除</button>" not in officer.get(f"/researchers/{person.id}").get_data(as_text=True)
    token = csrf_token(officer, "/")
    assert (
        officer.post(
            f"/trash/researcher/{person.id}/delete", data={"csrf_token": token}
        ).status_code
        == 403
    )
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    token = csrf_token(client, f"/researchers/{person.id}")
    assert (
        client.post(f"/trash/researcher/{person.id}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert client.get(f"/researchers/{person.id}").status_code == 404


def test_contacts_and_own_visits_can_be_deleted(client, make_user, make_enterprise):
    from crm.clock import local_today
    from crm.enterprises.models import Contact
    from crm.visits.models import Visit

    officer = make_user(department="高新技术科")
    ent = make_enterprise(owner_id=officer.id, department_id=officer.department_id)
    contact = Contact(enterprise_id=ent.id, name="待删联系人")
    visit = Visit(
        enterprise_id=ent.id, officer_id=officer.id, visited_on=local_today(), notes="待删走访"
    )
    db.session.add_all([contact, visit])
    db.session.commit()
    AuthActions(client).login(officer.username)
    page = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert (
        f"/trash/contact/{contact.id}/delete" in page and f"/trash/visit/{visit.id}/delete" in page
    )
    token = csrf_token(client, f"/enterprises/{ent.id}")
    for kind, record in (("contact", contact), ("visit", visit)):
        response = client.post(f"/trash/{kind}/{record.id}/delete", data={"csrf_token": token})
        assert response.headers["Location"] == f"/enterprises/{ent.id}"
    client.get(f"/enterprises/{ent.id}")  # shows (and so clears) the flash messages
    page = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert "待删联系人" not in page and "待删走访" not in page
