"""科技项目 and 科技计划 through /api/v1/: a project is registered, read, listed, changed and moved
along its stages by the same services and rules as the web (crm/projects/services.py and
stages.py), with If-Match as every other kind; each refusal names its field in Chinese and
writes nothing. Programmes are read-only here (admins keep them on their page)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jsonschema_rs
import pytest
import sqlalchemy as sa

from crm.api.openapi import document
from crm.audit.models import AuditEntry
from crm.auth.models import Department, Role
from crm.cooperation.models import Cooperation, CooperationType
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.projects.models import Level, Programme, Project, ProjectStage
from crm.trash import services as trash
from tests.api.helpers import bearer, get, send

TODAY = date(2026, 11, 10)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def world(clock, make_user, make_enterprise) -> dict[str, Any]:
    """A firm of a department with its officer, two programmes (one no longer in use), an
    institution and a researcher to be partners, another firm."""
    clock.set(TODAY)
    dept = Department(name="项目科")
    db.session.add(dept)
    db.session.flush()
    officer = make_user(department=dept.name)
    firm = make_enterprise(name="嵊州市项目领带有限公司", department_id=dept.id)
    other_firm = make_enterprise(name="嵊州市合作丝绸有限公司")
    provincial = Programme(name="省重点研发计划", level=Level.PROVINCIAL, department="省科技厅")
    county = Programme(name="嵊州市科技计划", level=Level.COUNTY)
    retired = Programme(name="已停用的计划", level=Level.SHAOXING, active=False)
    school = Institution(name="浙江理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add_all([provincial, county, retired, school])
    db.session.flush()
    expert = Researcher(name="沈教授", institution_id=school.id)
    db.session.add(expert)
    db.session.commit()
    return {
        "officer": officer,
        "token": bearer(officer),
        "firm": firm,
        "other_firm": other_firm,
        "provincial": provincial,
        "county": county,
        "retired": retired,
        "school": school,
        "expert": expert,
    }


def _new(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "enterprise_id": world["firm"].id,
        "title": "真丝面料抗皱整理关键技术研发",
        "programme_id": world["provincial"].id,
        **extra,
    }


def _register(client, world: dict[str, Any], **extra: Any) -> Any:
    made = send(client, "POST", "/api/v1/projects", world["token"], _new(world, **extra))
    assert made.status_code == 201, made.get_json()
    return made


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Project))


def _refusal(answer: Any, status: int, field: str) -> str:
    """The answer is a refusal of `status` naming `field`, in Chinese; its message."""
    body = answer.get_json()
    assert answer.status_code == status, body
    assert field in body["error"]["fields"], body
    message = body["error"]["fields"][field]
    assert CHINESE.search(message), message
    return message


def test_a_project_is_registered_with_its_funding_in_yuan_partners_and_history(client, world):
    made = _register(
        client,
        world,
        grant_amount="500000.00",
        self_funding="1200000.50",
        applied_on="2026-11-02",
        starts_on="2027-01-01",
        ends_on="2028-12-31",
        partner_institution_ids=[world["school"].id],
        partner_researcher_ids=[world["expert"].id],
        partner_enterprise_ids=[
            world["other_firm"].id,
            world["firm"].id,
        ],  # the lead: not a partner
        notes="与浙江理工大学联合申报",
    )
    body = made.get_json()
    path = f"/api/v1/projects/{body['id']}"
    assert made.headers["Location"] == path and made.headers["ETag"] == f'"{body["id"]}.1"'
    assert body["stage"] == "applying" and body["stage_changed_on"] == "2026-11-02"
    assert body["level"] == "provincial"  # the programme's
    assert body["year"] == 2026 and body["officer"] == world["officer"].username
    assert body["officer_id"] == world["officer"].id
    assert (body["grant_amount"], body["self_funding"], body["total_funding"]) == (
        "500000.00",
        "1200000.50",
        "1700000.50",
    )
    assert body["enterprise"] == "嵊州市项目领带有限公司" and body["programme"] == "省重点研发计划"
    assert body["partner_institution_ids"] == [world["school"].id]
    assert body["partner_researcher_ids"] == [world["expert"].id]
    assert body["partner_enterprise_ids"] == [world["other_firm"].id]
    assert sorted(p["name"] for p in body["partners"]) == sorted(
        ["浙江理工大学", "沈教授", "嵊州市合作丝绸有限公司"]
    )
    (first,) = body["history"]
    assert first["to_stage"] == "applying" and first["from_stage"] is None
    assert first["changed_on"] == "2026-11-02"
    assert first["changed_by"] == world["officer"].username
    assert body["links"] == {
        "enterprise": f"/api/v1/enterprises/{world['firm'].id}",
        "programme": f"/api/v1/programmes/{world['provincial'].id}",
        "cooperation": None,
    }
    for link in ("enterprise", "programme"):  # each answers
        assert get(client, body["links"][link], world["token"]).status_code == 200

    schema = document()["components"]["schemas"]["Projects"]  # partners, history, links too
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
    assert not errors and set(body) == set(schema["required"]), errors

    stored = db.session.get(Project, body["id"])
    assert stored.grant_amount == Decimal("500000.00")  # yuan, as the web stores it
    assert stored.self_funding == Decimal("1200000.50")
    read = get(client, path, world["token"])
    assert read.status_code == 200 and read.get_json() == body
    assert get(client, path, world["token"], If_None_Match=made.headers["ETag"]).status_code == 304
    trail = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.table_name == "project", AuditEntry.record_id == body["id"]
        )
    ).all()
    assert [(a.action, a.user_id) for a in trail] == [("create", world["officer"].id)]


def test_the_list_pages_and_filters_as_the_other_lists(client, world, make_user):
    other_officer = make_user(role=Role.ADMIN)
    admin_token = bearer(other_officer)
    first = _register(client, world).get_json()
    second = _register(
        client, world, title="县级项目", programme_id=world["county"].id, year=2025
    ).get_json()
    third = send(
        client,
        "POST",
        "/api/v1/projects",
        admin_token,
        {
            "enterprise_id": world["other_firm"].id,
            "title": "丝绸数码印花",
            "programme_id": world["provincial"].id,
            "level": "national",
        },
    ).get_json()
    token = world["token"]

    def ids(query: str) -> list[int]:
        answer = get(client, f"/api/v1/projects{query}", token)
        assert answer.status_code == 200, answer.get_json()
        return [item["id"] for item in answer.get_json()["items"]]

    assert ids("") == [first["id"], second["id"], third["id"]]
    assert ids("?level=provincial") == [first["id"]]
    assert ids("?level=national") == [third["id"]]
    assert ids(f"?programme_id={world['county'].id}") == [second["id"]]
    assert ids("?year=2025") == [second["id"]]
    assert ids(f"?enterprise_id={world['other_firm'].id}") == [third["id"]]
    assert ids(f"?officer_id={other_officer.id}") == [third["id"]]
    assert ids("?stage=applying&year=2026") == [first["id"], third["id"]]
    assert ids("?stage=approved") == []
    assert ids("?q=印花") == [third["id"]]
    page = get(client, "/api/v1/projects?per_page=2", token).get_json()
    assert page["total"] == 3 and page["next"] and len(page["items"]) == 2
    since = get(client, "/api/v1/projects?updated_since=2000-01-01T00:00:00Z", token).get_json()
    assert {i["id"] for i in since["items"]} == {first["id"], second["id"], third["id"]}
    for bad in ("?stage=done", "?year=abc", "?level=city", "?colour=red"):
        answer = get(client, f"/api/v1/projects{bad}", token)
        assert answer.status_code == 400 and CHINESE.search(answer.get_json()["error"]["message"])


def test_programmes_are_listed_read_only(client, world):
    token = world["token"]
    listed = get(client, "/api/v1/programmes", token).get_json()
    assert [p["name"] for p in listed["items"]] == [
        "省重点研发计划",
        "嵊州市科技计划",
        "已停用的计划",
    ]
    assert listed["items"][0]["level"] == "provincial"
    assert listed["items"][0]["department"] == "省科技厅"
    active = get(client, "/api/v1/programmes?active=true", token).get_json()["items"]
    assert "已停用的计划" not in [p["name"] for p in active] and len(active) == 2
    retired = get(client, "/api/v1/programmes?active=false", token).get_json()["items"]
    assert [p["name"] for p in retired] == ["已停用的计划"]
    county = get(client, "/api/v1/programmes?level=county", token).get_json()["items"]
    assert [p["name"] for p in county] == ["嵊州市科技计划"]
    one = get(client, f"/api/v1/programmes/{world['county'].id}", token)
    assert one.status_code == 200 and one.headers["ETag"] == f'"{world["county"].id}.1"'
    assert get(client, "/api/v1/programmes?active=yes", token).status_code == 400
    assert send(client, "POST", "/api/v1/programmes", token, {"name": "新计划"}).status_code == 405
    assert (
        send(
            client,
            "PATCH",
            f"/api/v1/programmes/{world['county'].id}",
            token,
            {"name": "改名"},
            If_Match=one.headers["ETag"],
        ).status_code
        == 405
    )


def test_a_patch_changes_what_it_sends_with_if_match(client, world):
    made = _register(client, world, grant_amount="300000.00", notes="原备注")
    path = made.headers["Location"]
    token = world["token"]
    changed = send(
        client, "PATCH", path, token, {"self_funding": "80000.00"}, If_Match=made.headers["ETag"]
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["self_funding"] == "80000.00" and body["grant_amount"] == "300000.00"
    assert body["notes"] == "原备注" and body["version"] == 2
    assert changed.headers["ETag"] == f'"{body["id"]}.2"'

    stale = send(client, "PATCH", path, token, {"notes": "覆盖"}, If_Match=made.headers["ETag"])
    assert stale.status_code == 412 and CHINESE.search(stale.get_json()["error"]["message"])
    assert send(client, "PATCH", path, token, {"notes": "不带版本"}).status_code == 428
    assert send(client, "PATCH", path, token, {"notes": "x"}, If_Match="*").status_code == 400
    moved = send(
        client,
        "PATCH",
        path,
        token,
        {"enterprise_id": world["other_firm"].id},
        If_Match=changed.headers["ETag"],
    )
    _refusal(moved, 422, "enterprise_id")
    for fixed in ("stage", "approved_on", "end_reason", "history"):  # moves' business
        answer = send(client, "PATCH", path, token, {fixed: None}, If_Match=changed.headers["ETag"])
        _refusal(answer, 400, fixed)
    db.session.expire_all()
    stored = db.session.get(Project, body["id"])
    assert (
        stored.notes == "原备注"
        and stored.version == 2
        and stored.enterprise_id == world["firm"].id
    )

    # the partner lists are written whole; one not sent stays as it is
    partners = send(
        client,
        "PATCH",
        path,
        token,
        {"partner_institution_ids": [world["school"].id]},
        If_Match=changed.headers["ETag"],
    )
    assert partners.status_code == 200, partners.get_json()
    researcher = send(
        client,
        "PATCH",
        path,
        token,
        {"partner_researcher_ids": [world["expert"].id]},
        If_Match=partners.headers["ETag"],
    ).get_json()
    assert researcher["partner_institution_ids"] == [world["school"].id]
    assert researcher["partner_researcher_ids"] == [world["expert"].id]

    coop = Cooperation(
        title="抗皱整理合作",
        enterprise_id=world["firm"].id,
        institution_id=world["school"].id,
        type=CooperationType.DEVELOPMENT,
    )
    db.session.add(coop)
    db.session.commit()
    linked = send(
        client,
        "PATCH",
        path,
        token,
        {"cooperation_id": coop.id},
        If_Match=f'"{researcher["id"]}.{researcher["version"]}"',
    ).get_json()
    assert linked["cooperation_id"] == coop.id
    assert linked["links"]["cooperation"] == f"/api/v1/cooperation/{coop.id}"
    assert get(client, linked["links"]["cooperation"], token).get_json()["title"] == "抗皱整理合作"


def test_a_partner_deleted_since_stays_when_other_fields_are_patched(client, world, make_user):
    made = _register(client, world, partner_institution_ids=[world["school"].id])
    admin = make_user(role=Role.ADMIN)
    trash.delete(admin, "institution", world["school"].id)
    db.session.commit()
    path = made.headers["Location"]
    read = get(client, path, world["token"])
    kept = send(
        client, "PATCH", path, world["token"], {"notes": "照常"}, If_Match=read.headers["ETag"]
    )
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["partner_institution_ids"] == [world["school"].id]
    other = Institution(name="另一所大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(other)
    db.session.commit()
    linked = send(
        client,
        "POST",
        "/api/v1/projects",
        world["token"],
        _new(world, title="另一个项目", partner_institution_ids=[world["school"].id]),
    )
    _refusal(linked, 422, "partner_institution_ids")  # a new link to it is refused


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"grant_amount": 500000}, 400, "grant_amount"),  # a number: money is text, in yuan
        ({"grant_amount": "五十万"}, 400, "grant_amount"),
        ({"self_funding": "-100.00"}, 400, "self_funding"),
        ({"self_funding": "1.234"}, 400, "self_funding"),
        ({"programme_id": 2_000_000}, 422, "programme_id"),  # no such programme
        ({"programme_id": None}, 400, "programme_id"),
        ({"enterprise_id": 2_000_000}, 422, "enterprise_id"),
        ({"year": 1800}, 422, "year"),
        ({"starts_on": "2027-01-01", "ends_on": "2026-12-31"}, 422, "ends_on"),
        ({"applied_on": "2026-02-30"}, 400, "applied_on"),
        ({"level": "city"}, 400, "level"),
        ({"partner_researcher_ids": [2_000_000]}, 422, "partner_researcher_ids"),
        ({"partner_enterprise_ids": [2_000_000]}, 422, "partner_enterprise_ids"),
        ({"partner_institution_ids": "浙江理工大学"}, 400, "partner_institution_ids"),
        ({"cooperation_id": 2_000_000}, 422, "cooperation_id"),
        ({"officer_id": 2_000_000}, 422, "officer_id"),
        ({"title": "   "}, 422, "title"),
        ({"stage": "approved"}, 400, "stage"),  # a new project starts at 申报
    ],
)
def test_a_refused_registration_says_which_field_in_chinese_and_writes_nothing(
    client, world, extra, status, field
):
    before = _count()
    answer = send(client, "POST", "/api/v1/projects", world["token"], _new(world, **extra))
    _refusal(answer, status, field)
    assert _count() == before


def test_a_retired_programme_a_taken_number_and_a_viewer_in_charge_are_refused(
    client, world, make_user
):
    _register(client, world, number="2026C01001")
    before = _count()
    retired = send(
        client,
        "POST",
        "/api/v1/projects",
        world["token"],
        _new(world, programme_id=world["retired"].id),
    )
    assert "停用" in _refusal(retired, 422, "programme_id")
    taken = send(
        client, "POST", "/api/v1/projects", world["token"], _new(world, number="2026C01001")
    )
    assert "2026C01001" in _refusal(taken, 422, "number")
    viewer = make_user(role=Role.VIEWER)
    led = send(
        client, "POST", "/api/v1/projects", world["token"], _new(world, officer_id=viewer.id)
    )
    _refusal(led, 422, "officer_id")
    assert _count() == before


def _move(client, world, path: str, etag: str, **body: Any) -> Any:
    return send(client, "POST", f"{path}/moves", world["token"], body, If_Match=etag)


def test_a_project_moves_one_dated_step_at_a_time_to_acceptance(client, world, clock):
    clock.set(date(2026, 11, 1))
    made = _register(client, world)
    path, etag = made.headers["Location"], made.headers["ETag"]
    clock.set(TODAY)
    steps = [
        {"to": "recommended", "on": "2026-11-03", "note": "县局推荐"},
        {"to": "approved", "on": "2026-11-05", "number": " 2026C01002 "},
        {"to": "midterm", "note": "中期检查通过"},
        {"to": "accepted", "on": TODAY.isoformat()},
    ]
    for step in steps:
        answer = _move(client, world, path, etag, **step)
        assert answer.status_code == 200, (step, answer.get_json())
        assert answer.get_json()["stage"] == step["to"]
        etag = answer.headers["ETag"]
    body = answer.get_json()
    assert body["number"] == "2026C01002" and body["approved_on"] == "2026-11-05"
    assert body["version"] == 5 and body["stage_changed_on"] == TODAY.isoformat()
    assert [(h["from_stage"], h["to_stage"], h["changed_on"]) for h in body["history"]] == [
        (None, "applying", "2026-11-01"),
        ("applying", "recommended", "2026-11-03"),
        ("recommended", "approved", "2026-11-05"),
        ("approved", "midterm", TODAY.isoformat()),
        ("midterm", "accepted", TODAY.isoformat()),
    ]
    assert body["history"][1]["note"] == "县局推荐"
    ended = _move(client, world, path, etag, to="terminated", reason="已验收")
    assert "结束" in _refusal(ended, 422, "to")


def test_a_refused_move_says_why_in_chinese_and_changes_nothing(client, world, clock):
    clock.set(date(2026, 11, 1))
    made = _register(client, world)
    path = made.headers["Location"]
    clock.set(TODAY)
    recommended = _move(
        client, world, path, made.headers["ETag"], to="recommended", on="2026-11-04"
    )
    assert recommended.status_code == 200
    etag = recommended.headers["ETag"]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused = [
        ({"to": "midterm", "number": "X1"}, 422, "to", "要先经过"),  # a stage skipped
        ({"to": "applying"}, 422, "to", "退回"),
        ({"to": "recommended"}, 422, "to", "已经在"),
        ({"to": "terminated", "reason": "x"}, 422, "to", "未立项"),
        ({"to": "approved", "number": "X2", "on": tomorrow}, 422, "on", "晚于今天"),
        ({"to": "approved", "number": "X3", "on": "2026-11-03"}, 422, "on", "2026-11-04"),
        ({"to": "approved"}, 422, "number", "项目编号"),  # 立项 without a number
        ({"to": "approved", "number": "   "}, 422, "number", "项目编号"),
        ({"to": "rejected"}, 422, "reason", "原因"),
        ({"to": "rejected", "reason": "  "}, 422, "reason", "原因"),
        ({"to": "done"}, 400, "to", "只能是"),
        ({"to": "approved", "number": "X4", "on": "2026-11-31"}, 400, "on", "日期"),
        ({"on": "2026-11-05"}, 400, "to", "必填"),
        ({"to": "approved", "number": "X5", "colour": "red"}, 400, "colour", "未知"),
    ]
    for body, status, field, words in refused:
        answer = _move(client, world, path, etag, **body)
        assert words in _refusal(answer, status, field), (body, answer.get_json())
    db.session.expire_all()
    stored = db.session.get(Project, made.get_json()["id"])
    assert stored.stage == ProjectStage.RECOMMENDED and stored.version == 2
    assert stored.number is None and len(stored.history) == 2

    assert (
        send(client, "POST", f"{path}/moves", world["token"], {"to": "approved"}).status_code == 428
    )
    stale = _move(client, world, path, made.headers["ETag"], to="rejected", reason="名额已满")
    assert stale.status_code == 412 and CHINESE.search(stale.get_json()["error"]["message"])
    rejected = _move(client, world, path, etag, to="rejected", reason="名额已满")
    assert rejected.status_code == 200
    assert rejected.get_json()["stage"] == "rejected"
    assert rejected.get_json()["end_reason"] == "名额已满"


def test_a_number_taken_by_another_project_is_refused_at_approval(client, world):
    _register(client, world, number="2026C09999")
    made = _register(client, world, title="第二个项目")
    path = made.headers["Location"]
    step = _move(client, world, path, made.headers["ETag"], to="recommended")
    taken = _move(client, world, path, step.headers["ETag"], to="approved", number="2026C09999")
    assert "2026C09999" in _refusal(taken, 422, "number")
    db.session.expire_all()
    assert db.session.get(Project, made.get_json()["id"]).stage == ProjectStage.RECOMMENDED


def test_who_may_write_a_project_is_the_web_s_rule(client, world, make_user):
    made = _register(client, world)
    path, etag = made.headers["Location"], made.headers["ETag"]
    for token in (
        bearer(make_user(role=Role.VIEWER)),
        bearer(world["officer"], Role.VIEWER),  # the officer's read-only token
        bearer(make_user(department="别的科")),
    ):
        assert get(client, path, token).status_code == 200  # every role reads
        assert (
            send(client, "PATCH", path, token, {"notes": "越权"}, If_Match=etag).status_code == 403
        )
        assert (
            send(
                client, "POST", f"{path}/moves", token, {"to": "recommended"}, If_Match=etag
            ).status_code
            == 403
        )
        created = send(client, "POST", "/api/v1/projects", token, _new(world))
        assert created.status_code == 403 and CHINESE.search(created.get_json()["error"]["message"])
    colleague = bearer(make_user(department="项目科"))
    assert (
        send(client, "PATCH", path, colleague, {"notes": "同科室"}, If_Match=etag).status_code
        == 200
    )
    db.session.expire_all()
    assert db.session.get(Project, made.get_json()["id"]).notes == "同科室"


def test_a_missing_project_is_a_json_404(client, world):
    token = world["token"]
    assert get(client, "/api/v1/projects/2000000", token).status_code == 404
    moved = send(
        client,
        "POST",
        "/api/v1/projects/2000000/moves",
        token,
        {"to": "recommended"},
        If_Match='"2000000.1"',
    )
    assert moved.status_code == 404 and CHINESE.search(moved.get_json()["error"]["message"])


def test_a_project_is_binned_with_if_match_and_a_sync_sees_it_go(client, world, make_user):
    made = _register(client, world)
    path, token = made.headers["Location"], world["token"]
    changed = send(client, "PATCH", path, token, {"notes": "改"}, If_Match=made.headers["ETag"])
    outsider = bearer(make_user(department="别的科"))
    assert (
        send(client, "DELETE", path, outsider, If_Match=changed.headers["ETag"]).status_code == 403
    )
    assert send(client, "DELETE", path, token).status_code == 428
    assert send(client, "DELETE", path, token, If_Match=made.headers["ETag"]).status_code == 412
    gone = send(client, "DELETE", path, token, If_Match=changed.headers["ETag"])
    assert gone.status_code == 204 and gone.data == b""
    assert get(client, path, token).status_code == 404
    moved = send(client, "POST", f"{path}/moves", token, {"to": "recommended"}, If_Match='"1.1"')
    assert moved.status_code == 404
    assert get(client, "/api/v1/projects", token).get_json()["total"] == 0
    synced = get(client, "/api/v1/projects?updated_since=2000-01-01T00:00:00Z", token).get_json()
    assert [(i["id"], i["deleted"]) for i in synced["items"]] == [(made.get_json()["id"], True)]
    db.session.expire_all()
    assert db.session.get(Project, made.get_json()["id"]).deleted_at is not None  # soft
