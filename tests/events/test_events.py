"""对接会: the proposed schedule from match scores, edits, outcomes → leads and tasks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.cooperation.models import Cooperation, Origin, Stage
from crm.db import utcnow
from crm.errors import NotFound, ValidationError
from crm.events import services
from crm.events.models import Event, EventKind, EventPairing, EventParticipant, PairingOutcome
from crm.extensions import db
from crm.needs.models import Need
from crm.queries import get_live
from crm.visits.models import Task
from tests.conftest import AuthActions, csrf_token

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def fair(experts, make_enterprise):
    people, _, need = experts
    tie_maker = make_enterprise(name="测试领带厂")
    db.session.add(Need(enterprise_id=tie_maker.id, title="领带洗后起皱", description="真丝面料"))
    event = Event(
        kind=EventKind.MATCHMAKING, title="电机与纺织对接会", starts_on=date(2026, 12, 10)
    )
    db.session.add(event)
    db.session.flush()
    db.session.add_all(
        [
            EventParticipant(event_id=event.id, enterprise_id=e)
            for e in (need.enterprise_id, tie_maker.id)
        ]
        + [EventParticipant(event_id=event.id, researcher_id=p.id) for p in people.values()]
    )
    db.session.commit()
    return event, people, need, tie_maker


def _slots(count: int = 3, tables: int = 2) -> services.Slots:
    return services.Slots(datetime(2026, 12, 10, 9, 0, tzinfo=ZONE), 20, count, tables)


def test_the_best_pairs_meet_first_and_nobody_twice_at_once(fair, make_user):
    event, people, need, tie_maker = fair
    made, left = services.propose(make_user(), event, _slots())
    db.session.commit()
    meetings = services.pairings(event)
    assert made == len(meetings) >= 2 and left == 0
    first_round = [m for m in meetings if m.slot_starts_at == meetings[0].slot_starts_at]
    assert {(m.enterprise_id, m.researcher_id) for m in first_round} == {
        (need.enterprise_id, people["motor"].id),
        (tie_maker.id, people["textile"].id),
    }
    for starts in {m.slot_starts_at for m in meetings}:
        here = [m for m in meetings if m.slot_starts_at == starts]
        assert len({m.enterprise_id for m in here}) == len(here)
        assert len({m.researcher_id for m in here}) == len(here)
    again, _ = services.propose(make_user(), event, _slots(count=1, tables=1))
    assert again == 1 and len(services.pairings(event)) == 1  # replaced, not added


def test_outcomes_become_leads_and_tasks_and_freeze_the_schedule(fair, make_user):
    event, people, need, tie_maker = fair
    officer = make_user()
    services.propose(officer, event, _slots())
    db.session.commit()
    motor = next(m for m in services.pairings(event) if m.researcher_id == people["motor"].id)
    textile = next(m for m in services.pairings(event) if m.researcher_id == people["textile"].id)
    lead = services.record_outcome(officer, motor, PairingOutcome.LEAD, "下月去厂里看")
    task = services.record_outcome(officer, textile, PairingOutcome.FOLLOW_UP, None)
    db.session.commit()
    assert lead.origin == Origin.EVENT and lead.event_id == event.id and lead.stage == Stage.INTENT
    assert lead.researcher_id == people["motor"].id and lead.history[0].to_stage == Stage.INTENT
    assert isinstance(task, Task) and task.event_id == event.id and task.assignee_id == officer.id
    with pytest.raises(ValidationError, match="已登记结果"):
        services.record_outcome(officer, motor, PairingOutcome.NO_INTEREST, None)
    with pytest.raises(ValidationError, match="不能重新排期"):
        services.propose(officer, event, _slots())


def test_an_outcome_note_is_bounded_and_a_deleted_events_pairings_are_gone(fair, make_user):
    event, people, _, _ = fair
    officer = make_user()
    services.propose(officer, event, _slots())
    db.session.commit()
    (pairing, *_) = services.pairings(event)
    with pytest.raises(ValidationError, match="最多 1000 字"):
        services.record_outcome(officer, pairing, PairingOutcome.LEAD, "字" * 1001)
    db.session.rollback()
    assert db.session.get(EventPairing, pairing.id).outcome == PairingOutcome.PENDING
    event.deleted_at = utcnow()
    db.session.commit()
    with pytest.raises(NotFound):
        get_live(EventPairing, pairing.id)


def test_an_edit_that_would_double_book_is_refused(fair, make_user):
    event, _, _, _ = fair
    officer = make_user()
    services.propose(officer, event, _slots(count=3, tables=2))
    db.session.commit()
    first, second = services.pairings(event)[:2]
    with pytest.raises(ValidationError, match="号桌已有安排"):
        services.move(officer, second, first.slot_starts_at, first.table_no)
    later = first.slot_starts_at + timedelta(minutes=40)
    services.move(officer, second, later, 1)
    db.session.commit()
    assert db.session.get(EventPairing, second.id).table_no == 1


def _schedule(client, event, token, count: str, follow: bool = True):
    """The schedule form as an officer fills it: 3 rounds of 20 minutes at 2 tables."""
    data = {"csrf_token": token, "starts_at": "2026-12-10T09:00", "minutes": "20"}
    return client.post(
        f"/events/{event.id}/schedule",
        data={**data, "count": count, "tables": "2"},
        follow_redirects=follow,
    )


def test_the_event_page_schedules_prints_and_records(fair, client, make_user):
    event, people, _, _ = fair
    officer = make_user()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, f"/events/{event.id}")
    response = _schedule(client, event, token, count="3", follow=False)
    assert response.status_code == 302
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "第 1 轮 · 09:00" in page and "data-print" in page
    pairing = db.session.scalars(
        sa.select(EventPairing).where(EventPairing.researcher_id == people["motor"].id)
    ).one()
    done = client.post(
        f"/events/pairings/{pairing.id}/outcome",
        data={"csrf_token": token, "outcome": "lead", "note": ""},
    )
    lead = db.session.scalars(sa.select(Cooperation).where(Cooperation.event_id == event.id)).one()
    assert done.headers["Location"].endswith(f"/cooperation/{lead.id}")
    bad = _schedule(client, event, token, count="0")
    assert "轮次应在 1 到 20 之间" in bad.get_data(as_text=True)
    again = _schedule(client, event, token, count="3")
    assert "不能重新排期" in again.get_data(as_text=True)  # the event has outcomes now
    assert db.session.scalar(sa.select(sa.func.count(EventPairing.id))) >= 2  # kept
    AuthActions(client).logout()
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    assert client.get(f"/events/{event.id}").status_code == 200
    viewer_token = csrf_token(client, "/")
    assert (
        client.post(f"/events/{event.id}/schedule", data={"csrf_token": viewer_token}).status_code
        == 403
    )


def test_an_officer_registers_an_event_and_its_participants(
    experts, client, make_user, make_enterprise
):
    from crm.enterprises.models import Industry

    people, _, need = experts
    motors = Industry(code="t-ev", name="测试电机行业")
    db.session.add(motors)
    db.session.flush()
    make_enterprise(name="行业内甲", industries=[motors])
    make_enterprise(name="行业内乙", industries=[motors])
    officer = make_user()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, "/events/new")
    response = client.post(
        "/events/new",
        data={
            "csrf_token": token,
            "kind": "matchmaking",
            "title": "新对接会",
            "starts_on": "2026-12-20",
        },
    )
    assert response.status_code == 302
    event = db.session.scalars(sa.select(Event).filter_by(title="新对接会")).one()
    path = f"/events/{event.id}/participants"
    unknown = client.post(
        path, data={"csrf_token": token, "enterprise_name": "不存在的公司"}, follow_redirects=True
    )
    assert "企业库里没有“不存在的公司”" in unknown.get_data(as_text=True)
    client.post(path, data={"csrf_token": token, "industry_id": str(motors.id)})
    client.post(path, data={"csrf_token": token, "expert_name": people["motor"].name})
    again = client.post(
        path, data={"csrf_token": token, "industry_id": str(motors.id)}, follow_redirects=True
    )
    assert "没有新的参会者" in again.get_data(as_text=True)
    names = {
        (p.enterprise.name if p.enterprise else p.researcher.name)
        for p in services.participants(event)
    }
    assert names == {"行业内甲", "行业内乙", people["motor"].name}
    bad = client.post(
        "/events/new",
        data={
            "csrf_token": token,
            "kind": "expo",
            "title": "x",
            "starts_on": "2026-12-20",
            "ends_on": "2026-12-01",
        },
    )
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)
