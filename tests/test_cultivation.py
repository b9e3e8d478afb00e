"""The cultivation pool (培育库): putting a firm in it, the step rules, 认定 becoming a
recognition the targets count, who may write, the board's columns and the pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.cultivation import board, services
from crm.cultivation.models import Candidate, CoachingStep, PoolStage, StepKind
from crm.enterprises.models import Recognition, RecognitionKind
from crm.errors import Conflict, PermissionDenied, ValidationError
from crm.extensions import db
from crm.targets.rules import RULES
from crm.visits.models import Visit
from tests.conftest import AuthActions, csrf_token
from tests.pages import form_to

TODAY = date(2025, 6, 16)
SME = RecognitionKind.TECH_SME_PROVINCIAL


@pytest.fixture
def firm(clock, make_user, make_department, make_enterprise):
    """An officer of department 甲 and a firm of theirs; today is TODAY."""
    clock.set(TODAY)
    dept = make_department()
    officer = make_user(department=dept.name, display_name="培育联络员")
    ent = make_enterprise(
        name="嵊州市培育测试电机有限公司", department_id=dept.id, owner_id=officer.id
    )
    return officer, ent


@pytest.fixture
def pooled(firm):
    officer, ent = firm
    candidate = services.add(officer, ent, services.Entry(kind=SME, year=2025))
    db.session.commit()
    return officer, candidate


def _step(user, candidate, kind, **kwargs):
    return services.record(
        user, candidate, services.Step(kind=kind, version=candidate.version, **kwargs)
    )


def _days(n: int) -> date:
    return TODAY - timedelta(days=n)


# ---- the pool ----------------------------------------------------------------------------------


def test_a_firm_is_pooled_once_for_a_kind_and_year(firm):
    officer, ent = firm
    candidate = services.add(officer, ent, services.Entry(kind=SME, year=2025, notes=" 研发强 "))
    db.session.commit()
    assert (candidate.stage, candidate.officer_id, candidate.notes) == (
        PoolStage.POOLED,
        officer.id,
        "研发强",
    )
    assert candidate.stage_changed_on == TODAY
    with pytest.raises(ValidationError, match="已在 2025 年“省级科技型中小企业”培育库中"):
        services.add(officer, ent, services.Entry(kind=SME, year=2025))
    # another year, another kind: separate entries
    services.add(officer, ent, services.Entry(kind=SME, year=2026))
    services.add(officer, ent, services.Entry(kind=RecognitionKind.HITECH_NATIONAL, year=2025))
    db.session.commit()
    assert len(board.entries_of(ent.id)) == 3


def test_a_firm_holding_a_valid_recognition_is_not_pooled_for_it(firm):
    officer, ent = firm
    db.session.add_all(
        [
            Recognition(enterprise_id=ent.id, kind=SME, granted_on=date(2023, 5, 1)),
            Recognition(  # expires within 2025: its renewal may be coached
                enterprise_id=ent.id,
                kind=RecognitionKind.HITECH_NATIONAL,
                granted_on=date(2022, 12, 1),
                expires_on=date(2025, 11, 30),
                certificate_no="GR202233000111",
            ),
        ]
    )
    db.session.commit()
    with pytest.raises(ValidationError, match="已持有有效的“省级科技型中小企业”认定"):
        services.add(officer, ent, services.Entry(kind=SME, year=2025))
    renewal = services.add(
        officer, ent, services.Entry(kind=RecognitionKind.HITECH_NATIONAL, year=2025)
    )
    assert renewal.stage == PoolStage.POOLED
    with pytest.raises(ValidationError, match="已持有有效的“国家级高新技术企业”认定"):
        services.add(officer, ent, services.Entry(kind=RecognitionKind.HITECH_NATIONAL, year=2022))


def test_a_hitech_recognition_without_its_expiry_runs_out_after_three_years(firm):
    officer, ent = firm
    hitech = RecognitionKind.HITECH_NATIONAL
    db.session.add(Recognition(enterprise_id=ent.id, kind=hitech, granted_on=date(2022, 10, 8)))
    db.session.commit()
    with pytest.raises(ValidationError, match="已持有有效的"):  # valid to 2025-10-07
        services.add(officer, ent, services.Entry(kind=hitech, year=2024))
    renewal = services.add(officer, ent, services.Entry(kind=hitech, year=2025))
    assert renewal.stage == PoolStage.POOLED
    assert services.expiry(hitech, date(2025, 10, 8)) == date(2028, 10, 7)
    assert services.expiry(SME, date(2025, 10, 8)) is None


def test_an_entry_says_every_problem_at_once(firm, make_user):
    officer, ent = firm
    viewer = make_user(role=Role.VIEWER)
    found = services.entry_problems(
        ent, services.Entry(kind=None, year=1980, officer_id=viewer.id), TODAY
    )
    assert {p.field for p in found} == {"kind", "year", "officer_id"}


def test_only_who_may_edit_the_firm_pools_it(firm, make_user):
    _, ent = firm
    for outsider in (make_user(), make_user(role=Role.VIEWER)):
        with pytest.raises(PermissionDenied):
            services.add(outsider, ent, services.Entry(kind=SME, year=2025))
    assert services.add(make_user(role=Role.ADMIN), ent, services.Entry(kind=SME, year=2025))


# ---- the steps ---------------------------------------------------------------------------------


def test_steps_move_the_stage_forward_only_and_each_is_dated(pooled):
    officer, candidate = pooled
    _step(officer, candidate, StepKind.COACHING, on=_days(30), note="讲解认定条件")
    _step(officer, candidate, StepKind.CHECKED, on=_days(20))
    _step(officer, candidate, StepKind.COACHING, on=_days(18))  # kept; the stage stays
    assert candidate.stage == PoolStage.CHECKED and candidate.stage_changed_on == _days(20)
    _step(officer, candidate, StepKind.APPLIED, on=_days(10))
    _step(officer, candidate, StepKind.CHECKED, on=_days(9), note="补充材料")
    _step(officer, candidate, StepKind.NOTE, on=_days(9), note="等待公示")
    db.session.commit()
    assert candidate.stage == PoolStage.APPLIED and candidate.stage_changed_on == _days(10)
    steps = db.session.scalars(
        sa.select(CoachingStep).where(CoachingStep.candidate_id == candidate.id)
    ).all()
    assert [(s.kind, s.done_on) for s in steps][-2:] == [
        (StepKind.CHECKED, _days(9)),
        (StepKind.NOTE, _days(9)),
    ]
    assert steps[0].note == "讲解认定条件" and steps[0].by_id == officer.id
    assert services.next_steps(candidate) == [
        StepKind.COACHING,
        StepKind.CHECKED,
        StepKind.GRANTED,
        StepKind.FAILED,
        StepKind.WITHDRAWN,
        StepKind.NOTE,
    ]


@pytest.mark.parametrize(
    ("before", "kind", "kwargs", "field", "message"),
    [
        ([], StepKind.COACHING, {"on": TODAY + timedelta(days=1)}, "on", "不能晚于今天"),
        ([StepKind.COACHING], StepKind.CHECKED, {"on": _days(40)}, "on", "不能早于上一步"),
        ([], StepKind.GRANTED, {"certificate_no": "x"}, "kind", "要先记录“提交申报”"),
        ([StepKind.APPLIED], StepKind.APPLIED, {}, "kind", "已经记录过“提交申报”"),
        ([StepKind.APPLIED], StepKind.FAILED, {"reason": "  "}, "reason", "未通过须写明原因"),
        ([], StepKind.WITHDRAWN, {}, "reason", "退出培育须写明原因"),
        ([StepKind.APPLIED], StepKind.GRANTED, {}, "certificate_no", "认定须填写证书编号"),
        ([], StepKind.NOTE, {"note": " "}, "note", "请填写备注内容"),
        (
            [StepKind.APPLIED, StepKind.GRANTED],
            StepKind.COACHING,
            {},
            "kind",
            "已获认定，流程已结束，只能再记“备注”",
        ),
        (
            [StepKind.APPLIED, StepKind.FAILED],
            StepKind.GRANTED,
            {"certificate_no": "x"},
            "kind",
            "申报未通过，流程已结束",
        ),
        ([StepKind.WITHDRAWN], StepKind.APPLIED, {}, "kind", "已退出培育"),
    ],
)
def test_a_step_breaking_a_rule_is_refused(pooled, before, kind, kwargs, field, message):
    officer, candidate = pooled
    for earlier in before:
        _step(officer, candidate, earlier, on=_days(30), certificate_no="证1", reason="原因")
    stage = candidate.stage
    with pytest.raises(ValidationError, match=message) as refused:
        _step(officer, candidate, kind, **kwargs)
    assert refused.value.field == field
    assert candidate.stage == stage and len(candidate.steps) == len(before)


def test_problems_are_said_together(pooled):
    officer, candidate = pooled
    _step(officer, candidate, StepKind.APPLIED, on=_days(5))
    found = services.problems(
        candidate,
        services.Step(StepKind.GRANTED, candidate.version, on=TODAY + timedelta(days=2)),
        TODAY,
    )
    assert [p.field for p in found] == ["on", "certificate_no"]


def test_a_stale_step_and_other_departments_are_refused(pooled, make_user):
    officer, candidate = pooled
    stale = candidate.version
    _step(officer, candidate, StepKind.NOTE, note="第一条")  # a note moves the version too
    db.session.commit()
    assert candidate.version == stale + 1
    with pytest.raises(Conflict):
        services.record(officer, candidate, services.Step(StepKind.COACHING, stale))
    for outsider in (make_user(), make_user(role=Role.VIEWER)):
        with pytest.raises(PermissionDenied):
            _step(outsider, candidate, StepKind.COACHING)
    colleague = make_user(department=candidate.enterprise.department.name)
    _step(colleague, candidate, StepKind.COACHING)  # the firm's department may


def test_a_step_links_only_a_visit_to_its_own_firm(pooled, make_enterprise):
    officer, candidate = pooled
    own = Visit(enterprise_id=candidate.enterprise_id, officer_id=officer.id, visited_on=_days(1))
    other = Visit(enterprise_id=make_enterprise().id, officer_id=officer.id, visited_on=_days(1))
    db.session.add_all([own, other])
    db.session.commit()
    with pytest.raises(ValidationError, match="不是这家企业的走访记录"):
        _step(officer, candidate, StepKind.COACHING, visit_id=other.id)
    step = _step(officer, candidate, StepKind.COACHING, on=_days(1), visit_id=own.id)
    assert step.visit_id == own.id


# ---- 认定 and the targets --------------------------------------------------------------------


def test_granting_records_a_recognition_the_years_target_counts(pooled):
    officer, candidate = pooled
    rule = RULES["new_tech_sme_provincial"]
    before = rule.actual(2025, None)
    dept = candidate.enterprise.department_id
    before_dept = rule.actual(2025, dept)
    _step(officer, candidate, StepKind.APPLIED, on=_days(40))
    _step(officer, candidate, StepKind.GRANTED, on=_days(3), certificate_no=" 2025SME0042 ")
    db.session.commit()
    granted = candidate.recognition
    assert candidate.stage == PoolStage.GRANTED and candidate.stage_changed_on == _days(3)
    assert (granted.enterprise_id, granted.kind, granted.granted_on, granted.certificate_no) == (
        candidate.enterprise_id,
        SME,
        _days(3),
        "2025SME0042",
    )
    assert rule.actual(2025, None) == before + 1
    assert rule.actual(2025, dept) == before_dept + 1
    assert any(i.id == candidate.enterprise_id for i in rule.items(2025, None))
    assert RULES["new_hitech_national"].actual(2025, None) == 0  # its own kind only
    assert services.next_steps(candidate) == [StepKind.NOTE]
    _step(officer, candidate, StepKind.NOTE, note="已颁证")  # a note after the end is kept


def test_granting_links_a_recognition_already_there_for_that_day(pooled):
    officer, candidate = pooled
    imported = Recognition(enterprise_id=candidate.enterprise_id, kind=SME, granted_on=_days(2))
    db.session.add(imported)
    db.session.commit()
    _step(officer, candidate, StepKind.APPLIED, on=_days(9))
    _step(officer, candidate, StepKind.GRANTED, on=_days(2), certificate_no="C-1")
    db.session.commit()
    assert candidate.recognition_id == imported.id and imported.certificate_no == "C-1"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recognition)) == 1


# ---- the board -----------------------------------------------------------------------------------


def test_the_board_has_a_column_per_stage_with_counts_and_last_steps(
    pooled, make_enterprise, make_user, make_department
):
    officer, candidate = pooled
    _step(officer, candidate, StepKind.COACHING, on=_days(4))
    other_dept = make_department()
    other_officer = make_user(department=other_dept.name)
    theirs = make_enterprise(name="另一科室的企业", department_id=other_dept.id)
    failed = services.add(
        make_user(role=Role.ADMIN),
        theirs,
        services.Entry(
            kind=RecognitionKind.HITECH_NATIONAL, year=2025, officer_id=other_officer.id
        ),
    )
    _step(other_officer, failed, StepKind.APPLIED, on=_days(20))
    _step(other_officer, failed, StepKind.FAILED, on=_days(2), reason="研发费用占比不足")
    later = services.add(officer, candidate.enterprise, services.Entry(kind=SME, year=2026))
    db.session.commit()
    columns, counts = board.board(board.Filters(year=2025))
    assert list(columns) == list(services.BOARD)
    assert counts == {PoolStage.COACHING: 1, PoolStage.FAILED: 1}
    [card] = columns[PoolStage.COACHING]
    assert (card.candidate.id, card.last_on, card.last_kind) == (
        candidate.id,
        _days(4),
        StepKind.COACHING,
    )
    assert [c.candidate.id for c in columns[PoolStage.FAILED]] == [failed.id]
    by_kind = board.board(board.Filters(year=2025, kind=SME))[1]
    assert by_kind == {PoolStage.COACHING: 1}
    mine = board.board(board.Filters(year=2025, officer_id=officer.id))[1]
    assert mine == {PoolStage.COACHING: 1}
    dept = board.board(board.Filters(year=2025, department_id=other_dept.id))[1]
    assert dept == {PoolStage.FAILED: 1}
    next_year = board.board(board.Filters(year=2026))[0]
    [fresh] = next_year[PoolStage.POOLED]
    assert fresh.candidate.id == later.id and (fresh.last_on, fresh.last_kind) == (TODAY, None)
    assert board.years(2025) == [2026, 2025]


def test_a_long_column_shows_its_first_cards_and_counts_them_all(firm, make_enterprise):
    officer, ent = firm
    for i in range(4):
        other = make_enterprise(name=f"批量{i}号企业", owner_id=officer.id)
        services.add(officer, other, services.Entry(kind=SME, year=2025))
    db.session.commit()
    columns, counts = board.board(board.Filters(year=2025), per_column=3)
    assert counts == {PoolStage.POOLED: 4} and len(columns[PoolStage.POOLED]) == 3


# ---- the pages -----------------------------------------------------------------------------------


def test_the_board_page_shows_each_stage_and_card(pooled, client):
    officer, candidate = pooled
    _step(officer, candidate, StepKind.APPLIED, on=_days(1))
    db.session.commit()
    AuthActions(client).login(officer.username)
    html = client.get("/cultivation?year=2025").get_data(as_text=True)
    for stage in PoolStage:
        assert f'data-testid="column-{stage.value}"' in html
    assert 'data-testid="count-applied">1<' in html and 'data-testid="count-pooled">0<' in html
    assert "嵊州市培育测试电机有限公司" in html and f"提交申报 {_days(1).isoformat()}" in html
    assert "培育联络员" in html
    other_kind = client.get("/cultivation?year=2025&kind=hitech_national").get_data(as_text=True)
    assert "嵊州市培育测试电机有限公司" not in other_kind


def test_pooling_from_the_firms_page_and_from_the_board(firm, client):
    officer, ent = firm
    AuthActions(client).login(officer.username)
    page = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert "培育库" in page and f"/enterprises/{ent.id}/cultivation/new" in page
    url = f"/enterprises/{ent.id}/cultivation/new?kind=tech_sme_provincial"
    form = form_to(
        client.get(url).get_data(as_text=True), url, f"/enterprises/{ent.id}/cultivation/new"
    )
    sent = form.data(notes="今年重点")
    assert sent["kind"] == "tech_sme_provincial" and sent["year"] == "2025"
    assert sent["officer_id"] == str(officer.id)
    made = client.post(form.action, data=sent)
    assert made.status_code == 302
    candidate = db.session.scalars(sa.select(Candidate).filter_by(enterprise_id=ent.id)).one()
    assert made.headers["Location"].endswith(f"/cultivation/{candidate.id}")
    assert candidate.notes == "今年重点" and candidate.kind == SME
    again = client.post(form.action, data=form.data(submission_key=""))
    assert (
        again.status_code == 400
        and "已在 2025 年“省级科技型中小企业”培育库中" in again.get_data(as_text=True)
    )
    page = client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    assert f"/cultivation/{candidate.id}" in page and "2025 年 · 省级科技型中小企业" in page
    # the board's way: find the firm, press 加入 for the kind and year chosen
    pick = "/cultivation/new?kind=hitech_national&year=2025&q=培育测试"
    html = client.get(pick).get_data(as_text=True)
    button = form_to(html, pick, f"/enterprises/{ent.id}/cultivation/new")
    assert client.post(button.action, data=button.data()).status_code == 302
    kinds = db.session.scalars(sa.select(Candidate.kind).filter_by(enterprise_id=ent.id)).all()
    assert set(kinds) == {SME, RecognitionKind.HITECH_NATIONAL}
    assert "已在库" in client.get(pick).get_data(as_text=True)


def test_recording_steps_on_the_candidates_page(pooled, client):
    officer, candidate = pooled
    AuthActions(client).login(officer.username)
    url = f"/cultivation/{candidate.id}"
    form = form_to(client.get(url).get_data(as_text=True), url, f"{url}/steps")
    assert dict(form.fields)["on"] == TODAY.isoformat()
    done = client.post(form.action, data=form.data(kind="applied", on=_days(2).isoformat()))
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    db.session.refresh(candidate)
    assert candidate.stage == PoolStage.APPLIED
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="stage">已申报<' in html and "提交申报" in html
    # 认定 dated tomorrow and without its certificate: both said, beside their fields
    form = form_to(html, url, f"{url}/steps")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused = client.post(form.action, data=form.data(kind="granted", on=tomorrow))
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "日期不能晚于今天" in body and "认定须填写证书编号" in body
    for name in ("on", "certificate_no"):
        assert re.search(rf'<input[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="{name}"', body)
    granted = client.post(form.action, data=form.data(kind="granted", certificate_no="GR2025"))
    assert granted.status_code == 302
    db.session.refresh(candidate)
    assert candidate.stage == PoolStage.GRANTED and candidate.recognition.certificate_no == "GR2025"
    # the form loaded before the 认定 is stale now
    stale = client.post(form.action, data=form.data(kind="note", note="迟到的备注"))
    assert stale.status_code == 409 and "已被他人更新" in stale.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="recognition"' in page and "GR2025" in page
    assert '<option value="note">备注</option>' in page and 'value="coaching"' not in page


def test_viewers_and_other_departments_see_no_form_and_are_refused(pooled, client, make_user):
    _, candidate = pooled
    url = f"/cultivation/{candidate.id}"
    for outsider in (make_user(), make_user(role=Role.VIEWER)):
        AuthActions(client).login(outsider.username)
        page = client.get(url)
        assert page.status_code == 200 and 'data-testid="step-form"' not in page.get_data(
            as_text=True
        )
        token = csrf_token(client, "/")
        sent = {"csrf_token": token, "kind": "coaching", "version": str(candidate.version)}
        assert client.post(f"{url}/steps", data=sent).status_code == 403
        add = f"/enterprises/{candidate.enterprise_id}/cultivation/new"
        assert (
            client.post(add, data={"csrf_token": token, "kind": "hitech_national"}).status_code
            == 403
        )
        AuthActions(client).logout()
    db.session.refresh(candidate)
    assert candidate.steps == [] and candidate.stage == PoolStage.POOLED
