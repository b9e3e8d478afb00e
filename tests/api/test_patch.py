"""A PATCH changes exactly the fields it sends: for every record kind the API writes and every
field it may write, a record with every column and relation filled is patched in that one
field (by an admin's token, the role whose saves reach the most fields), and every other
column of the record, and every record it relates to, is as it was.

It failed when an enterprise's `owner` and `department` (which the API does not write) were
set to null by a PATCH of its notes, and when a researcher or a cooperation could not be
patched at all because the institution it belongs to had been deleted. A 科技项目's fields
(funding, dates, programme, officer, partner lists …) are covered the same way."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from crm.api.resources import RESOURCES
from crm.auth.models import Department, Role
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseAlias,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    Town,
)
from crm.extensions import db
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionAlias,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus
from crm.projects.models import (
    Level,
    Programme,
    Project,
    ProjectPartner,
    ProjectStage,
    ProjectStageChange,
)
from crm.trash import services as trash
from crm.visits.models import Visit
from tests.api.helpers import bearer, get, send

#: the columns (and relations) a field of the API stands for, where its name is not one
STANDS_FOR = {
    "town": {"town_id", "town"},
    "industries": {"industries"},
    "aliases": {"aliases"},
    "institution_id": {"institution_id", "institution"},
    "researcher_id": {"researcher_id", "researcher"},
    "name": {"name", "name_sort"},  # a name's pinyin sort key follows it
    "programme_id": {"programme_id", "programme"},
    "officer_id": {"officer_id", "officer"},
    "cooperation_id": {"cooperation_id", "cooperation"},
    "suggestion_id": {"suggestion_id", "suggestion"},
    "project_id": {"project_id", "project"},
    "partner_institution_ids": {"partners"},
    "partner_researcher_ids": {"partners"},
    "partner_enterprise_ids": {"partners"},
}
#: what a save always changes
BOOKKEEPING = {"updated_at", "updated_by_id", "version"}
#: a change the rules refuse on the full record: then nothing at all changes
REFUSED = {
    ("cooperation", "institution_id"): "the partner researcher works at the first institution",
}


def _world(make_user) -> dict[str, Any]:
    """Every kind with every column and relation filled; other records to point fields at."""
    dept = Department(name="补丁科")
    db.session.add(dept)
    db.session.flush()
    officer = make_user(department=dept.name)
    colleague = make_user(department=dept.name)
    towns = [Town(code=f"p{n}", name=f"补丁镇{n}", kind="镇") for n in range(2)]
    industries = [Industry(code=f"p{n}", name=f"补丁产业{n}") for n in range(3)]
    db.session.add_all([*towns, *industries])
    db.session.flush()
    ent = Enterprise(
        name="嵊州市补丁领带有限公司",
        uscc="91330683MA2BXM0C0T",
        town_id=towns[0].id,
        address="补丁路 1 号",
        main_products="真丝领带",
        is_above_scale=True,
        owner_id=officer.id,
        department_id=dept.id,
        notes="原来的备注",
        industries=industries[:2],
    )
    db.session.add(ent)
    db.session.flush()
    db.session.add_all(
        [
            Contact(enterprise_id=ent.id, name="王经理", phone="13800000001"),
            EnterpriseAlias(enterprise_id=ent.id, alias="补丁领带"),
            EnterpriseYear(enterprise_id=ent.id, year=2025, revenue=Decimal("100.00")),
            Recognition(
                enterprise_id=ent.id,
                kind=RecognitionKind.HITECH_NATIONAL,
                granted_on=date(2024, 12, 1),
            ),
        ]
    )
    insts = [
        Institution(
            name=f"补丁大学{n}",
            kind=InstitutionKind.UNIVERSITY,
            region="香港",
            description="纺织",
            website="https://example.edu",
            aliases=[InstitutionAlias(alias=f"补大{n}")],
        )
        for n in range(2)
    ]
    db.session.add_all(insts)
    db.session.flush()
    people = [
        Researcher(
            name=f"补丁专家{n}",
            institution_id=insts[0].id,
            title="教授",
            research_directions="抗皱整理",
            bio="简介",
            team="功能整理团队",
        )
        for n in range(2)
    ]
    db.session.add_all(people)
    db.session.flush()
    visit = Visit(
        enterprise_id=ent.id,
        officer_id=officer.id,
        visited_on=date(2026, 10, 8),
        notes="走访记录",
        next_steps="再约",
        companions=[colleague],
    )
    db.session.add(visit)
    db.session.flush()
    need = Need(
        enterprise_id=ent.id,
        title="领带洗后起皱",
        description="洗了以后起皱",
        budget=Decimal("300000.00"),
        status=NeedStatus.MATCHED,
        visit_id=visit.id,
    )
    achievement = Achievement(
        title="真丝抗皱整理工艺",
        description="免烫",
        institution_id=insts[0].id,
        researcher_id=people[0].id,
        maturity=Maturity.SCALE_UP,
        transfer_mode=TransferMode.LICENSE,
    )
    db.session.add_all([need, achievement])
    db.session.flush()
    coop = Cooperation(
        title="抗皱整理合作",
        enterprise_id=ent.id,
        institution_id=insts[0].id,
        researcher_id=people[0].id,
        type=CooperationType.DEVELOPMENT,
        amount=Decimal("500000.00"),
        stage=Stage.NEGOTIATION,
        stage_changed_on=date(2026, 10, 9),
        parties="甲乙双方",
        contract_no="HT-1",
        officer_id=officer.id,
        origin=Origin.VISIT,
        visit_id=visit.id,
        achievement_id=achievement.id,
        notes="合作备注",
        history=[
            StageChange(to_stage=Stage.INTENT, changed_on=date(2026, 10, 8)),
            StageChange(
                from_stage=Stage.INTENT, to_stage=Stage.NEGOTIATION, changed_on=date(2026, 10, 9)
            ),
        ],
    )
    db.session.add(coop)
    partner_firms = [
        Enterprise(name=f"嵊州市补丁伙伴{n}有限公司", department_id=dept.id) for n in range(2)
    ]
    programmes = [
        Programme(name=f"补丁计划{n}", level=Level.PROVINCIAL, department="省科技厅")
        for n in range(2)
    ]
    other_coop = Cooperation(
        title="另一项合作",
        enterprise_id=ent.id,
        institution_id=insts[1].id,
        type=CooperationType.CONSULTING,
    )
    db.session.add_all([*partner_firms, *programmes, other_coop])
    db.session.flush()
    suggestions = [  # accepted: a project comes from an accepted suggestion of its firm
        Suggestion(
            need_id=need.id, researcher_id=person.id, score=0.5, status=SuggestionStatus.ACCEPTED
        )
        for person in people
    ]
    db.session.add_all(suggestions)
    db.session.flush()
    project = Project(
        title="真丝抗皱整理关键技术",
        number="2026C01001",
        enterprise_id=ent.id,
        programme_id=programmes[0].id,
        level=Level.NATIONAL,  # not the programme's: kept as it is
        year=2026,
        grant_amount=Decimal("500000.00"),
        self_funding=Decimal("1500000.00"),
        applied_on=date(2026, 3, 1),
        approved_on=date(2026, 6, 1),
        starts_on=date(2026, 7, 1),
        ends_on=date(2028, 6, 30),
        stage=ProjectStage.APPROVED,
        stage_changed_on=date(2026, 6, 1),
        officer_id=officer.id,
        cooperation_id=coop.id,
        suggestion_id=suggestions[0].id,
        notes="项目备注",
        partners=[
            ProjectPartner(institution_id=insts[0].id),
            ProjectPartner(researcher_id=people[0].id),
            ProjectPartner(enterprise_id=partner_firms[0].id),
        ],
        history=[
            ProjectStageChange(to_stage=ProjectStage.APPLYING, changed_on=date(2026, 3, 1)),
            ProjectStageChange(
                from_stage=ProjectStage.APPLYING,
                to_stage=ProjectStage.RECOMMENDED,
                changed_on=date(2026, 4, 1),
            ),
            ProjectStageChange(
                from_stage=ProjectStage.RECOMMENDED,
                to_stage=ProjectStage.APPROVED,
                changed_on=date(2026, 6, 1),
            ),
        ],
    )
    db.session.add(project)
    db.session.commit()
    return {
        "records": {
            "enterprises": ent,
            "institutions": insts[0],
            "researchers": people[0],
            "needs": need,
            "achievements": achievement,
            "visits": visit,
            "cooperation": coop,
            "projects": project,
        },
        "other": {
            "town": towns[1].name,
            "industries": [industries[2].name],
            "institution_id": insts[1].id,
            "researcher_id": people[1].id,
            "programme_id": programmes[1].id,
            "year": 2025,
            "officer_id": colleague.id,
            "cooperation_id": other_coop.id,
            "suggestion_id": suggestions[1].id,
            "partner_institution_ids": [insts[1].id],
            "partner_researcher_ids": [people[1].id],
            "partner_enterprise_ids": [partner_firms[1].id],
            "project_id": project.id,  # an achievement it produced
        },
        "officer": officer,
    }


def _new_value(kind: str, name: str, field: Any, current: Any, other: dict[str, Any]) -> Any:
    """A valid value of the field that differs from the record's."""
    if name == "uscc":
        return "91330683MA2BXM0D0U"
    if name == "researcher_id" and kind == "cooperation":
        return None  # the partner is then the institution alone
    if name in other:
        return other[name]
    if name == "aliases":
        return ["新别名"]
    if name == "website":
        return "https://changed.example.edu"
    kinds = {
        "string": lambda: "改过的值"[: field.max_length or 10],
        "text": lambda: "改过的长文本",
        "boolean": lambda: not current,
        "date": lambda: "2026-10-01",
        "money": lambda: "12345.67",
        "enum": lambda: next(c for c in field.choices if c != current),
    }
    return kinds[field.type]()


