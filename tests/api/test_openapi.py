"""The OpenAPI document matches the code: the same routes and methods, each operation named
after the view that answers it, and every record kind's real JSON valid against its schema
(which lists every key and allows no other, so a field added to a serialiser and not to the
document — or the other way round — fails here)."""

from __future__ import annotations

import re

import jsonschema_rs
import schemathesis

from crm.api.openapi import document
from crm.api.resources import RESOURCES
from tests.api.helpers import bearer, get

UNDOCUMENTED = {"api.openapi_json", "api.docs"}  # the document and its page themselves


def _routes(app) -> set[tuple[str, str, str]]:
    """(path in OpenAPI form, method, endpoint) of every API route Flask has."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in UNDOCUMENTED:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower(), rule.endpoint))
    return found


def test_the_document_lists_exactly_the_routes_flask_has(app):
    doc = document()
    documented = {
        (path, method, "api." + op["operationId"])
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "patch", "delete")
    }
    assert documented == _routes(app)
    assert len(documented) == 46


def test_the_document_is_valid_openapi_3_1(client):
    served = client.get("/api/v1/openapi.json")  # public: no token needed to read it
    assert served.status_code == 200 and served.get_json() == document()
    assert document()["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document()).validate()  # raises on an invalid document


def test_every_kind_s_json_matches_its_schema(client, make_user, records):
    officer, made = records
    schemas = document()["components"]["schemas"]
    token = bearer(officer)
    for name, record in made.items():
        kind = "".join(part.capitalize() for part in name.split("_"))
        validator = jsonschema_rs.validator_for(schemas[kind])
        shown = get(client, f"/api/v1/{name}/{record.id}", token).get_json()
        errors = [e.message for e in validator.iter_errors(shown)]
        assert not errors, (name, errors)
        assert set(schemas[kind]["required"]) == set(shown), name
        listed = get(client, f"/api/v1/{name}", token).get_json()
        page = {**schemas[f"{kind}Page"], "properties": {**schemas[f"{kind}Page"]["properties"]}}
        page["properties"]["items"] = {"type": "array", "items": schemas[kind]}
        assert jsonschema_rs.validator_for(page).is_valid(listed), name
    assert set(made) == set(RESOURCES)


def test_an_error_matches_the_error_schema(client, make_user):
    validator = jsonschema_rs.validator_for(document()["components"]["schemas"]["Error"])
    token = bearer(make_user())
    for response in (
        get(client, "/api/v1/enterprises", None),  # 401
        get(client, "/api/v1/enterprises?per_page=0", token),  # 400
        get(client, "/api/v1/enterprises/2147483648", token),  # 404, past any id
        client.put("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"}),  # 405
    ):
        assert response.is_json and validator.is_valid(response.get_json()), response.status_code
    allowed = client.put("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 405 and set(allowed.headers["Allow"].split(", ")) >= {
        "GET",
        "POST",
    }


def test_the_docs_page_shows_every_operation_to_anyone(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-testid="operation"') == 46
    assert "If-Match" in html and "/api/v1/openapi.json" in html
    assert "cdn" not in html.lower()  # every asset is served locally
