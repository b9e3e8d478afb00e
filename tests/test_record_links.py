"""Records named on a page are links to their own pages: the enterprise's 动态 (a need, a visit,
a decided suggestion, a cooperation's move), the pipeline, a cooperation's partners, the home
page and the task list, an event's people and pairings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from crm.events.models import Event, EventKind, EventPairing, EventParticipant
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need
from crm.visits.models import Task, Visit
from tests.conftest import today
from tests.world import manual_lead, signed_in_officer


def test_the_timeline_links_each_record_to_its_page(client, make_user, make_enterprise):
    officer = signed_in_officer(client, make_user)
    ent = make_enterprise(name="动态企业", owner_id=officer.id)
    inst = Institution(name="动态研究院", kind=InstitutionKind.RESEARCH_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    researcher = Researcher(name="周教授", institution_id=inst.id)
    visit = Visit(enterprise_id=ent.id, officer_id=officer.id, visited_on=today())
    db.session.add_all([researcher, visit])
    db.session.flush()
    need = Need(enterprise_id=ent.id, title="新需求甲", visit_id=visit.id)
    db.session.add(need)
    db.session.flush()
    suggestion = Suggestion(
        need_id=need.id,
        researcher_id=researcher.id,
        score=1.0,
        status=SuggestionStatus.CONTACTED,
        decided_at=datetime.now(ZoneInfo("UTC")),
    )
    coop = manual_lead(ent, inst, officer, title="动态合作")
    db.session.add(suggestion)
    db.session.commit()

    body = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    timeline = body.split('data-testid="timeline"', 1)[1]
    assert re.search(rf'<a href="/needs/{need.id}">技术需求：新需求甲', timeline)
    assert f'<a href="/cooperation/{coop.id}">合作“动态合作”进入' in timeline
    assert (
        f'<a href="/needs/{need.id}#suggestion-{suggestion.id}">已联系推荐对象：周教授' in timeline
    )
    assert f'id="visit-{visit.id}"' in timeline
    assert f'<a href="/enterprises/{ent.id}#visit-{visit.id}">' in timeline
    # … and the anchors they point at are there
    need_page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert f'id="suggestion-{suggestion.id}"' in need_page


def test_the_pipeline_and_the_cooperation_page_link_what_they_name(
    client, make_user, make_enterprise
):
    officer = signed_in_officer(client, make_user)
    ent = make_enterprise(name="管道企业", owner_id=officer.id)
    inst = Institution(name="管道大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    researcher = Researcher(name="吴研究员", institution_id=inst.id)
    db.session.add(researcher)
    db.session.flush()
    coop = manual_lead(ent, inst, officer, title="管道合作")
    coop.researcher_id = researcher.id
    db.session.commit()
    enterprise_link = f'href="/enterprises/{ent.id}"'
    for view in ("board", "list"):
        board = client.get("/pipeline", query_string={"view": view}).get_data(as_text=True)
        assert enterprise_link in board, view
        assert f'href="/researchers/{researcher.id}">吴研究员</a>' in board, view
        assert f'href="/institutions/{inst.id}">管道大学</a>' in board, view
    page = client.get(f"/cooperation/{coop.id}").get_data(as_text=True)
    assert f'<a href="/researchers/{researcher.id}">吴研究员</a>' in page
    assert f'<a href="/institutions/{inst.id}">管道大学</a>' in page


def test_home_and_tasks_link_the_records_they_name(client, make_user, make_enterprise):
    officer = signed_in_officer(client, make_user)
    ent = make_enterprise(name="工作台企业", owner_id=officer.id)
    stale = make_enterprise(name="久未走访企业", owner_id=officer.id)
    stale.created_at = datetime(2020, 1, 1, tzinfo=UTC)  # on the books long enough to be stale
    visit = Visit(enterprise_id=ent.id, officer_id=officer.id, visited_on=today())
    db.session.add(visit)
    db.session.flush()
    need = Need(enterprise_id=ent.id, title="工作台需求", visit_id=visit.id)
    db.session.add(need)
    db.session.flush()
    db.session.add_all(
        [
            Task(
                title="回访需求",
                assignee_id=officer.id,
                due_on=today(),
                enterprise_id=ent.id,
                need_id=need.id,
            ),
            Task(
                title="走访后跟进",
                assignee_id=officer.id,
                due_on=today(),
                enterprise_id=ent.id,
                visit_id=visit.id,
            ),
        ]
    )
    db.session.commit()
    for path in ("/", "/tasks"):
        page = client.get(path).get_data(as_text=True)
        assert f'href="/needs/{need.id}">回访需求</a>' in page, path
        assert f'href="/enterprises/{ent.id}#visit-{visit.id}">走访后跟进</a>' in page, path
    home = client.get("/").get_data(as_text=True)
    assert f'href="/enterprises/{ent.id}#visit-{visit.id}">工作台企业</a>' in home  # 最近的走访
    assert f'<a href="/enterprises/{stale.id}">久未走访企业</a>' in home  # 未走访的企业


def test_an_events_people_and_pairings_link_to_their_pages(client, make_user, make_enterprise):
    signed_in_officer(client, make_user)
    ent = make_enterprise(name="对接企业")
    inst = Institution(name="对接大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    researcher = Researcher(name="郑专家", institution_id=inst.id)
    event = Event(kind=EventKind.MATCHMAKING, title="领带产业对接会", starts_on=today())
    db.session.add_all([researcher, event])
    db.session.flush()
    db.session.add_all(
        [
            EventParticipant(event_id=event.id, enterprise_id=ent.id),
            EventParticipant(event_id=event.id, researcher_id=researcher.id),
            EventPairing(
                event_id=event.id,
                enterprise_id=ent.id,
                researcher_id=researcher.id,
                slot_starts_at=datetime.now(ZoneInfo("UTC")),
                table_no=1,
            ),
        ]
    )
    db.session.commit()
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    people = page.split('data-testid="participants"', 1)[1].split("</ul>", 1)[0]
    assert f'<a href="/enterprises/{ent.id}">对接企业</a>' in people
    assert f'<a href="/researchers/{researcher.id}">郑专家</a>' in people
    meeting = page.split('data-testid="meeting"', 1)[1].split("</tr>", 1)[0]
    assert f'<a href="/enterprises/{ent.id}">对接企业</a>' in meeting
    assert f'<a href="/researchers/{researcher.id}">郑专家</a>' in meeting
