"""Bounded input: every text the API takes is as long as the web form's field allows (both
read it from the column's declaration) and the OpenAPI document says so; lists have a most;
a body past the API's limit is 413 before it is parsed; JSON nested past the parser's depth or
a list of 100,000 names is a JSON 400/413 — not a 500, not a held worker, not a 503."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm.api.openapi import document
from crm.api.resources import RESOURCES
from crm.api.writes import DECISION, MOVE, PROJECT_MOVE
from crm.auth.models import Role
from crm.cooperation.forms import CooperationForm, MoveForm
from crm.enterprises.forms import EnterpriseForm
from crm.extensions import db
from crm.institutions.forms import AchievementForm, InstitutionForm, ResearcherForm
from crm.institutions.models import Researcher
from crm.needs.forms import NeedForm
from crm.projects.forms import MoveForm as ProjectMoveForm
from crm.projects.forms import ProjectForm
from crm.visits.forms import VisitForm
from tests.api.helpers import bearer, send
from tests.conftest import AuthActions, csrf_token

#: API kind → the web form that writes the same record, and the form's names for API fields
FORMS = {
    "enterprises": (EnterpriseForm, {}),
    "institutions": (InstitutionForm, {}),
    "researchers": (ResearcherForm, {}),
    "achievements": (AchievementForm, {}),
    "needs": (NeedForm, {}),
    "visits": (VisitForm, {"next_steps": "next_step"}),
    "cooperation": (CooperationForm, {}),
    "projects": (ProjectForm, {}),
}


def _form_limit(form_class, name: str) -> int | None:
    field = getattr(form_class, name, None)
    if field is None:
        return None
    for validator in field.kwargs.get("validators", []):
        if type(validator).__name__ == "Length":
            return validator.max
    return None


def _request_schemas() -> list[tuple[str, str, dict]]:
    doc = document()
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue  # the path's own parameters
            body = operation.get("requestBody")
            if not body:
                continue
            schema = body["content"]["application/json"]["schema"]
            if "$ref" in schema:
                schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
            for name, prop in schema["properties"].items():
                found.append((f"{method.upper()} {path}", name, prop))
    return found


def test_every_text_the_api_takes_has_a_documented_most():
    seen = 0
    for where, name, prop in _request_schemas():
        types = prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]
        if "string" in types and "enum" not in prop and "format" not in prop:
            if "pattern" in prop and prop["pattern"].startswith("^\\d"):
                continue  # money: its pattern bounds it
            assert prop.get("maxLength"), (where, name)
            seen += 1
        if "array" in types:  # of texts, each with its most; or of ids, each at most MAX_ID
            item = prop["items"]
            assert prop.get("maxItems") and (item.get("maxLength") or item.get("maximum")), (
                where,
                name,
            )
    assert seen >= 30


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_the_api_takes_as_much_text_as_the_web_form(kind):
    form_class, renamed = FORMS[kind]
    compared = 0
    for name, field in RESOURCES[kind].writes.fields.items():
        if field.type not in ("string", "text"):
            continue
        limit = _form_limit(form_class, renamed.get(name, name))
        if limit is None:
            continue  # the form names it otherwise (a select, an id)
        assert field.max_length == limit, (kind, name, field.max_length, limit)
        compared += 1
    assert compared >= 1


def test_moves_and_decisions_take_what_their_forms_take():
    assert MOVE["parties"].max_length == _form_limit(MoveForm, "parties")
    assert MOVE["reason"].max_length == _form_limit(MoveForm, "reason")
    assert MOVE["note"].max_length == _form_limit(MoveForm, "note")
    assert DECISION["note"].max_length == 500
    for name in ("number", "reason", "note"):
        assert PROJECT_MOVE[name].max_length == _form_limit(ProjectMoveForm, name), name


def test_too_long_text_is_refused_by_both_alike(client, make_user):
    admin = make_user(role=Role.ADMIN)
    token = bearer(admin)
    longest = RESOURCES["researchers"].writes.fields["bio"].max_length
    taken = send(
        client, "POST", "/api/v1/researchers", token, {"name": "甲", "bio": "字" * longest}
    )
    assert taken.status_code == 201
    refused = send(
        client, "POST", "/api/v1/researchers", token, {"name": "乙", "bio": "字" * (longest + 1)}
    )
    assert refused.status_code == 400 and "bio" in refused.get_json()["error"]["fields"]

    AuthActions(client).login(admin.username)
    token_web = csrf_token(client, "/researchers/new")
    web = client.post(
        "/researchers/new",
        data={"csrf_token": token_web, "name": "丙", "bio": "字" * (longest + 1)},
    )
    assert web.status_code == 400
    names = db.session.scalars(sa.select(Researcher.name)).all()
    assert sorted(names) == ["甲"]  # neither the API's nor the form's too-long one went in


def test_a_huge_body_is_refused_before_it_is_read(client, make_user):
    token = bearer(make_user(role=Role.ADMIN))
    huge = send(
        client, "POST", "/api/v1/researchers", token, {"name": "甲", "bio": "字" * 1_480_000}
    )
    assert huge.status_code == 413 and huge.is_json
    assert "KB" in huge.get_json()["error"]["message"]


def test_deep_nesting_and_long_lists_are_json_errors(client, make_user):
    token = bearer(make_user(role=Role.ADMIN))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    answer = client.post("/api/v1/enterprises", data=deep, headers=headers)
    assert answer.status_code == 400 and answer.is_json, answer.status_code
    assert "嵌套" in answer.get_json()["error"]["message"]

    many = {"name": "甲", "industries": ["电机"] * 100_000}
    answer = client.post("/api/v1/enterprises", data=json.dumps(many), headers=headers)
    assert answer.status_code == 413 and answer.is_json  # 1 MB: past the body limit
    some = {"name": "甲", "industries": [f"行业{n}" for n in range(21)]}
    answer = client.post("/api/v1/enterprises", data=json.dumps(some), headers=headers)
    assert answer.status_code == 400 and "industries" in answer.get_json()["error"]["fields"]
