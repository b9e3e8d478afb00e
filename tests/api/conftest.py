"""Fixtures of the API tests."""

from __future__ import annotations

import pytest

from crm.clock import local_today
from crm.db import utcnow
from crm.extensions import db


@pytest.fixture
def records(make_user, make_enterprise):
    """One record of each kind the API serves, in a department, with its officer."""
    from crm.auth.models import Department
    from crm.cooperation.models import Cooperation, CooperationType
    from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
    from crm.matching.models import Suggestion
    from crm.needs.models import Need
    from crm.projects.models import Level, Programme, Project, ProjectStage, ProjectStageChange
    from crm.visits.models import Visit

    dept = Department(name="接口科")
    db.session.add(dept)
    db.session.flush()
    officer = make_user(department=dept.name)
    ent = make_enterprise(name="接口领带公司", department_id=dept.id)
    inst = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    researcher = Researcher(name="陈思远", institution_id=inst.id, research_directions="抗皱整理")
    need = Need(enterprise_id=ent.id, title="领带洗后起皱")
    programme = Programme(name="省重点研发计划", level=Level.PROVINCIAL, department="省科技厅")
    db.session.add_all([researcher, need, programme])
    db.session.flush()
    today = local_today()
    made = {
        "enterprises": ent,
        "institutions": inst,
        "researchers": researcher,
        "needs": need,
        "achievements": Achievement(title="真丝抗皱整理工艺", institution_id=inst.id),
        "visits": Visit(enterprise_id=ent.id, officer_id=officer.id, visited_on=utcnow().date()),
        "suggestions": Suggestion(need_id=need.id, researcher_id=researcher.id, score=0.9),
        "cooperation": Cooperation(
            title="抗皱整理合作",
            enterprise_id=ent.id,
            institution_id=inst.id,
            officer_id=officer.id,
            type=CooperationType.DEVELOPMENT,
        ),
        "programmes": programme,
        "projects": Project(
            title="真丝面料抗皱整理关键技术",
            enterprise_id=ent.id,
            programme_id=programme.id,
            level=Level.PROVINCIAL,
            year=today.year,
            officer_id=officer.id,
            stage_changed_on=today,
            history=[ProjectStageChange(to_stage=ProjectStage.APPLYING, changed_on=today)],
        ),
    }
    db.session.add_all(made.values())
    db.session.commit()
    return officer, made