def _snapshot(record: Any) -> dict[str, Any]:
    """Every column of the record and the ids of what each relation points at."""
    mapper = sa.inspect(type(record))
    shot = {c.key: getattr(record, c.key) for c in mapper.column_attrs}
    for rel in mapper.relationships:
        value = getattr(record, rel.key)
        if rel.uselist:
            shot[rel.key] = sorted(
                (sa.inspect(v).identity, getattr(v, "version", None)) for v in value
            )
        else:
            shot[rel.key] = sa.inspect(value).identity if value is not None else None
    return shot


CASES = [
    (kind, name)
    for kind, resource in RESOURCES.items()
    if resource.writes is not None
    for name in resource.writes.fields
    if name not in resource.writes.create_only
]


def test_every_writable_field_is_covered():
    assert {kind for kind, _ in CASES} == {
        "enterprises",
        "institutions",
        "researchers",
        "needs",
        "achievements",
        "visits",
        "cooperation",
        "projects",
    }
    assert len(CASES) >= 50


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}.{n}" for k, n in CASES])
def test_a_patch_of_one_field_changes_that_field_only(client, make_user, kind, name):
    world = _world(make_user)
    record = world["records"][kind]
    resource = RESOURCES[kind]
    token = bearer(make_user(role=Role.ADMIN))
    path = f"/api/v1/{kind}/{record.id}"
    read = get(client, path, token)
    shown = read.get_json()
    value = _new_value(kind, name, resource.writes.fields[name], shown[name], world["other"])
    db.session.expire_all()
    before = _snapshot(db.session.get(resource.model, record.id))

    answer = send(client, "PATCH", path, token, {name: value}, If_Match=read.headers["ETag"])

    db.session.expire_all()
    after = _snapshot(db.session.get(resource.model, record.id))
    changed = {key for key in before if before[key] != after[key]}
    if (kind, name) in REFUSED:
        assert answer.status_code == 422 and not changed, (answer.get_json(), changed)
        return
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()[name] == value
    assert changed - BOOKKEEPING <= STANDS_FOR.get(name, {name}), (changed, before, after)
    assert changed & STANDS_FOR.get(name, {name}), "the field itself did not change"


