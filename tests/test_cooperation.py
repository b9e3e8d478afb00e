"""The cooperation pipeline: stage rules, dated history, who may move, the board."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.clock import local_today
from crm.cooperation import board, stages
from crm.cooperation.models import Cooperation, CooperationType, Stage, StageChange
from crm.errors import Conflict, PermissionDenied, ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.visits.models import Visit
from tests.conftest import AuthActions, csrf_token
from tests.pages import form_to


@pytest.fixture
def deal(make_enterprise, make_user):
    officer = make_user()
    ent = make_enterprise(name="嵊州市测试领带有限公司", owner_id=officer.id)
    polyu = Institution(name="香港理工大学（测试）", kind=InstitutionKind.UNIVERSITY)
    db.session.add(polyu)
    db.session.flush()
    coop = Cooperation(
        title="领带抗皱整理",
        enterprise_id=ent.id,
        institution_id=polyu.id,
        type=CooperationType.DEVELOPMENT,
        stage=Stage.INTENT,
        officer_id=officer.id,
    )
    db.session.add(coop)
    db.session.commit()
    return officer, coop


def _move(officer, coop, to, **kwargs):
    return stages.move(officer, coop, stages.Move(to=to, version=coop.version, **kwargs))


def test_a_deal_goes_stage_by_stage_and_every_move_is_dated(deal):
    officer, coop = deal
    today = local_today()
    _move(officer, coop, Stage.NEGOTIATION, on=today - timedelta(days=3), note="第一次洽谈")
    _move(
        officer,
        coop,
        Stage.SIGNED,
        signed_on=today - timedelta(days=1),
        parties="测试领带公司、香港理工大学",
        contract_no="330683X2026000123",
    )
    _move(officer, coop, Stage.IMPLEMENTATION)
    _move(officer, coop, Stage.ACCEPTANCE)
    db.session.commit()
    history = db.session.scalars(
        sa.select(StageChange).where(StageChange.cooperation_id == coop.id).order_by(StageChange.id)
    ).all()
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (Stage.INTENT, Stage.NEGOTIATION),
        (Stage.NEGOTIATION, Stage.SIGNED),
        (Stage.SIGNED, Stage.IMPLEMENTATION),
        (Stage.IMPLEMENTATION, Stage.ACCEPTANCE),
    ]
    assert history[0].changed_on == today - timedelta(days=3) and history[0].note == "第一次洽谈"
    assert coop.signed_on == today - timedelta(days=1) and coop.contract_no == "330683X2026000123"
    assert stages.next_stages(coop.stage) == []


@pytest.mark.parametrize(
    ("path", "to", "message"),
    [
        ([], Stage.SIGNED, "要先经过“洽谈”"),
        ([], Stage.ACCEPTANCE, "要先经过“洽谈”“签约”“实施”"),
        ([Stage.NEGOTIATION], Stage.INTENT, "不能从“洽谈”退回“意向”"),
        ([Stage.TERMINATED], Stage.NEGOTIATION, "已终止"),
        ([], Stage.INTENT, "已经在“意向”阶段"),
    ],
)
def test_illegal_moves_are_refused_with_a_reason(deal, path, to, message):
    officer, coop = deal
    for step in path:
        _move(officer, coop, step, reason="企业转产" if step == Stage.TERMINATED else None)
    with pytest.raises(ValidationError, match=message):
        _move(officer, coop, to)


def test_signing_needs_a_date_and_parties_and_ending_a_reason(deal):
    officer, coop = deal
    _move(officer, coop, Stage.NEGOTIATION)
    with pytest.raises(ValidationError, match="签约日期"):
        _move(officer, coop, Stage.SIGNED, parties="双方")
    with pytest.raises(ValidationError, match="签约各方"):
        _move(officer, coop, Stage.SIGNED, signed_on=local_today())
    with pytest.raises(ValidationError, match="不能晚于今天"):
        _move(officer, coop, Stage.SIGNED, signed_on=local_today() + timedelta(days=1), parties="x")
    with pytest.raises(ValidationError, match="原因"):
        _move(officer, coop, Stage.TERMINATED, reason="  ")
    with pytest.raises(ValidationError, match="不能早于上一次变动"):
        _move(officer, coop, Stage.TERMINATED, reason="r", on=date(2000, 1, 1))
    assert coop.stage == Stage.NEGOTIATION


def test_a_stale_move_and_a_stranger_are_refused(deal, make_user):
    officer, coop = deal
    stale = coop.version
    _move(officer, coop, Stage.NEGOTIATION)
    with pytest.raises(Conflict):
        stages.move(officer, coop, stages.Move(to=Stage.SIGNED, version=stale))
    with pytest.raises(PermissionDenied):
        _move(make_user(), coop, Stage.SIGNED, signed_on=local_today(), parties="x")
    with pytest.raises(PermissionDenied):
        _move(make_user(role=Role.VIEWER), coop, Stage.TERMINATED, reason="x")


def test_the_board_puts_each_deal_in_its_column_and_flags_stale_ones(deal, app, make_enterprise):
    officer, coop = deal
    quiet = Cooperation(
        title="电机降噪",
        enterprise_id=make_enterprise().id,
        researcher_id=None,
        institution_id=coop.institution_id,
        type=CooperationType.CONSULTING,
        stage=Stage.NEGOTIATION,
        stage_changed_on=local_today() - timedelta(days=45),
    )
    db.session.add(quiet)
    db.session.commit()
    columns = board.cards(officer, board.pipeline(board.Filters()))
    assert [c.coop.title for c in columns[Stage.INTENT]] == ["领带抗皱整理"]
    [card] = columns[Stage.NEGOTIATION]
    assert card.stale and card.coop.title == "电机降噪" and card.moves == []  # not his
    assert columns[Stage.INTENT][0].moves == [Stage.NEGOTIATION, Stage.TERMINATED]
    mine = board.pipeline(board.Filters(officer_id=officer.id))
    assert [c.title for c in mine] == ["领带抗皱整理"]
    db.session.add(  # a visit to its enterprise counts as activity
        Visit(
            enterprise_id=quiet.enterprise_id,
            officer_id=officer.id,
            visited_on=local_today() - timedelta(days=2),
        )
    )
    db.session.commit()
    [card] = board.cards(officer, board.pipeline(board.Filters()))[Stage.NEGOTIATION]
    assert not card.stale and card.last_activity == local_today() - timedelta(days=2)


def test_moving_from_the_board_and_signing_on_the_page(deal, client):
    officer, coop = deal
    AuthActions(client).login(officer.username)
    token = csrf_token(client, "/pipeline")
    response = client.post(
        f"/cooperation/{coop.id}/move",
        data={
            "csrf_token": token,
            "to": "negotiation",
            "version": coop.version,
            "next": "/pipeline",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/pipeline")
    db.session.refresh(coop)
    assert coop.stage == Stage.NEGOTIATION
    missing = client.post(
        f"/cooperation/{coop.id}/move",
        data={"csrf_token": token, "to": "signed", "version": coop.version},
    )
    assert missing.status_code == 400 and "须填写签约日期" in missing.get_data(as_text=True)
    signed = client.post(
        f"/cooperation/{coop.id}/move",
        data={
            "csrf_token": token,
            "to": "signed",
            "version": coop.version,
            "signed_on": local_today().isoformat(),
            "parties": "测试领带公司、香港理工大学",
            "next": "https://evil.example/",
        },
    )
    assert signed.status_code == 302 and signed.headers["Location"].endswith(
        f"/cooperation/{coop.id}"
    )
    db.session.refresh(coop)
    assert coop.stage == Stage.SIGNED and coop.parties == "测试领带公司、香港理工大学"
    stale = client.post(
        f"/cooperation/{coop.id}/move",
        data={"csrf_token": token, "to": "implementation", "version": coop.version - 1},
    )
    assert stale.status_code == 409 and "已被他人更新" in stale.get_data(as_text=True)
    board = client.get("/pipeline").get_data(as_text=True)
    assert 'data-testid="column-signed"' in board and "领带抗皱整理" in board
    listing = client.get("/pipeline?view=list&terminated=1").get_data(as_text=True)
    assert "领带抗皱整理" in listing and "签约" in listing


def test_a_long_column_shows_the_newest_cards_and_counts_them_all(deal, client, monkeypatch):
    officer, coop = deal
    db.session.add_all(
        [
            Cooperation(
                title=f"批量意向{i}",
                enterprise_id=coop.enterprise_id,
                institution_id=coop.institution_id,
                type=CooperationType.SERVICE,
                stage=Stage.INTENT,
                stage_changed_on=local_today() - timedelta(days=i),
            )
            for i in range(5)
        ]
    )
    db.session.commit()
    records, counts = board.board(board.Filters(), per_column=3)
    assert counts == {Stage.INTENT: 6}
    assert [c.title for c in records] == ["批量意向0", "批量意向1", "批量意向2"]
    monkeypatch.setattr(board, "PER_COLUMN", 3)
    AuthActions(client).login(officer.username)
    html = client.get("/pipeline").get_data(as_text=True)
    assert 'data-testid="count-intent">6<' in html and "还有 3 项，在列表中查看" in html
    monkeypatch.setitem(client.application.config, "PER_PAGE", 4)
    listing = client.get("/pipeline?view=list").get_data(as_text=True)
    assert listing.count("批量意向") == 4 and "下一页" in listing


def test_an_officer_registers_and_edits_a_cooperation(deal, client, make_user):
    officer, coop = deal
    ent_id = coop.enterprise_id
    expert = Researcher(name="登记专家", institution_id=coop.institution_id)
    db.session.add(expert)
    db.session.commit()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, f"/enterprises/{ent_id}/cooperation/new")
    form = {
        "csrf_token": token,
        "title": "走访中谈成的检测服务",
        "type": "service",
        "institution_id": "",
        "researcher_name": "登记专家",
        "amount": "12.5",
        "contract_no": "",
        "origin": "visit",
    }
    nobody = client.post(
        f"/enterprises/{ent_id}/cooperation/new", data={**form, "researcher_name": "查无此人"}
    )
    assert nobody.status_code == 400 and "专家库里没有“查无此人”" in nobody.get_data(as_text=True)
    made = client.post(f"/enterprises/{ent_id}/cooperation/new", data=form)
    assert made.status_code == 302
    new = db.session.scalars(sa.select(Cooperation).filter_by(title="走访中谈成的检测服务")).one()
    assert (new.researcher_id, new.institution_id) == (expert.id, coop.institution_id)
    assert new.amount == 125000 and new.origin.value == "visit" and new.stage == Stage.INTENT
    assert [h.to_stage for h in new.history] == [Stage.INTENT] and new.officer_id == officer.id
    edit = {**form, "amount": "20", "version": new.version}
    assert client.post(f"/cooperation/{new.id}/edit", data=edit).status_code == 302
    stale = client.post(f"/cooperation/{new.id}/edit", data={**edit, "amount": "30"})
    assert stale.status_code == 409
    db.session.refresh(new)
    assert new.amount == 200000
    AuthActions(client).logout()
    AuthActions(client).login(make_user().username)
    token = csrf_token(client, "/")
    assert (
        client.post(
            f"/enterprises/{ent_id}/cooperation/new", data={**form, "csrf_token": token}
        ).status_code
        == 403
    )


def test_signing_without_date_and_parties_says_both_at_once(deal, client):
    """签约 with neither its date nor its parties: one answer names both, beside their
    fields; nothing moves."""
    officer, coop = deal
    _move(officer, coop, Stage.NEGOTIATION)
    db.session.commit()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, f"/cooperation/{coop.id}")
    response = client.post(
        f"/cooperation/{coop.id}/move",
        data={
            "csrf_token": token,
            "to": "signed",
            "version": coop.version,
            "on": "",
            "signed_on": "",
            "parties": "  ",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "进入签约阶段须填写签约日期" in body and "进入签约阶段须填写签约各方" in body
    for name in ("signed_on", "parties"):
        assert re.search(rf'<input[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="{name}"', body)
    db.session.refresh(coop)
    assert coop.stage == Stage.NEGOTIATION


def test_a_future_date_and_missing_parties_are_said_together(deal, client):
    officer, coop = deal
    _move(officer, coop, Stage.NEGOTIATION)
    db.session.commit()
    AuthActions(client).login(officer.username)
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = client.post(
        f"/cooperation/{coop.id}/move",
        data={
            "csrf_token": csrf_token(client, f"/cooperation/{coop.id}"),
            "to": "signed",
            "version": coop.version,
            "on": tomorrow,
            "signed_on": tomorrow,
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert body.count("日期不能晚于今天") == 2  # 变动日期 and 签约日期
    assert "签约日期不能晚于今天" in body and "须填写签约各方" in body
    for name in ("on", "signed_on", "parties"):
        assert re.search(rf'<input[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="{name}"', body)


def test_the_move_form_has_its_dates_filled_with_today(deal, client, clock):
    officer, coop = deal
    clock.set(date(2026, 12, 1))
    AuthActions(client).login(officer.username)
    url = f"/cooperation/{coop.id}?to=negotiation"
    form = form_to(client.get(url).get_data(as_text=True), url, f"/cooperation/{coop.id}/move")
    sent = dict(form.fields)
    assert sent["on"] == sent["signed_on"] == "2026-12-01"
    assert sent["to"] == "negotiation"
