"""Fixtures of the API tests."""

from __future__ import annotations

import pytest

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
    db.session.add_all([researcher, need])
    db.session.flush()
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
    }
    db.session.add_all(made.values())
    db.session.commit()
    return officer, made
