"""Change history in people's words: labels as the forms give them, choices by their labels,
references by the names of the records (linked to their pages), money in 万元, moments in the
county's time, 是/否 and （空）; old entries whose field or record is gone still show."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.cooperation.models import Stage
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.needs.models import Need, NeedStatus
from crm.visits.models import Visit
from tests.conftest import AuthActions, today
from tests.pages import form_to
from tests.world import manual_lead


def _history(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    return page.get_data(as_text=True).split('data-testid="history"', 1)[1].split("</section>")[0]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _signed_in_officer(client, make_user):
    officer = make_user(display_name="钱丽萍")
    AuthActions(client).login(officer.username)
    return officer


def test_a_needs_history_speaks_labels_names_and_wan(client, make_user, make_enterprise):
    officer = _signed_in_officer(client, make_user)
    ent = make_enterprise(name="嵊州市锦程领带服饰有限公司", owner_id=officer.id)
    visit = Visit(enterprise_id=ent.id, officer_id=officer.id, visited_on=today())
    db.session.add(visit)
    db.session.flush()
    need = Need(
        enterprise_id=ent.id,
        title="领带防皱",
        budget=Decimal("150000.00"),
        visit_id=visit.id,
        status=NeedStatus.OPEN,
    )
    db.session.add(need)
    db.session.commit()
    db.session.refresh(need)  # as a service has it loaded before it changes it
    need.budget = Decimal("55000")
    need.description = "洗后起皱"
    db.session.commit()
    db.session.refresh(need)
    need.description = None
    db.session.commit()
    # the officer moves it on through the edit form
    path = f"/needs/{need.id}/edit"
    form = form_to(client.get(path).get_data(as_text=True), path, path)
    assert client.post(path, data=form.data(status="matched")).status_code == 302

    history = _history(client, f"/needs/{need.id}")
    text = _text(history)
    # choices by their labels, fields by the form's labels
    assert "<del>待匹配</del> → 已匹配" in history
    assert "状态：" in text and "需求名称：" in text
    assert not re.search(r"\b(open|matched|enterprise_id|visit_id|budget|status)\b", text)
    # a reference as the record's name, linked to its page
    assert f'<a href="/enterprises/{ent.id}">嵊州市锦程领带服饰有限公司</a>' in history
    assert "企业：" in text
    assert f'<a href="/enterprises/{ent.id}#visit-{visit.id}">{today().isoformat()} 走访</a>' in (
        history
    )
    # money in 万元 (stored in yuan); an emptied field as （空）
    assert "<del>15 万元</del> → 5.5 万元" in history
    assert "150000" not in history
    assert "<del>洗后起皱</del> → （空）" in history


def test_booleans_and_moments_read_as_people_say_them(client, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="规上企业甲", is_above_scale=True)
    db.session.refresh(ent)
    ent.is_above_scale = False
    ent.deleted_at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    db.session.commit()
    AuthActions(client).login(admin.username)
    body = client.get("/admin/audit", query_string={"table": "enterprise"}).get_data(as_text=True)
    text = _text(body.split('data-testid="history"', 1)[1])
    assert "规模以上工业企业： 是 → 否" in text
    assert "删除时间： 2026-03-02 01:30" in text  # 17:30 UTC is 01:30 the next day in the county
    assert "企业：规上企业甲（已删除）" in text
    assert "True" not in text and "is_above_scale" not in text and "deleted_at" not in text
    assert "name_sort" not in text  # a sort key follows the name: not a change of its own


def test_old_entries_of_removed_fields_and_purged_records_still_show(
    client, make_user, make_enterprise
):
    _signed_in_officer(client, make_user)
    ent = make_enterprise(name="留痕企业")
    need = Need(enterprise_id=ent.id, title="老需求")
    db.session.add(need)
    db.session.commit()
    db.session.add(
        AuditEntry(
            action="update",
            table_name="need",
            record_id=need.id,
            changes={
                "priority": ["low", "high"],  # a field the model has no more
                "enterprise_id": [987654, ent.id],  # a record since purged
                "visit_id": [None, 876543],
                "status": ["open", "archived"],  # a choice since removed
                "broken": "not a pair",
            },
        )
    )
    db.session.commit()
    history = _history(client, f"/needs/{need.id}")
    text = _text(history)
    assert "priority： low → high" in text
    assert "已删除的记录 #987654" in text and "已删除的记录 #876543" in text
    assert f'<a href="/enterprises/{ent.id}">留痕企业</a>' in history
    assert "待匹配 → archived" in text


def test_the_admin_trail_names_each_record_and_links_it(client, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="管理页企业")
    need = Need(enterprise_id=ent.id, title="管理页需求", budget=Decimal("20000"))
    db.session.add(need)
    db.session.commit()
    AuthActions(client).login(admin.username)
    body = client.get("/admin/audit", query_string={"table": "need"}).get_data(as_text=True)
    history = body.split('data-testid="history"', 1)[1]
    assert f'<a href="/needs/{need.id}">技术需求：管理页需求</a>' in history
    assert "预算： 2 万元" in _text(history)
    assert '<option value="need" selected>技术需求</option>' in body


def test_a_cooperations_amount_and_stage_in_the_admin_trail(client, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="合作企业")
    inst = Institution(name="浙江理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    coop = manual_lead(ent, inst, admin)
    db.session.commit()
    db.session.refresh(coop)
    coop.stage = Stage.NEGOTIATION
    coop.amount = Decimal("450000")
    db.session.commit()
    AuthActions(client).login(admin.username)
    body = client.get("/admin/audit", query_string={"table": "cooperation"}).get_data(as_text=True)
    history = body.split('data-testid="history"', 1)[1]
    text = _text(history)
    assert "合同金额： 30 万元 → 45 万元" in text
    assert f"阶段： {Stage.INTENT.label} → {Stage.NEGOTIATION.label}" in text
    assert f'<a href="/institutions/{inst.id}">浙江理工大学</a>' in history
    assert "intent" not in text and "amount" not in text and "institution_id" not in text


def test_crafted_entries_show_as_stored_and_never_fail_the_page(client, make_user, make_enterprise):
    """A date past the calendar, an id no record can have, an entry of a table that is no
    record kind: shown as stored, on the record page and the admin trail (were 500s)."""
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="边界企业")
    need = Need(enterprise_id=ent.id, title="边界需求")
    db.session.add(need)
    db.session.commit()
    db.session.add_all(
        [
            AuditEntry(
                action="update",
                table_name="need",
                record_id=need.id,
                changes={
                    "deleted_at": [None, "9999-12-31T23:59:59"],
                    "enterprise_id": [ent.id, 10**30],
                },
            ),
            AuditEntry(
                action="update", table_name="match_doc", record_id=1, changes={"terms": ["a", "b"]}
            ),
        ]
    )
    db.session.commit()
    AuthActions(client).login(admin.username)
    page = client.get(f"/needs/{need.id}")
    assert page.status_code == 200
    assert "9999-12-31" in page.get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 200


def test_a_choice_a_form_offers_reads_as_the_form_says_it(app, client, make_user, make_enterprise):
    """A value the form offers as a choice (a suggestion's 否决原因) shows as its label: the
    choices come as SelectChoice objects, which the history once failed to read."""
    from crm.audit import labels, pages

    assert labels.form_choices("suggestion", "reject_reason")["off_topic"] == "研究方向不对口"
    assert pages._plain("suggestion", "reject_reason", "expert_declined") == "专家无意向或没空"
    assert labels.label("suggestion", "reject_reason") == "否决原因"
