"""Leadership's dashboard: the funnel, visits per officer, cooperation by industry and by
institution, stalled deals, and the page itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm.cooperation import stages
from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.dashboard import services
from crm.enterprises.models import Industry
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need
from crm.visits.models import Visit
from tests.conftest import AuthActions

TODAY = date(2026, 6, 15)  # the tests' today, whatever the clock says (no year boundary)
YEAR = TODAY.year


@pytest.fixture
def year_of_work(make_enterprise, make_user, clock):
    """Four needs: three get suggestions, two accepted, one signed then accepted (验收)."""
    clock.set(TODAY)
    officer, other = make_user(display_name="甲联络员"), make_user(display_name="乙联络员")
    ties = Industry(code="t-tie", name="测试领带")
    polyu = Institution(name="测试理工大学", kind=InstitutionKind.UNIVERSITY)
    expert = Researcher(name="测试专家", institution=polyu)
    db.session.add_all([ties, polyu, expert])
    ent = make_enterprise(name="测试领带厂", industries=[ties], owner_id=officer.id)
    registered = datetime(YEAR, 3, 1, tzinfo=UTC)
    needs = [Need(enterprise_id=ent.id, title=f"需求{i}", created_at=registered) for i in range(4)]
    db.session.add_all(needs)
    db.session.flush()
    suggestions = [
        Suggestion(need_id=needs[0].id, researcher_id=expert.id, status=SuggestionStatus.ACCEPTED),
        Suggestion(need_id=needs[1].id, researcher_id=expert.id, status=SuggestionStatus.ACCEPTED),
        Suggestion(need_id=needs[2].id, researcher_id=expert.id),
    ]
    db.session.add_all(suggestions)
    db.session.flush()
    leads = [
        Cooperation(
            title=f"合作{i}",
            enterprise_id=ent.id,
            researcher_id=expert.id,
            type=CooperationType.DEVELOPMENT,
            stage=Stage.INTENT,
            officer_id=officer.id,
            suggestion_id=s.id,
            stage_changed_on=TODAY - timedelta(days=60),
        )
        for i, s in enumerate(suggestions[:2])
    ]
    db.session.add_all(leads)
    today = TODAY
    elsewhere = make_enterprise(name="另一家厂")  # visits there keep no deal of ours alive
    db.session.add_all(
        [
            Visit(
                enterprise_id=elsewhere.id, officer_id=officer.id, visited_on=today.replace(day=1)
            ),
            Visit(
                enterprise_id=elsewhere.id, officer_id=officer.id, visited_on=today.replace(day=1)
            ),
            Visit(enterprise_id=elsewhere.id, officer_id=other.id, visited_on=today.replace(day=1)),
        ]
    )
    db.session.commit()
    for stage in (Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION, Stage.ACCEPTANCE):
        stages.move(
            officer,
            leads[0],
            stages.Move(
                to=stage,
                version=leads[0].version,
                signed_on=today if stage == Stage.SIGNED else None,
                parties="双方" if stage == Stage.SIGNED else None,
            ),
        )
    db.session.commit()
    return officer, other, leads


def test_the_funnel_counts_needs_at_each_step(year_of_work):
    steps = services.funnel(YEAR)
    assert [(s.label, s.count) for s in steps] == [
        ("登记需求", 4),
        ("有匹配推荐", 3),
        ("采纳推荐", 2),
        ("签约", 1),
        ("验收", 1),
    ]
    assert steps[0].rate is None and steps[1].rate == pytest.approx(0.75)
    assert steps[3].rate == pytest.approx(0.5)
    assert services.funnel(YEAR - 1)[0].count == 0


def test_visits_cooperation_and_stalled_deals(year_of_work):
    officer, _, leads = year_of_work
    year = YEAR
    visits = services.visits_by_officer(year)
    month = TODAY.month - 1
    assert list(visits) == ["甲联络员", "乙联络员"]
    assert visits["甲联络员"][month] == 2 and sum(visits["乙联络员"]) == 1
    assert services.cooperation_by_industry(year) == [("测试领带", 2)]  # both moved this year
    assert services.cooperation_by_institution(year) == [("测试理工大学", 2)]  # via the expert
    [quiet] = services.stalled(officer)
    assert quiet.coop.id == leads[1].id  # 60 days in 意向, its enterprise not visited
    headline = services.headline(year)
    assert (headline.needs, headline.visits, headline.signed, headline.accepted) == (4, 3, 1, 1)


def test_the_dashboard_page(year_of_work, client):
    officer, _, _ = year_of_work
    AuthActions(client).login(officer.username)
    response = client.get(f"/dashboard?year={YEAR}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="dashboard-data"' in html and "vendor/echarts/echarts.min.js" in html
    assert 'data-testid="headline-signed">1<' in html
    assert "合作1" in html  # the stalled deal is listed


def test_the_report_downloads_from_the_dashboard(year_of_work, client):
    from io import BytesIO

    from openpyxl import load_workbook

    officer, _, _ = year_of_work
    AuthActions(client).login(officer.username)
    assert "下载报表" in client.get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    response = client.get(f"/dashboard/report.xlsx?year={YEAR}&month={TODAY.month}")
    assert response.status_code == 200
    assert "filename*=UTF-8''%E7%A7%91" in response.headers["Content-Disposition"]
    book = load_workbook(BytesIO(response.data))
    title = book["走访与需求"]["A1"].value
    assert title.startswith(f"{YEAR} 年 {TODAY.month} 月各联络员走访和登记需求")
    assert "制表日期：" in title and "第 &P 页" in book["走访与需求"].oddFooter.center.text
    rows = list(book["走访与需求"].iter_rows(min_row=3, values_only=True))
    assert ("甲联络员", 2, 1, 0) in rows and rows[-1][:2] == ("合计", 3)
