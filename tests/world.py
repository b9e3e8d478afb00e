"""A world with one record of every kind a route takes, in department 甲 (owner: officer_a),
and the real URL of any route in it: for the tests that walk every route of `app.url_map`
(the access matrix, hostile values, every form a page offers)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from flask import Flask
from werkzeug.routing import Rule

from crm.api import tokens
from crm.auth.models import Department, Role
from crm.cooperation import attachments
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.cultivation.models import Candidate
from crm.db import utcnow
from crm.enterprises.models import RecognitionKind
from crm.events.models import Event, EventKind, EventPairing, EventParticipant
from crm.extensions import db
from crm.imports.models import ImportBatch, ImportJob, LabelAlias, LabelKind
from crm.institutions.models import (
    Achievement,
    Branch,
    BranchKind,
    Institution,
    InstitutionKind,
    Researcher,
)
from crm.matching.models import MatchRun, Suggestion, ThesaurusEntry
from crm.needs.models import Need
from crm.projects.models import Level, Programme, Project
from crm.visits.models import Task, Visit
from tests.conftest import AuthActions, today
from tests.routes import real_url

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(name="world")
def world_fixture(app: Flask, make_user, make_enterprise) -> dict:
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
    visit = Visit(enterprise_id=ent.id, officer_id=officer_a.id, visited_on=today())
    suggestion = Suggestion(need_id=need.id, researcher_id=researcher.id, score=1.0)
    coop = Cooperation(
        title="矩阵合作",
        enterprise_id=ent.id,
        institution_id=inst.id,
        officer_id=officer_a.id,
        type=CooperationType.DEVELOPMENT,
    )
    event = Event(kind=EventKind.MATCHMAKING, title="矩阵对接会", starts_on=today())
    db.session.add_all([achievement, visit, suggestion, coop, event])
    db.session.flush()
    branch = Branch(  # hosted by the department's firm
        name="矩阵联合实验室",
        kind=BranchKind.LAB,
        institution_id=inst.id,
        host_enterprise_id=ent.id,
        established_on=today(),
        cooperation_id=coop.id,
        officer_id=officer_a.id,
    )
    db.session.add(branch)
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
    job = ImportJob(user_id=officer_a.id, token="0" * 32, filename="矩阵.xlsx")
    alias = LabelAlias(kind=LabelKind.TOWN, label="矩阵开发区")
    programme = Programme(name="矩阵计划", level=Level.PROVINCIAL)
    db.session.add_all([task, participant, pairing, batch, entry, run, job, alias, programme])
    db.session.flush()
    project = Project(
        title="矩阵项目",
        enterprise_id=ent.id,
        programme_id=programme.id,
        level=Level.PROVINCIAL,
        year=today().year,
        officer_id=officer_a.id,
        stage_changed_on=today(),
    )
    candidate = Candidate(
        enterprise_id=ent.id,
        kind=RecognitionKind.HITECH_NATIONAL,
        year=today().year,
        officer_id=officer_a.id,
        stage_changed_on=today(),
    )
    db.session.add_all([project, candidate])
    db.session.flush()
    attachment = attachments.add(officer_a, coop, "合同.png", io.BytesIO(PNG))
    token, _ = tokens.create(officer_a, tokens.TokenData("矩阵令牌", Role.OFFICER, 30))
    db.session.commit()
    ids = {
        "enterprise_id": ent.id,
        "coop_id": coop.id,
        "project_id": project.id,
        "candidate_id": candidate.id,
        "programme_id": programme.id,
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
        "job_id": job.id,
        "alias_id": alias.id,
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
        "/branches/": branch.id,
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


def url_in(rule: Rule, world: dict) -> str:
    url = real_url(rule, world["ids"], world["records"])
    assert url is not None, f"the world has no record for {rule.rule}"
    return url


def signed_in_officer(client, make_user):
    """An officer of a department of their own, signed in on `client`."""
    officer = make_user()
    AuthActions(client).login(officer.username)
    return officer


def manual_lead(ent, inst, officer, title: str = "领带面料联合开发") -> Cooperation:
    """A cooperation registered by hand at 意向 (30 万元), with its first stage change."""
    coop = Cooperation(
        title=title,
        enterprise_id=ent.id,
        institution_id=inst.id,
        officer_id=officer.id,
        type=CooperationType.DEVELOPMENT,
        origin=Origin.MANUAL,
        stage=Stage.INTENT,
        amount=Decimal("300000"),
    )
    coop.history = [StageChange(to_stage=Stage.INTENT, changed_on=today())]
    db.session.add(coop)
    return coop
