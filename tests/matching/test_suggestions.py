"""Suggestions on a need: generated without duplicates, decisions kept, accept → 意向 lead."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.cooperation.models import Cooperation, Origin, Stage
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching import batch, decisions, suggestions
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus
from tests.conftest import AuthActions, csrf_token


def test_generate_is_idempotent_and_keeps_decisions(experts, make_user):
    people, _, need = experts
    officer = make_user()
    need.enterprise.owner_id = officer.id  # the firm's officer decides on its suggestions
    first = suggestions.generate(officer, need, top=3)
    assert first.added >= 1
    again = suggestions.generate(officer, need, top=3)
    # nothing changed: nothing rewritten (no audit noise from a nightly batch)
    assert (again.added, again.refreshed, again.kept) == (0, 0, first.added)
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == first.added
    people["motor"].bio = (people["motor"].bio or "") + "，擅长电机噪声治理"
    db.session.commit()
    moved = suggestions.generate(officer, need, top=3)
    assert moved.added == 0 and moved.refreshed >= 1  # its score moved: refreshed in place
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == first.added

    top = suggestions.for_need(need)[0]
    assert top.researcher_id == people["motor"].id
    assert {"term": "电机", "via": "马达"}.items() <= next(
        m for m in top.matched_terms if m["term"] == "电机"
    ).items()
    decisions.decide(
        officer, top, SuggestionStatus.REJECTED, top.version, "off_topic", "方向偏电力"
    )
    db.session.commit()
    third = suggestions.generate(officer, need, top=3)
    db.session.commit()
    rejected = db.session.get(Suggestion, top.id)
    assert rejected.status == SuggestionStatus.REJECTED and rejected.reject_note == "方向偏电力"
    # never suggested again, and no second row for the pair
    pairs = db.session.scalars(
        sa.select(Suggestion).where(Suggestion.researcher_id == people["motor"].id)
    ).all()
    assert len(pairs) == 1 and third.added == 0
    assert third.refreshed + third.kept == first.added - 1


def test_accept_creates_an_intent_lead(experts, make_user):
    people, achievement, need = experts
    officer = make_user()
    need.enterprise.owner_id = officer.id  # the firm's officer decides on its suggestions
    suggestions.generate(officer, need, top=5)
    top = suggestions.for_need(need)[0]
    lead = decisions.decide(officer, top, SuggestionStatus.ACCEPTED, top.version)
    db.session.commit()
    coop = db.session.scalars(sa.select(Cooperation)).one()
    assert coop.id == lead.id and coop.stage == Stage.INTENT and coop.origin == Origin.SUGGESTION
    assert coop.suggestion_id == top.id and coop.researcher_id == people["motor"].id
    assert coop.institution_id == people["motor"].institution_id
    assert coop.enterprise_id == need.enterprise_id and coop.officer_id == officer.id
    assert [h.to_stage for h in coop.history] == [Stage.INTENT]
    assert need.status == NeedStatus.MATCHED
    with pytest.raises(ValidationError, match="已采纳"):
        decisions.decide(officer, top, SuggestionStatus.REJECTED, top.version, "other")


def test_stale_decision_and_missing_reason_are_refused(experts, make_user):
    _, _, need = experts
    officer = make_user()
    need.enterprise.owner_id = officer.id  # the firm's officer decides on its suggestions
    suggestions.generate(officer, need, top=2)
    db.session.commit()
    s = suggestions.for_need(need)[0]
    with pytest.raises(ValidationError, match="否决原因"):
        decisions.decide(officer, s, SuggestionStatus.REJECTED, s.version, None)
    db.session.rollback()
    s = db.session.get(Suggestion, s.id)
    decisions.decide(officer, s, SuggestionStatus.CONTACTED, s.version)
    db.session.commit()
    with pytest.raises(Conflict):
        decisions.decide(officer, s, SuggestionStatus.ACCEPTED, s.version - 1)


def test_need_page_generates_and_decides(experts, app, client, make_user):
    people, _, need = experts
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    token = csrf_token(client, f"/needs/{need.id}")
    assert client.post(f"/needs/{need.id}/match", data={"csrf_token": token}).status_code == 302
    html = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "王志远" in html and "<mark>电机</mark>" in html and "<mark>马达</mark>" in html
    s = suggestions.for_need(need)[0]
    response = client.post(
        f"/suggestions/{s.id}/decide",
        data={"csrf_token": token, "status": "accepted", "version": s.version},
    )
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Cooperation)).one().stage == Stage.INTENT
    viewer = app.test_client()
    AuthActions(viewer).login(make_user(role=Role.VIEWER).username)
    page = viewer.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "王志远" in page and "生成匹配" not in page  # viewers see, never act


def test_quick_match_and_save_as_need(experts, client, make_user, make_enterprise):
    people, _, _ = experts
    officer = make_user(department="高新技术科")
    ent = make_enterprise(
        name="嵊州市丽珩电器有限公司", owner_id=officer.id, department_id=officer.department_id
    )
    AuthActions(client).login(officer.username)
    html = client.get("/match", query_string={"q": "马达嗡嗡响"}).get_data(as_text=True)
    assert "王志远" in html and "← 马达" in html and ent.name in html
    token = csrf_token(client, "/match")
    response = client.post(
        "/match/save", data={"csrf_token": token, "q": "马达嗡嗡响\n晚上也吵", "enterprise": ent.id}
    )
    assert response.status_code == 302
    from crm.needs.models import Need

    need = db.session.scalars(sa.select(Need).where(Need.enterprise_id == ent.id)).one()
    assert need.title == "马达嗡嗡响" and need.description == "马达嗡嗡响\n晚上也吵"
    assert suggestions.for_need(need)[0].researcher_id == people["motor"].id
    other = make_enterprise(name="别的科室的企业")
    response = client.post(
        "/match/save", data={"csrf_token": token, "q": "马达", "enterprise": other.id}
    )
    assert response.status_code == 403  # only one's own or the department's enterprises


def test_batch_matches_every_open_need_and_is_idempotent(experts, runner, make_user):
    _, _, need = experts
    admin = make_user(role=Role.ADMIN)
    result = runner.invoke(args=["match", "--all", "--user", admin.username])
    assert result.exit_code == 0, result.output
    count = db.session.scalar(sa.select(sa.func.count(Suggestion.id)))
    assert count >= 1 and f"新增推荐 {count} 条" in result.output
    created = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.table_name == "suggestion", AuditEntry.action == "create"
        )
    ).all()
    assert len(created) == count and {e.user_id for e in created} == {admin.id}
    same = suggestions.generate(admin, need)  # the need page's path agrees with the batch
    assert (same.added, same.refreshed) == (0, 0)
    s = suggestions.for_need(need)[0]
    decisions.decide(admin, s, SuggestionStatus.CONTACTED, s.version)
    db.session.commit()
    again = runner.invoke(args=["match", "--all", "--user", admin.username])
    assert "新增推荐 0 条" in again.output
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == count
    assert db.session.get(Suggestion, s.id).status == SuggestionStatus.CONTACTED


def test_enterprise_page_gathers_suggestions_of_its_needs(experts, client, make_user):
    people, _, need = experts
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    token = csrf_token(client, f"/enterprises/{need.enterprise_id}")
    response = client.post(f"/enterprises/{need.enterprise_id}/match", data={"csrf_token": token})
    assert response.status_code == 302
    html = client.get(f"/enterprises/{need.enterprise_id}").get_data(as_text=True)
    assert "王志远" in html and "需求：马达嗡嗡响" in html
    top = suggestions.for_enterprise(need.enterprise_id)[0]
    decisions.decide(admin, top, SuggestionStatus.REJECTED, top.version, "not_now")
    db.session.commit()
    assert top.id not in [s.id for s in suggestions.for_enterprise(need.enterprise_id)]


def test_batch_scored_in_worker_processes_equals_the_batch_run_here(
    experts, make_user, monkeypatch
):
    _, _, need = experts
    admin = make_user(role=Role.ADMIN)
    db.session.add_all(
        [
            Need(enterprise_id=need.enterprise_id, title=title, description=text)
            for title, text in (("领带洗后起皱", "客户嫌皱巴巴"), ("硅藻土发黄", "含铁多"))
        ]
    )
    db.session.commit()
    monkeypatch.setattr(batch, "BATCH", 1)  # a chunk a need: several chunks, a pool

    def made() -> list[tuple]:
        rows = db.session.execute(
            sa.select(
                Suggestion.need_id,
                Suggestion.researcher_id,
                Suggestion.achievement_id,
                Suggestion.institution_id,
                Suggestion.score,
            )
        )
        return sorted(tuple(-1 if v is None else v for v in row) for row in rows)

    forked = batch.generate_all(admin, top=3, workers=2)
    in_workers = made()
    db.session.execute(sa.delete(Suggestion))
    here = batch.generate_all(admin, top=3, workers=1)
    assert forked == here and forked.added == len(in_workers) >= 3
    assert made() == in_workers


def test_decisions_show_on_the_enterprise_timeline(experts, client, make_user):
    _, _, need = experts
    officer = make_user()
    need.enterprise.owner_id = officer.id  # the firm's officer decides on its suggestions
    other = Need(enterprise_id=need.enterprise_id, title="领带洗后起皱", description="真丝面料")
    db.session.add(other)
    db.session.flush()
    suggestions.generate(officer, need, top=3)
    suggestions.generate(officer, other, top=3)
    db.session.commit()
    first, second = suggestions.for_need(need)[0], suggestions.for_need(other)[0]
    decisions.decide(officer, first, SuggestionStatus.CONTACTED, first.version)
    decisions.decide(
        officer, second, SuggestionStatus.REJECTED, second.version, "expert_declined", "在国外"
    )
    db.session.commit()
    AuthActions(client).login(officer.username)
    html = client.get(f"/enterprises/{need.enterprise_id}").get_data(as_text=True)
    assert f"已联系推荐对象：{decisions.partner_name(first)}" in html
    assert f"否决推荐对象：{decisions.partner_name(second)}" in html
    assert "原因：专家无意向或没空（在国外）" in html
