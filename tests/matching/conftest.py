"""The small world the matching tests share: experts, a near miss, an achievement, a need."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
from crm.matching import cache
from crm.needs.models import Need


@pytest.fixture
def experts(app, make_enterprise):
    cjlu = Institution(
        name="中国计量大学", kind=InstitutionKind.UNIVERSITY, description="计量测试与质量检测"
    )
    polyu = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    people = {
        "motor": Researcher(
            name="王志远",
            institution=cjlu,
            research_directions="电机振动与噪声；永磁同步电机设计",
            bio="长期研究家电电机降噪",
        ),
        "grid": Researcher(
            name="李建华",
            institution=cjlu,
            research_directions="电力系统调度；电网规划",
            bio="研究区域电网调度与新能源并网",
        ),
        "textile": Researcher(
            name="陈思远",
            institution=polyu,
            research_directions="纺织品功能整理；抗皱免烫整理",
            bio="真丝织物抗皱整理",
        ),
        "soil": Researcher(
            name="周雪梅", research_directions="土壤修复；重金属污染治理", bio="矿区土壤修复"
        ),
    }
    achievement = Achievement(
        title="真丝领带抗皱免烫整理技术",
        description="多元羧酸交联整理，折皱回复角提高 40%",
        institution=polyu,
    )
    db.session.add_all([cjlu, polyu, achievement, *people.values()])
    ent = make_enterprise(name="嵊州市好运电机有限公司")
    need = Need(enterprise_id=ent.id, title="马达嗡嗡响", description="电机一开就发抖，噪音大")
    db.session.add(need)
    db.session.commit()
    cache.rebuild(db.session.connection())
    return people, achievement, need