@pytest.mark.parametrize("kind", ["researchers", "achievements", "cooperation"])
def test_a_record_whose_institution_was_deleted_is_still_patched(client, make_user, kind):
    """The deleted institution stays linked (an admin may restore it); other fields save."""
    world = _world(make_user)
    record = world["records"][kind]
    institution_id = record.institution_id
    admin = make_user(role=Role.ADMIN)
    trash.delete(admin, "institution", institution_id)
    db.session.commit()
    token = bearer(admin)
    path = f"/api/v1/{kind}/{record.id}"
    read = get(client, path, token)
    field = {"researchers": "bio", "achievements": "description", "cooperation": "notes"}[kind]
    answer = send(client, "PATCH", path, token, {field: "照常保存"}, If_Match=read.headers["ETag"])
    assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    saved = db.session.get(RESOURCES[kind].model, record.id)
    assert getattr(saved, field) == "照常保存" and saved.institution_id == institution_id

    # sending the same (deleted) institution again is no change, and not refused …
    same = send(
        client,
        "PATCH",
        path,
        token,
        {"institution_id": institution_id},
        If_Match=answer.headers["ETag"],
    )
    assert same.status_code == 200, same.get_json()
    # … while linking another record to the deleted institution is
    unlinked = send(client, "POST", f"/api/v1/{kind}", token, _unlinked(kind, world))
    assert unlinked.status_code == 201, unlinked.get_json()
    linked = send(
        client,
        "PATCH",
        unlinked.headers["Location"],
        token,
        {"institution_id": institution_id},
        If_Match=unlinked.headers["ETag"],
    )
    assert linked.status_code == 422 and linked.get_json()["error"]["fields"] == {
        "institution_id": linked.get_json()["error"]["message"]
    }


def _unlinked(kind: str, world: dict[str, Any]) -> dict[str, Any]:
    """A new record of the kind, linked to the other (live) institution."""
    other = world["other"]["institution_id"]
    if kind == "researchers":
        return {"name": "新专家", "institution_id": other}
    if kind == "achievements":
        return {"title": "新成果", "institution_id": other}
    ent = world["records"]["enterprises"]
    return {
        "enterprise_id": ent.id,
        "title": "新合作",
        "type": "development",
        "institution_id": other,
    }
