"""The access matrix on real records: every route of `app.url_map`, with ids of records that
exist, asked by anonymous visitors, viewers, an officer of another department, an officer of
the record's department and an admin.

test_roles.py checks the role levels with made-up ids; here each route reaches its record, so
what is checked is the record-level rule: an officer of another department is refused (403)
and changes nothing — unless the route is in OTHER_DEPARTMENT_MAY, a reviewed list — while an
officer of the record's own department, sending the same form, gets through (so the refusal
was the rule, not a bad form). Every page opens for the admin without a server error.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from crm.api import tokens
from crm.auth.models import Department, Role
from crm.cooperation import attachments
from crm.cooperation.models import Cooperation, CooperationType
from crm.db import utcnow
from crm.events.models import Event, EventKind, EventPairing, EventParticipant
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
from crm.matching.models import MatchRun, Suggestion, ThesaurusEntry
from crm.needs.models import Need
from crm.policy import Level, declared_access
from crm.visits.models import Task, Visit
from tests.conftest import AuthActions, csrf_token
from tests.routes import real_url
from tests.test_roles import SELF_SERVICE, UNSAFE, _rules

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

#: Writes an officer may make on another department's records, each for a reason. Adding one
#: here is a decision to review, not a way to make a test pass.
OTHER_DEPARTMENT_MAY = {
    "visits.create": "a visit is the officer's own record; officers visit firms together",
    "matching.generate": "生成匹配 computes suggestions and decides nothing",
    "matching.generate_for_enterprise": "the same, for all of a firm's needs",
    "records.institution_form": "institutions are the bureau's shared directory",
    "records.researcher_form": "experts are the bureau's shared directory",
    "records.achievement_form": "achievements are the bureau's shared directory",
    "records.add_contact": "a contact person at an institution (shared directory)",
    "events.create": "events are the bureau's, not a department's",
    "events.add_participants": "the same",
    "events.schedule": "the same",
    "events.move": "the same",
    "events.outcome": "the same",
    "events.remove_participant": "the same",
    "imports.preview": "an import is the officer's own batch",
    "imports.commit": "the same",
    "matching.save_quick": "refused inside create_need when the firm is not theirs",
    "enterprises.create": "a new firm, registered to the officer",
    "auth.password": "the officer's own password",
}


def _valid(world: dict) -> dict[str, dict[str, str]]:
    """Forms that pass validation, so that only the record rule can refuse them."""
    return {
        "enterprises.edit": {"name": "改过名的企业", "version": "1"},
        "enterprises.add_contact": {"name": "王经理"},
        "enterprises.year": {"year": "2025", "revenue_wan": "100"},
        "needs.create": {"title": "新需求"},
        "needs.edit": {"title": "改过的需求", "status": "open", "version": "1"},
        "visits.edit": {"visited_on": date.today().isoformat(), "notes": "改过", "version": "1"},
        "cooperation.create": {
            "title": "新合作",
            "type": "development",
            "institution_id": str(world["institution"]),
            "origin": "manual",
        },
        "cooperation.move": {"to": "negotiation", "version": "1"},  # before the edit: version 1
        "cooperation.edit": {
            "title": "改过的合作",
            "type": "development",
            "institution_id": str(world["institution"]),
            "origin": "manual",
            "version": "2",
        },
        "cooperation.delete_attachment": {},
        "matching.decide": {"status": "contacted", "version": "1"},
        "trash.delete": {},
        "visits.task_done": {"done": "1"},
    }


@pytest.fixture
def world(app: Flask, make_user, make_enterprise) -> dict:
    """One record of every kind a route takes, in department 甲 (owner: officer_a)."""
    a = Department(name="矩阵甲科")
    b = Department(name="矩阵乙科")
    db.session.add_all([a, b])
    db.session.flush()
    officer_a = make_user(department=a.name)
    colleague = make_user(department=a.name)
    stranger = make_user(department=b.name)
    admin = make_user(role=Role.ADMIN)
    viewer = make_user(role=Role.VIEWER)
    ent = make_enterprise(name="矩阵企业", department_id=a.id, owner_id=officer_a.id)
    inst = Institution(name="矩阵研究院", kind=InstitutionKind.RESEARCH_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    researcher = Researcher(name="矩阵专家", institution_id=inst.id)
    need = Need(enterprise_id=ent.id, title="矩阵需求")
    db.session.add_all([researcher, need])
    db.session.flush()
    achievement = Achievement(title="矩阵成果", institution_id=inst.id)
    visit = Visit(enterprise_id=ent.id, officer_id=officer_a.id, visited_on=date.today())
    suggestion = Suggestion(need_id=need.id, researcher_id=researcher.id, score=1.0)
    coop = Cooperation(
        title="矩阵合作",
        enterprise_id=ent.id,
        institution_id=inst.id,
        officer_id=officer_a.id,
        type=CooperationType.DEVELOPMENT,
    )
    event = Event(kind=EventKind.MATCHMAKING, title="矩阵对接会", starts_on=date.today())
    db.session.add_all([achievement, visit, suggestion, coop, event])
    db.session.flush()
    task = Task(title="矩阵待办", assignee_id=officer_a.id, enterprise_id=ent.id)
    participant = EventParticipant(event_id=event.id, enterprise_id=ent.id)
    pairing = EventPairing(
        event_id=event.id,
        enterprise_id=ent.id,
        researcher_id=researcher.id,
        slot_starts_at=utcnow(),
        table_no=1,
    )
    batch = ImportBatch(kind="researchers", filename="x.csv", sha256="0" * 64, user_id=officer_a.id)
    entry = ThesaurusEntry(spoken="矩阵口语", experts="矩阵术语")
    run = MatchRun(started_by_id=admin.id)
    db.session.add_all([task, participant, pairing, batch, entry, run])
    db.session.flush()
    attachment = attachments.add(officer_a, coop, "合同.png", io.BytesIO(PNG))
    token, _ = tokens.create(officer_a, tokens.TokenData("矩阵令牌", Role.OFFICER, 30))
    db.session.commit()
    ids = {
        "enterprise_id": ent.id,
        "coop_id": coop.id,
        "attachment_id": attachment.id,
        "event_id": event.id,
        "pairing_id": pairing.id,
        "participant_id": participant.id,
        "task_id": task.id,
        "visit_id": visit.id,
        "suggestion_id": suggestion.id,
        "batch_id": batch.id,
        "entry_id": entry.id,
        "run_id": run.id,
        "token_id": token.id,
        "merge_id": 1,
        "username": officer_a.username,
        "code": "new_hitech_national",
        "kind": "need",
    }
    records = {
        "/needs/": need.id,
        "/researchers/": researcher.id,
        "/institutions/": inst.id,
        "/achievements/": achievement.id,
        "/trash/": need.id,
        "/admin/trash/": need.id,
    }
    return {
        "ids": ids,
        "records": records,
        "institution": inst.id,
        "users": {
            "officer": colleague,
            "stranger": stranger,
            "admin": admin,
            "viewer": viewer,
            "owner": officer_a,
        },
    }


def _url(rule: Rule, world: dict) -> str:
    url = real_url(rule, world["ids"], world["records"])
    assert url is not None, f"the world has no record for {rule.rule}"
    return url


def _level(app: Flask, rule: Rule) -> Level:
    return declared_access(app.view_functions[rule.endpoint])[0]


def _fingerprint() -> dict[str, tuple[int, int]]:
    """Every table's row count and, where rows carry one, the sum of their versions: a
    refused request changes neither."""
    out = {}
    for name, table in db.metadata.tables.items():
        versions = sa.func.coalesce(sa.func.sum(table.c.version), 0) if "version" in table.c else 0
        row = db.session.execute(sa.select(sa.func.count(), versions).select_from(table)).one()
        out[name] = (int(row[0]), int(row[1]))
    return out


def _writes(app: Flask) -> list[tuple[Rule, str]]:
    """The unsafe routes an officer reaches at all (not admin-only, not self-service)."""
    return [
        (r, m)
        for r in _rules(app)
        for m in sorted(r.methods & UNSAFE)
        if _level(app, r) <= Level.OFFICER
        and r.endpoint not in SELF_SERVICE
        and not r.rule.startswith("/api/")  # token-only: tests/api checks the same rules
    ]


def test_the_reviewed_list_names_real_routes(app):
    endpoints = {r.endpoint for r in _rules(app)}
    assert set(OTHER_DEPARTMENT_MAY) - SELF_SERVICE <= endpoints


def test_an_officer_of_another_department_is_refused_and_changes_nothing(app, client, world):
    AuthActions(client).login(world["users"]["stranger"].username)
    token = csrf_token(client, "/")
    valid = _valid(world)
    before = _fingerprint()
    checked = []
    for rule, method in _writes(app):
        if rule.endpoint in OTHER_DEPARTMENT_MAY:
            continue
        data = {"csrf_token": token, **valid.get(rule.endpoint, {})}
        response = client.open(_url(rule, world), method=method, data=data)
        assert response.status_code == 403, (rule.rule, method, response.status_code)
        checked.append(rule.endpoint)
    assert _fingerprint() == before
    assert set(valid) <= set(checked)  # every crafted form was refused by the rule alone


#: Records bound to one person rather than a department: a visit is corrected by the officer
#: who logged it, a task closed by its assignee (policy.can_edit_visit / can_edit_task).
PERSONAL = {"visits.edit", "visits.task_done"}


def test_an_officer_of_the_records_department_gets_through_with_the_same_forms(app, world):
    """A colleague in the record's department (the owner, for personal records)."""
    clients = {}
    for who in ("officer", "owner"):
        clients[who] = app.test_client()
        AuthActions(clients[who]).login(world["users"][who].username)
    rules = {r.endpoint: r for r in _rules(app)}
    for endpoint, data in _valid(world).items():
        client = clients["owner" if endpoint in PERSONAL else "officer"]
        token = csrf_token(client, "/")
        rule = rules[endpoint]
        before = _fingerprint()
        response = client.post(_url(rule, world), data={"csrf_token": token, **data})
        assert response.status_code == 302, (endpoint, response.status_code)
        assert _fingerprint() != before, endpoint  # it did what it says


def test_every_page_opens_for_the_admin_and_sends_the_others_where_they_belong(app, client, world):
    pages = [
        r
        for r in _rules(app)
        if "GET" in r.methods
        and r.endpoint not in ("auth.login", "main.healthz")
        and not r.rule.startswith("/api/")  # token-only: tests/api
    ]
    anonymous = app.test_client()
    for rule in pages:
        response = anonymous.get(_url(rule, world))
        response.close()
        assert response.status_code in (302, 401), (rule.rule, response.status_code)
    AuthActions(client).login(world["users"]["admin"].username)
    for rule in pages:
        response = client.get(_url(rule, world))
        response.close()  # a file is streamed from disk
        assert response.status_code == 200, (rule.rule, response.status_code)
    viewer = app.test_client()
    AuthActions(viewer).login(world["users"]["viewer"].username)
    for rule in pages:
        response = viewer.get(_url(rule, world))
        response.close()
        expected = 403 if _level(app, rule) > Level.SIGNED_IN else 200
        assert response.status_code == expected, (rule.rule, response.status_code)
