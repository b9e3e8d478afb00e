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

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from crm.extensions import db
from crm.policy import Level, declared_access
from tests.conftest import AuthActions, csrf_token, today
from tests.test_roles import SELF_SERVICE, UNSAFE, _rules
from tests.world import url_in, world_fixture  # noqa: F401 - the `world` fixture

#: Writes an officer may make on another department's records, each for a reason. Adding one
#: here is a decision to review, not a way to make a test pass.
OTHER_DEPARTMENT_MAY = {
    "visits.create": "a visit is the officer's own record; officers visit firms together",
    "matching.generate": "生成匹配 computes suggestions and decides nothing",
    "matching.generate_for_enterprise": "the same, for all of a firm's needs",
    "institutions.institution_form": "institutions are the bureau's shared directory",
    "institutions.researcher_form": "experts are the bureau's shared directory",
    "institutions.achievement_form": "achievements are the bureau's shared directory",
    "contacts.add_to_institution": "a contact person at an institution (shared directory)",
    "institutions.branch_new": "the host firm is chosen in the form: the service refuses one "
    "the officer may not edit (tests/test_branches.py); a branch in a park is anyone's",
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
        "contacts.add_to_enterprise": {"name": "王经理"},
        "enterprises.year": {"year": "2025", "revenue_wan": "100"},
        "needs.create": {"title": "新需求"},
        "needs.edit": {"title": "改过的需求", "status": "open", "version": "1"},
        "visits.edit": {"visited_on": today().isoformat(), "notes": "改过", "version": "1"},
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
        "projects.create": {"title": "新项目", "programme_id": str(world["ids"]["programme_id"])},
        "projects.move": {"to": "recommended", "version": "1"},
        "projects.edit": {
            "title": "改过的项目",
            "programme_id": str(world["ids"]["programme_id"]),
            "version": "2",  # after the move
        },
        "matching.decide": {"status": "contacted", "version": "1"},
        "trash.delete": {},
        "visits.task_done": {"done": "1"},
        "institutions.branch_edit": {
            "name": "改过名的联合实验室",
            "kind": "lab",
            "institution_id": str(world["institution"]),
            "host_enterprise_id": str(world["ids"]["enterprise_id"]),
            "established_on": today().isoformat(),
            "version": "1",
        },
    }


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
        response = client.open(url_in(rule, world), method=method, data=data)
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
        response = client.post(url_in(rule, world), data={"csrf_token": token, **data})
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
        response = anonymous.get(url_in(rule, world))
        response.close()
        assert response.status_code in (302, 401), (rule.rule, response.status_code)
    AuthActions(client).login(world["users"]["admin"].username)
    for rule in pages:
        response = client.get(url_in(rule, world))
        response.close()  # a file is streamed from disk
        assert response.status_code == 200, (rule.rule, response.status_code)
    viewer = app.test_client()
    AuthActions(viewer).login(world["users"]["viewer"].username)
    for rule in pages:
        response = viewer.get(url_in(rule, world))
        response.close()
        expected = 403 if _level(app, rule) > Level.SIGNED_IN else 200
        assert response.status_code == expected, (rule.rule, response.status_code)
