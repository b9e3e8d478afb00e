"""Officers' records in the ranking: same-industry cooperation lifts a candidate, rejections
as 方向不对口 on the same industry's needs and recent declines lower it, each named."""

from __future__ import annotations

import pytest

from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.enterprises.models import Industry
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching import batch, services, suggestions
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need
from tests.conftest import AuthActions


@pytest.fixture
def twins(make_enterprise):
    """Two experts the text cannot tell apart, and a motor maker's need."""
    motors = Industry(code="t-motor", name="测试电机")
    ties = Industry(code="t-tie", name="测试领带")
    first = Researcher(name="孪生甲", research_directions="磁钢退磁机理；永磁体防退磁")
    second = Researcher(name="孪生乙", research_directions="磁钢退磁机理；永磁体防退磁")
    db.session.add_all([motors, ties, first, second])
    maker = make_enterprise(name="测试马达厂", industries=[motors])
    other_maker = make_enterprise(name="另一家电机厂", industries=[motors])
    tie_maker = make_enterprise(name="测试领带厂", industries=[ties])
    need = Need(enterprise_id=maker.id, title="磁钢老是退磁", description="马达用久了没劲")
    db.session.add(need)
    db.session.commit()
    return {
        "first": first,
        "second": second,
        "need": need,
        "motor_maker": other_maker,
        "tie_maker": tie_maker,
    }


def _scores(need: Need) -> dict[str, tuple[float, list[str]]]:
    return {
        c.name: (c.score, [a.label for a in c.adjustments])
        for c in services.match_need(need, top=5)
    }


def _cooperate(researcher: Researcher, enterprise, stage: Stage = Stage.NEGOTIATION) -> None:
    db.session.add(
        Cooperation(
            title="合作",
            enterprise_id=enterprise.id,
            researcher_id=researcher.id,
            type=CooperationType.DEVELOPMENT,
            stage=stage,
            termination_reason="企业转产" if stage == Stage.TERMINATED else None,
        )
    )
    db.session.commit()


def _reject(researcher: Researcher, enterprise, reason: str) -> None:
    other = Need(enterprise_id=enterprise.id, title="别的需求")
    db.session.add(other)
    db.session.flush()
    db.session.add(
        Suggestion(
            need_id=other.id,
            researcher_id=researcher.id,
            status=SuggestionStatus.REJECTED,
            reject_reason=reason,
            decided_at=db.func.now(),
        )
    )
    db.session.commit()


def test_text_alone_cannot_tell_the_twins_apart(twins):
    found = _scores(twins["need"])
    assert found["孪生甲"] == found["孪生乙"] and found["孪生甲"][1] == []


def test_same_industry_cooperation_lifts_a_candidate_and_says_so(twins):
    _cooperate(twins["first"], twins["motor_maker"])
    _cooperate(twins["second"], twins["tie_maker"])  # another industry: no help
    found = _scores(twins["need"])
    assert found["孪生甲"][1] == ["同行业合作 1 项"] and found["孪生乙"][1] == []
    assert found["孪生甲"][0] == pytest.approx(found["孪生乙"][0] * 1.06)
    assert services.match_need(twins["need"], top=1)[0].name == "孪生甲"


def test_a_terminated_cooperation_counts_for_nothing(twins):
    _cooperate(twins["first"], twins["motor_maker"], Stage.TERMINATED)
    found = _scores(twins["need"])
    assert found["孪生甲"] == found["孪生乙"]


def test_off_topic_in_the_same_industry_and_recent_declines_lower_a_candidate(twins):
    _reject(twins["first"], twins["motor_maker"], "off_topic")
    _reject(twins["second"], twins["tie_maker"], "off_topic")  # not this industry's verdict
    found = _scores(twins["need"])
    assert found["孪生甲"][1] == ["同行业需求曾判方向不对口 1 次"] and found["孪生乙"][1] == []
    assert found["孪生甲"][0] == pytest.approx(found["孪生乙"][0] * 0.85)
    _reject(twins["second"], twins["tie_maker"], "expert_declined")  # any industry
    found = _scores(twins["need"])
    assert found["孪生乙"][1] == ["近一年曾表示无意向 1 次"]
    assert found["孪生乙"][0] == pytest.approx(found["孪生甲"][0] / 0.85 * 0.95)


def test_the_batch_and_the_page_keep_and_show_the_same_prior(twins, client, make_user):
    from crm.auth.models import Role

    _cooperate(twins["first"], twins["motor_maker"])
    admin = make_user(role=Role.ADMIN)
    batch.generate_all(admin, top=3)
    db.session.commit()
    kept = db.session.scalars(
        db.select(Suggestion).filter_by(need_id=twins["need"].id, researcher_id=twins["first"].id)
    ).one()
    assert kept.adjustments == [{"label": "同行业合作 1 项", "percent": 6}]
    assert suggestions.generate(admin, twins["need"], top=3).refreshed == 0  # paths agree
    AuthActions(client).login(admin.username)
    html = client.get(f"/needs/{twins['need'].id}").get_data(as_text=True)
    assert "同行业合作 1 项 +6%" in html
