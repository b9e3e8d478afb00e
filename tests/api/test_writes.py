"""Writes through /api/v1/: the web's services underneath (audit trail, validation, rules),
If-Match → 412 on a stale version and 428 without one, soft delete, nothing half-written on a
refused request, an `updated_since` sync that follows every change, and throttling per token."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.cooperation.models import Cooperation, Stage
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.visits.models import Task
from tests.api.helpers import bearer, get, send
from tests.redis_server import REDIS, redis_up


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_enterprise_is_created_changed_and_deleted_with_its_audit_trail(client, make_user):
    officer = make_user()
    token = bearer(officer)
    made = send(client, "POST", "/api/v1/enterprises", token, {"name": "嵊州接口厨具公司"})
    assert made.status_code == 201
    body = made.get_json()
    assert made.headers["Location"] == f"/api/v1/enterprises/{body['id']}"
    assert made.headers["ETag"] == f'"{body["id"]}.1"' and body["owner"] == officer.username
    path = made.headers["Location"]

    changed = send(
        client, "PATCH", path, token, {"notes": "集成灶节能"}, If_Match=made.headers["ETag"]
    )
    assert changed.status_code == 200
    assert (
        changed.get_json()["notes"] == "集成灶节能"
        and changed.get_json()["name"] == "嵊州接口厨具公司"
    )
    assert changed.headers["ETag"] == f'"{body["id"]}.2"'

    stale = send(
        client, "PATCH", path, token, {"notes": "覆盖别人的修改"}, If_Match=made.headers["ETag"]
    )
    assert stale.status_code == 412 and stale.is_json
    assert send(client, "PATCH", path, token, {"notes": "不带版本"}).status_code == 428
    assert send(client, "PATCH", path, token, {"notes": "x"}, If_Match="*").status_code == 400
    assert db.session.get(Enterprise, body["id"]).notes == "集成灶节能"  # neither got through

    assert send(client, "DELETE", path, token, If_Match=made.headers["ETag"]).status_code == 412
    gone = send(client, "DELETE", path, token, If_Match=changed.headers["ETag"])
    assert gone.status_code == 204 and gone.data == b""
    assert get(client, path, token).status_code == 404
    db.session.expire_all()
    assert db.session.get(Enterprise, body["id"]).deleted_at is not None  # soft: an admin restores
    trail = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.table_name == "enterprise", AuditEntry.record_id == body["id"])
        .order_by(AuditEntry.id)
    ).all()
    assert [(a.action, a.user_id) for a in trail] == [
        ("create", officer.id),
        ("update", officer.id),
        ("delete", officer.id),
    ]
    assert trail[1].changes["notes"] == [None, "集成灶节能"]


def test_a_refused_write_changes_nothing_and_says_which_field(client, make_user, make_enterprise):
    token = bearer(make_user(role=Role.ADMIN))
    before = _count(Enterprise)
    cases = [
        ({"name": 5}, 400, "name"),  # not the documented type
        ({"name": "甲", "colour": "red"}, 400, "colour"),  # not a documented field
        ({"notes": "无名"}, 400, "name"),  # required
        ({"name": "甲", "uscc": "91330683MA2BXXXXXX"}, 422, "uscc"),  # checksum
        ({"name": "甲", "town": "不存在镇"}, 422, "town"),  # unknown reference
        ({"name": "甲", "industries": ["领带", "火箭"]}, 422, "industries"),
        ({"name": "   "}, 422, "name"),  # blank after trimming: the service's rule
    ]
    for payload, status, field in cases:
        refused = send(client, "POST", "/api/v1/enterprises", token, payload)
        assert refused.status_code == status, (payload, refused.get_json())
        assert field in refused.get_json()["error"]["fields"], payload
    not_json = client.post(
        "/api/v1/enterprises", data="name=甲", headers={"Authorization": f"Bearer {token}"}
    )
    assert not_json.status_code == 400 and not_json.is_json
    assert _count(Enterprise) == before
    e = make_enterprise(name="已有企业")
    etag = get(client, f"/api/v1/enterprises/{e.id}", token).headers["ETag"]
    bad = send(
        client,
        "PATCH",
        f"/api/v1/enterprises/{e.id}",
        token,
        {"notes": "半截", "town": "不存在镇"},
        If_Match=etag,
    )
    assert bad.status_code == 422
    db.session.expire_all()
    assert e.notes is None and e.version == 1  # nothing of the refused change stuck


def test_needs_visits_and_cooperation_go_through_their_services(client, make_user, records):
    officer, made = records
    token = bearer(officer)
    e = made["enterprises"].id
    need = send(
        client,
        "POST",
        "/api/v1/needs",
        token,
        {"enterprise_id": e, "title": "真丝领带抗皱", "budget": "150000.00"},
    )
    assert need.status_code == 201 and need.get_json()["budget"] == "150000.00"
    moved = send(
        client,
        "PATCH",
        need.headers["Location"],
        token,
        {"enterprise_id": e + 1000},
        If_Match=need.headers["ETag"],
    )
    assert moved.status_code == 422 and "enterprise_id" in moved.get_json()["error"]["fields"]

    today = utcnow().date()
    visit = send(
        client,
        "POST",
        "/api/v1/visits",
        token,
        {"enterprise_id": e, "visited_on": today.isoformat(), "next_steps": "约港理工老师面谈"},
    )
    assert visit.status_code == 201 and visit.get_json()["officer"] == officer.username
    task = db.session.scalars(sa.select(Task).where(Task.visit_id == visit.get_json()["id"])).one()
    assert task.assignee_id == officer.id and task.title == "约港理工老师面谈"
    future = (today + timedelta(days=3)).isoformat()
    assert (
        send(
            client, "POST", "/api/v1/visits", token, {"enterprise_id": e, "visited_on": future}
        ).status_code
        == 422
    )

    coop = made["cooperation"]
    path = f"/api/v1/cooperation/{coop.id}/moves"
    etag = get(client, f"/api/v1/cooperation/{coop.id}", token).headers["ETag"]
    skipped = send(client, "POST", path, token, {"to": "signed"}, If_Match=etag)
    assert skipped.status_code == 422 and "to" in skipped.get_json()["error"]["fields"]
    step = send(
        client, "POST", path, token, {"to": "negotiation", "note": "第一次洽谈"}, If_Match=etag
    )
    assert step.status_code == 200 and step.get_json()["stage"] == "negotiation"
    again = send(client, "POST", path, token, {"to": "terminated", "reason": "x"}, If_Match=etag)
    assert again.status_code == 412  # the move made a new version
    db.session.expire_all()
    assert db.session.get(Cooperation, coop.id).stage == Stage.NEGOTIATION
    assert [h.to_stage for h in db.session.get(Cooperation, coop.id).history][
        -1
    ] == Stage.NEGOTIATION
    with_researcher = send(
        client,
        "POST",
        "/api/v1/cooperation",
        token,
        {
            "enterprise_id": e,
            "title": "抗皱整理开发",
            "type": "development",
            "researcher_id": made["researchers"].id,
        },
    )
    assert with_researcher.status_code == 201
    assert (
        with_researcher.get_json()["institution_id"] == made["institutions"].id
    )  # the researcher's


def test_a_sync_by_updated_since_sees_every_change_once(client, make_user, make_enterprise):
    token = bearer(make_user(role=Role.ADMIN))
    for i in range(5):
        make_enterprise(name=f"同步企业{i}")
    mirror: dict[int, dict] = {}

    def sync(since: str | None) -> str | None:
        """Pull what changed since the cursor, a page of two at a time; the new cursor."""
        url = "/api/v1/enterprises?per_page=2" + (f"&updated_since={since}" if since else "")
        cursor = since
        while url:
            page = get(client, url, token).get_json()
            for item in page["items"]:
                if item["deleted"]:
                    mirror.pop(item["id"], None)
                else:
                    mirror[item["id"]] = item
                cursor = item["updated_at"]
            url = page["next"]
        return cursor

    first = sync("2000-01-01T00:00:00Z")
    assert sorted(e["name"] for e in mirror.values()) == [f"同步企业{i}" for i in range(5)]
    ids = sorted(mirror)
    # the other side changes one, deletes one and adds one
    etag = get(client, f"/api/v1/enterprises/{ids[0]}", token).headers["ETag"]
    assert (
        send(
            client,
            "PATCH",
            f"/api/v1/enterprises/{ids[0]}",
            token,
            {"notes": "改了"},
            If_Match=etag,
        ).status_code
        == 200
    )
    etag = get(client, f"/api/v1/enterprises/{ids[1]}", token).headers["ETag"]
    assert (
        send(client, "DELETE", f"/api/v1/enterprises/{ids[1]}", token, If_Match=etag).status_code
        == 204
    )
    added = send(client, "POST", "/api/v1/enterprises", token, {"name": "新加入的企业"}).get_json()

    since_first = get(client, f"/api/v1/enterprises?updated_since={first}", token).get_json()
    changed = {item["id"]: item["deleted"] for item in since_first["items"]}
    assert {ids[0], ids[1], added["id"]} <= set(changed) and changed[ids[1]] is True
    sync(first)
    live = get(client, "/api/v1/enterprises?per_page=100", token).get_json()["items"]
    assert mirror == {item["id"]: item for item in live}  # the mirror is the source, exactly
    assert mirror[ids[0]]["notes"] == "改了" and ids[1] not in mirror


@pytest.fixture
def three_a_minute(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    yield
    app.extensions.pop("crm_redis", None)


def _throttled(client, make_user) -> None:
    first, second = bearer(make_user()), bearer(make_user())
    answers = [get(client, "/api/v1/enterprises", first) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    over = answers[-1]
    assert over.is_json and over.get_json()["error"]["code"] == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert get(client, "/api/v1/enterprises", second).status_code == 200  # per token


def test_each_token_is_throttled_in_the_database(client, make_user, three_a_minute):
    _throttled(client, make_user)


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_each_token_is_throttled_in_redis(app, client, make_user, three_a_minute, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    _throttled(client, make_user)
    keys = app.extensions["crm_redis"].keys("crm:api-requests:*")
    assert keys and all(int(app.extensions["crm_redis"].ttl(k)) <= 65 for k in keys)


def test_an_unreachable_redis_still_throttles(app, client, make_user, three_a_minute, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:1/{uuid.uuid4().int % 16}")
    _throttled(client, make_user)
