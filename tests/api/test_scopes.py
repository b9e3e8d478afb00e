"""What each role's token may do through the API — the web's rules, decided by the same policy
module: every write route, for every kind of caller, on records of one department.

Scopes: "officer" writes (any officer or admin), "enterprise" writes (the enterprise's own
officer, their department, admins), "own visit" (the officer who logged it, admins), "admin"
(deleting institutions, researchers and achievements). A 科技项目 is written as a cooperation
is: by the officer in charge, whoever may edit its lead firm, admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from crm.auth.models import Role
from crm.clock import local_today
from tests.api.helpers import bearer, get, send


@dataclass(frozen=True)
class Write:
    scope: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    versioned: str | None = None  # the record whose ETag goes in If-Match


def _writes(made: dict[str, Any]) -> list[Write]:
    e, i, r = made["enterprises"].id, made["institutions"].id, made["researchers"].id
    n, a, v = made["needs"].id, made["achievements"].id, made["visits"].id
    c, s = made["cooperation"].id, made["suggestions"].id
    p, g = made["projects"].id, made["programmes"].id
    today = local_today().isoformat()
    return [
        Write("officer", "POST", "/api/v1/enterprises", {"name": "新登记的电机公司"}),
        Write(
            "enterprise", "PATCH", f"/api/v1/enterprises/{e}", {"notes": "改"}, f"enterprises/{e}"
        ),
        Write(
            "officer", "POST", "/api/v1/institutions", {"name": "浙江大学", "kind": "university"}
        ),
        Write(
            "officer", "PATCH", f"/api/v1/institutions/{i}", {"region": "香港"}, f"institutions/{i}"
        ),
        Write("officer", "POST", "/api/v1/researchers", {"name": "王立新", "institution_id": i}),
        Write(
            "officer", "PATCH", f"/api/v1/researchers/{r}", {"title": "教授"}, f"researchers/{r}"
        ),
        Write("officer", "POST", "/api/v1/achievements", {"title": "硅藻土提纯工艺"}),
        Write(
            "officer",
            "PATCH",
            f"/api/v1/achievements/{a}",
            {"maturity": "pilot"},
            f"achievements/{a}",
        ),
        Write("enterprise", "POST", "/api/v1/needs", {"enterprise_id": e, "title": "电机降噪"}),
        Write("enterprise", "PATCH", f"/api/v1/needs/{n}", {"status": "matched"}, f"needs/{n}"),
        Write("officer", "POST", "/api/v1/visits", {"enterprise_id": e, "visited_on": today}),
        Write("own visit", "PATCH", f"/api/v1/visits/{v}", {"notes": "补记"}, f"visits/{v}"),
        Write(
            "enterprise",
            "POST",
            "/api/v1/cooperation",
            {"enterprise_id": e, "title": "降噪合作", "type": "development", "institution_id": i},
        ),
        Write(
            "enterprise", "PATCH", f"/api/v1/cooperation/{c}", {"notes": "改"}, f"cooperation/{c}"
        ),
        Write(
            "enterprise",
            "POST",
            f"/api/v1/cooperation/{c}/moves",
            {"to": "negotiation"},
            f"cooperation/{c}",
        ),
        Write(
            "enterprise",
            "POST",
            "/api/v1/projects",
            {"enterprise_id": e, "title": "电机降噪项目", "programme_id": g},
        ),
        Write("enterprise", "PATCH", f"/api/v1/projects/{p}", {"notes": "改"}, f"projects/{p}"),
        Write(
            "enterprise",
            "POST",
            f"/api/v1/projects/{p}/moves",
            {"to": "recommended"},
            f"projects/{p}",
        ),
        Write(
            "enterprise",
            "POST",
            f"/api/v1/suggestions/{s}/decision",
            {"status": "contacted"},
            f"suggestions/{s}",
        ),
        Write("enterprise", "DELETE", f"/api/v1/projects/{p}", None, f"projects/{p}"),
        Write("enterprise", "DELETE", f"/api/v1/needs/{n}", None, f"needs/{n}"),
        Write("own visit", "DELETE", f"/api/v1/visits/{v}", None, f"visits/{v}"),
        Write("admin", "DELETE", f"/api/v1/achievements/{a}", None, f"achievements/{a}"),
        Write("admin", "DELETE", f"/api/v1/researchers/{r}", None, f"researchers/{r}"),
        Write("admin", "DELETE", f"/api/v1/institutions/{i}", None, f"institutions/{i}"),
        Write("enterprise", "DELETE", f"/api/v1/enterprises/{e}", None, f"enterprises/{e}"),
    ]


#: caller → the scopes its token may write in (reading is always allowed)
CALLERS = {
    "admin": {"officer", "enterprise", "own visit", "admin"},
    "the enterprise's officer": {"officer", "enterprise", "own visit"},
    "a colleague in the department": {"officer", "enterprise"},
    "an officer of another department": {"officer"},
    "a viewer": set(),
    "the officer's read-only token": set(),
    "an admin's officer token": {"officer"},  # capped: an officer of no department
}


def _caller(name: str, officer, make_user) -> str:
    if name == "admin":
        return bearer(make_user(role=Role.ADMIN))
    if name == "the enterprise's officer":
        return bearer(officer)
    if name == "a colleague in the department":
        return bearer(make_user(department=officer.department.name))
    if name == "an officer of another department":
        return bearer(make_user(department="别的科"))
    if name == "a viewer":
        return bearer(make_user(role=Role.VIEWER))
    if name == "the officer's read-only token":
        return bearer(officer, Role.VIEWER)
    return bearer(make_user(role=Role.ADMIN), Role.OFFICER)


@pytest.mark.parametrize("caller", CALLERS)
def test_each_role_s_token_writes_what_the_web_lets_it_and_nothing_else(
    client, make_user, records, caller
):
    officer, made = records
    token = _caller(caller, officer, make_user)
    outcomes = {}
    for write in _writes(made):
        headers = {}
        if write.versioned:
            seen = get(client, f"/api/v1/{write.versioned}", token)
            assert seen.status_code == 200, (caller, write.versioned)  # every role reads
            headers["If_Match"] = seen.headers["ETag"]
        response = send(client, write.method, write.path, token, write.body, **headers)
        outcomes[f"{write.method} {write.path}"] = response.status_code
        allowed = write.scope in CALLERS[caller]
        expected = {"POST": 201, "PATCH": 200, "DELETE": 204}[write.method]
        if write.path.endswith(("/moves", "/decision")):
            expected = 200
        assert response.status_code == (expected if allowed else 403), (
            caller,
            write,
            response.get_json(),
        )
        if not allowed:
            assert response.get_json()["error"]["code"] == 403
    assert len(outcomes) == 26
