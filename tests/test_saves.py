"""A save never changes a field the user did not change: edit forms submitted as a browser
submits them (every field as the page shows it), with the record pointing at something the
form's lists no longer offer — a deactivated officer, a deleted institution or researcher."""

from __future__ import annotations

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth import services as auth_services
from crm.auth.models import Role
from crm.enterprises.models import Enterprise, Industry, Town
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
from crm.trash import services as trash
from tests.conftest import AuthActions
from tests.pages import form_to


def _submit_unchanged(client, page: str, action: str, **changes: str):
    html = client.get(page).get_data(as_text=True)
    form = form_to(html, page, action)
    return client.post(action, data=form.data(**changes))


def _updates(table: str, record_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.table_name == table,
                AuditEntry.record_id == record_id,
                AuditEntry.action == "update",
            )
        )
    )


def test_an_admin_saving_a_firm_whose_officer_left_keeps_the_officer(
    client, make_user, make_enterprise
):
    leaver = make_user(display_name="离职联络员")
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="嵊州市留任领带有限公司", owner_id=leaver.id)
    auth_services.deactivate_user(leaver.username)
    db.session.commit()
    AuthActions(client).login(admin.username)
    page = f"/enterprises/{ent.id}/edit"
    assert "离职联络员（已停用）" in client.get(page).get_data(as_text=True)

    answer = _submit_unchanged(client, page, page, notes="管理员补充的备注")

    assert answer.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Enterprise, ent.id)
    assert saved.owner_id == leaver.id and saved.notes == "管理员补充的备注"
    # one edit, one audit row, one version (it was two of each)
    assert saved.version == 2
    (entry,) = _updates("enterprise", ent.id)
    assert set(entry.changes) == {"notes"}


def test_one_edit_is_one_version_and_one_audit_row(client, make_user, make_enterprise):
    """An admin changing the officer, the town, the industries and the notes at once: it was
    two UPDATEs (loading the old industries flushed what was set before), two audit rows and
    the version up by two."""
    admin = make_user(role=Role.ADMIN)
    officer = make_user()
    town = Town(code="s-town", name="保存镇", kind="镇")
    ties = Industry(code="s-tie", name="保存领带")
    db.session.add_all([town, ties])
    db.session.commit()
    ent = make_enterprise(name="嵊州市一次保存有限公司")
    AuthActions(client).login(admin.username)
    page = f"/enterprises/{ent.id}/edit"
    answer = _submit_unchanged(
        client,
        page,
        page,
        owner_id=str(officer.id),
        town_id=str(town.id),
        industry_ids=str(ties.id),
        notes="改一次",
    )
    assert answer.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Enterprise, ent.id)
    assert saved.version == 2 and [i.name for i in saved.industries] == ["保存领带"]
    (entry,) = _updates("enterprise", ent.id)
    assert set(entry.changes) == {"owner_id", "town_id", "notes"}


def test_a_researcher_of_a_deleted_institution_keeps_it_when_saved(client, make_user):
    officer = make_user()
    admin = make_user(role=Role.ADMIN)
    inst = Institution(name="已撤销研究院", kind=InstitutionKind.RESEARCH_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    person = Researcher(name="林一鸣", institution_id=inst.id, research_directions="硅藻土提纯")
    item = Achievement(title="硅藻土提纯工艺", institution_id=inst.id)
    db.session.add_all([person, item])
    db.session.flush()
    item.researcher_id = person.id
    db.session.commit()
    trash.delete(admin, "researcher", person.id)
    trash.delete(admin, "institution", inst.id)
    db.session.commit()
    AuthActions(client).login(officer.username)

    page = f"/achievements/{item.id}/edit"
    html = client.get(page).get_data(as_text=True)
    assert "已撤销研究院（已删除）" in html and "林一鸣（已删除）" in html
    assert _submit_unchanged(client, page, page, description="补充简介").status_code == 302
    db.session.expire_all()
    saved = db.session.get(Achievement, item.id)
    assert (saved.institution_id, saved.researcher_id) == (inst.id, person.id)
    assert saved.description == "补充简介"

    # and choosing the deleted institution for another record is refused, in Chinese
    other = Researcher(name="周新", research_directions="矿物加工")
    db.session.add(other)
    db.session.commit()
    page = f"/researchers/{other.id}/edit"
    html = client.get(page).get_data(as_text=True)
    assert "已撤销研究院" not in html
    refused = _submit_unchanged(client, page, page, institution_id=str(inst.id))
    assert refused.status_code == 400
    assert "所选单位不存在或已被删除" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Researcher, other.id).institution_id is None


def test_a_cooperation_with_a_deleted_institution_keeps_it_when_saved(
    client, make_user, make_enterprise
):
    from crm.cooperation.models import Cooperation, CooperationType

    officer = make_user()
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="嵊州市合作保存有限公司", owner_id=officer.id)
    inst = Institution(name="已并入研究所", kind=InstitutionKind.RESEARCH_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    coop = Cooperation(
        title="硅藻土提纯合作",
        enterprise_id=ent.id,
        institution_id=inst.id,
        officer_id=officer.id,
        type=CooperationType.DEVELOPMENT,
    )
    db.session.add(coop)
    db.session.commit()
    trash.delete(admin, "institution", inst.id)
    db.session.commit()
    AuthActions(client).login(officer.username)
    page = f"/cooperation/{coop.id}/edit"
    assert "已并入研究所（已删除）" in client.get(page).get_data(as_text=True)
    # (the edit form, sent as the browser sends it, was refused for a field it does not show)
    assert _submit_unchanged(client, page, page, notes="补充备注").status_code == 302
    db.session.expire_all()
    saved = db.session.get(Cooperation, coop.id)
    assert saved.institution_id == inst.id and saved.notes == "补充备注"
