"""科技项目: the stage rules (one step at a time, dated, 立项 with a number, 未立项 / 终止 with a
reason, stale forms refused), registration with its deadline task, the pages and who may."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.cooperation.models import Attachment
from crm.errors import Conflict, PermissionDenied, ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.projects import deadlines, lists, services, stages
from crm.projects.models import Level, Programme, Project, ProjectStage, ProjectStageChange
from crm.visits.models import Task
from tests.conftest import AuthActions, csrf_token
from tests.pages import form_to

S = ProjectStage
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def setting(make_enterprise, make_user, clock):
    clock.set(date(2026, 6, 10))
    officer = make_user()
    ent = make_enterprise(name="嵊州市测试电机有限公司", owner_id=officer.id)
    programme = Programme(
        name="省重点研发计划（测试）", level=Level.PROVINCIAL, deadline=date(2026, 7, 1)
    )
    db.session.add(programme)
    db.session.commit()
    return officer, ent, programme


def _project(officer, ent, programme, **fields) -> Project:
    data = services.ProjectData(title="高效节能电机研发", programme_id=programme.id, **fields)
    project = services.create(officer, ent, data)
    db.session.commit()
    return project


def _move(officer, project, to, **fields) -> Project:
    return stages.move(officer, project, stages.Move(to=to, version=project.version, **fields))


def test_a_project_goes_step_by_step_with_a_dated_history(setting, clock):
    officer, ent, programme = setting
    project = _project(officer, ent, programme, applied_on=date(2026, 6, 1))
    assert project.stage == S.APPLYING and project.level == Level.PROVINCIAL
    assert project.year == 2026 and project.officer_id == officer.id
    _move(officer, project, S.RECOMMENDED, on=date(2026, 6, 5))
    with pytest.raises(ValidationError) as refused:
        _move(officer, project, S.APPROVED)
    assert refused.value.field == "number" and "项目编号" in refused.value.message
    _move(officer, project, S.APPROVED, number=" 2026C01012 ")
    _move(officer, project, S.MIDTERM)
    _move(officer, project, S.ACCEPTED, note="结题")
    db.session.commit()
    assert project.number == "2026C01012" and project.approved_on == date(2026, 6, 10)
    steps = [(h.from_stage, h.to_stage, h.changed_on) for h in project.history]
    assert steps == [
        (None, S.APPLYING, date(2026, 6, 1)),
        (S.APPLYING, S.RECOMMENDED, date(2026, 6, 5)),
        (S.RECOMMENDED, S.APPROVED, date(2026, 6, 10)),
        (S.APPROVED, S.MIDTERM, date(2026, 6, 10)),
        (S.MIDTERM, S.ACCEPTED, date(2026, 6, 10)),
    ]
    assert stages.next_stages(project.stage) == []


@pytest.mark.parametrize(
    ("start", "to", "words"),
    [
        (S.APPLYING, S.APPROVED, "要先经过“推荐”"),
        (S.APPLYING, S.ACCEPTED, "要先经过“推荐”“立项”“中期检查”"),
        (S.APPLYING, S.TERMINATED, "未立项"),
        (S.APPROVED, S.REJECTED, "终止"),
        (S.MIDTERM, S.RECOMMENDED, "退回"),
        (S.ACCEPTED, S.MIDTERM, "流程已结束"),
        (S.REJECTED, S.RECOMMENDED, "流程已结束"),
    ],
)
def test_a_skipped_or_backward_move_is_refused_and_nothing_is_written(setting, start, to, words):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    project.stage, project.number, project.approved_on = start, "N-1", date(2026, 6, 1)
    project.end_reason = "原因" if start == S.REJECTED else None
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ProjectStageChange))
    with pytest.raises(ValidationError) as refused:
        _move(officer, project, to, number="N-1", reason="x")
    assert words in refused.value.message and refused.value.field == "to"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectStageChange)) == before
    assert db.session.get(Project, project.id).stage == start


def test_dates_reasons_and_numbers_are_checked_all_at_once(setting, make_enterprise):
    officer, ent, programme = setting
    project = _project(officer, ent, programme, applied_on=date(2026, 6, 8))
    future = stages.Move(to=S.REJECTED, version=project.version, on=date(2026, 6, 11))
    found = stages.problems(project, future, date(2026, 6, 10))
    assert {(p.field, p.message) for p in found} == {
        ("on", "日期不能晚于今天。"),
        ("reason", "未立项须写明原因。"),
    }
    early = stages.Move(to=S.RECOMMENDED, version=project.version, on=date(2026, 6, 7))
    assert [p.message for p in stages.problems(project, early, date(2026, 6, 10))] == [
        "日期不能早于上一次变动（2026-06-08）。"
    ]
    other = _project(officer, make_enterprise(owner_id=officer.id), programme)
    _move(officer, other, S.RECOMMENDED)
    _move(officer, other, S.APPROVED, number="2026-TAKEN")
    _move(officer, project, S.RECOMMENDED)
    with pytest.raises(ValidationError, match="已被另一个项目使用"):
        _move(officer, project, S.APPROVED, number="2026-TAKEN")


def test_a_stale_move_is_refused(setting):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    with pytest.raises(Conflict):
        stages.move(officer, project, stages.Move(to=S.RECOMMENDED, version=project.version - 1))


def test_who_may_move_a_project(setting, make_user):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    for stranger in (make_user(), make_user(role=Role.VIEWER)):
        with pytest.raises(PermissionDenied):
            _move(stranger, project, S.RECOMMENDED)
    _move(make_user(role=Role.ADMIN), project, S.RECOMMENDED)
    assert project.stage == S.RECOMMENDED


def test_registering_refuses_bad_input_with_every_reason(setting):
    officer, ent, programme = setting
    bad = services.ProjectData(
        title=" ",
        programme_id=999999,
        grant_amount=Decimal("-1"),
        starts_on=date(2026, 5, 1),
        ends_on=date(2026, 4, 1),
    )
    found = {p.field for p in services.problems(bad)}
    assert found == {"title", "programme_id", "grant_amount", "ends_on"}
    with pytest.raises(ValidationError):
        services.create(officer, ent, bad)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_a_deadline_makes_a_task_a_week_before_and_moves_it_with_the_deadline(setting, make_user):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    task = db.session.scalars(sa.select(Task).where(Task.project_id == project.id)).one()
    assert task.assignee_id == officer.id and task.due_on == date(2026, 6, 24)
    assert "7月1日截止" in task.title
    admin = make_user(role=Role.ADMIN)
    data = deadlines.ProgrammeData(name=programme.name, level=programme.level)
    data.deadline = date(2026, 6, 12)
    deadlines.save_programme(admin, data, programme, programme.version)
    db.session.commit()
    tasks = db.session.scalars(sa.select(Task).where(Task.project_id == project.id)).all()
    assert [(t.due_on, "6月12日截止" in t.title) for t in tasks] == [(date(2026, 6, 10), True)]
    _move(officer, project, S.RECOMMENDED)  # the application went out: the task is done
    db.session.commit()
    db.session.refresh(tasks[0])
    assert tasks[0].done_at is not None


def test_partners_are_found_by_name_and_kept(setting, make_enterprise):
    officer, ent, programme = setting
    polyu = Institution(name="香港理工大学（项目测试）", kind=InstitutionKind.UNIVERSITY)
    db.session.add(polyu)
    partner = make_enterprise(name="嵊州市合作测试厨具有限公司")
    db.session.flush()
    project = _project(
        officer,
        ent,
        programme,
        partner_institution_ids=[polyu.id],
        partner_enterprises=f"{partner.name}、{ent.name}",
    )
    assert sorted(p.name for p in project.partners) == sorted([polyu.name, partner.name])
    with pytest.raises(ValidationError, match="企业库里没有“不存在的公司”"):
        services.update(
            officer,
            project,
            services.ProjectData(
                title="x", programme_id=programme.id, partner_enterprises="不存在的公司"
            ),
            project.version,
        )


# ---- pages ---------------------------------------------------------------------------------------


def test_an_officer_registers_a_project_and_moves_it_to_approval_with_its_notice(
    setting, client, app, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path / "files"))
    officer, ent, programme = setting
    AuthActions(client).login(officer.username)
    page_url = f"/enterprises/{ent.id}/projects/new"
    page = client.get(page_url)
    assert page.status_code == 200
    form = form_to(page.get_data(as_text=True), page_url, page_url)
    done = client.post(
        page_url,
        data=form.data(
            title="电机能效提升", programme_id=str(programme.id), grant_amount="50", year="2026"
        ),
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "已登记项目，当前阶段：申报" in text and "申报截止前的待办" in text
    project = db.session.scalars(sa.select(Project)).one()
    assert project.grant_amount == Decimal("500000")  # typed in 万元, kept in yuan
    detail = f"/projects/{project.id}"
    for to, extra in (("recommended", {}), ("approved", {})):
        html = client.get(detail).get_data(as_text=True)
        move = form_to(html, detail, f"/projects/{project.id}/move")
        answer = client.post(move.path, data=move.data(to=to, **extra))
        if to == "approved":  # without its number: said on the field, nothing written
            assert answer.status_code == 400
            assert "立项须填写项目编号" in answer.get_data(as_text=True)
            answer = client.post(move.path, data=move.data(to=to, number="2026C02001"))
        assert answer.status_code == 302
    token = csrf_token(client, detail)
    client.post(
        f"/projects/{project.id}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(PDF), "立项通知.pdf")},
        content_type="multipart/form-data",
    )
    html = client.get(detail).get_data(as_text=True)
    assert re.search(r'data-testid="stage">立项<', html) and "2026C02001" in html
    notice = db.session.scalars(sa.select(Attachment)).one()
    assert notice.project_id == project.id and notice.cooperation_id is None
    assert "立项通知.pdf" in html
    assert client.get(f"/attachments/{notice.id}").data == PDF


def test_a_stale_move_form_gets_409_and_the_fresh_stage(setting, client):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    AuthActions(client).login(officer.username)
    detail = f"/projects/{project.id}"
    move = form_to(client.get(detail).get_data(as_text=True), detail, f"{detail}/move")
    _move(officer, project, S.RECOMMENDED)
    db.session.commit()
    answer = client.post(move.path, data=move.data(to="recommended"))
    assert answer.status_code == 409 and "已被他人更新" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectStageChange)) == 2


def test_the_list_filters_and_the_calendar_shows_firms_being_prepared(
    setting, client, make_enterprise, make_user
):
    officer, ent, programme = setting
    county = Programme(name="市级科技计划（测试）", level=Level.COUNTY)
    db.session.add(county)
    db.session.flush()
    _project(officer, ent, programme)
    other = _project(
        officer, make_enterprise(owner_id=officer.id, name="嵊州市另一测试厨具有限公司"), county
    )
    other.title = "厨具设计"
    db.session.commit()
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    provincial = client.get("/projects?level=provincial").get_data(as_text=True)
    assert "高效节能电机研发" in provincial and "厨具设计" not in provincial
    assert "共 1 项" in provincial
    calendar = client.get("/projects/calendar").get_data(as_text=True)
    assert "省重点研发计划（测试）" in calendar and "还有 21 天" in calendar
    assert ent.name in calendar and "市级科技计划（测试）" not in calendar  # no deadline set


def test_programmes_are_kept_by_admins(setting, client, make_user):
    AuthActions(client).login(setting[0].username)
    assert client.get("/programmes/new").status_code == 403
    AuthActions(client).logout()
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    page = client.get("/programmes/new").get_data(as_text=True)
    form = form_to(page, "/programmes/new", "/programmes/new")
    twice = client.post(
        form.path, data=form.data(name="省重点研发计划（测试）", level="provincial")
    )
    assert twice.status_code == 400 and "已有名为" in twice.get_data(as_text=True)
    made = client.post(
        form.path,
        data=form.data(name="省科技型中小企业扶持", level="provincial", deadline="2026-09-30"),
    )
    assert made.status_code == 302
    saved = db.session.scalars(
        sa.select(Programme).where(Programme.name == "省科技型中小企业扶持")
    ).one()
    assert saved.deadline == date(2026, 9, 30) and saved.level == Level.PROVINCIAL


def test_a_project_from_a_cooperation_links_both_ways(setting, client, make_user):
    from crm.cooperation.models import Stage
    from tests.world import manual_lead

    officer, ent, programme = setting
    inst = Institution(name="浙江大学（项目来源测试）", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    coop = manual_lead(ent, inst, officer, title="永磁电机联合开发")
    coop.stage = Stage.NEGOTIATION
    db.session.commit()
    AuthActions(client).login(officer.username)
    coop_page = client.get(f"/cooperation/{coop.id}").get_data(as_text=True)
    start = f"/enterprises/{ent.id}/projects/new?cooperation_id={coop.id}"
    assert start.replace("&", "&amp;") in coop_page
    form_page = client.get(start).get_data(as_text=True)
    form = form_to(form_page, start, start)  # posts back to where it was opened
    assert form.data()["title"] == "永磁电机联合开发"
    assert form.data()["cooperation_id"] == str(coop.id)
    done = client.post(form.path, data=form.data(programme_id=str(programme.id)))
    assert done.status_code == 302
    project = db.session.scalars(sa.select(Project)).one()
    assert project.cooperation_id == coop.id
    assert [p.institution_id for p in project.partners] == [inst.id]
    assert "永磁电机联合开发" in client.get(f"/projects/{project.id}").get_data(as_text=True)
    coop_page = client.get(f"/cooperation/{coop.id}").get_data(as_text=True)
    assert f"/projects/{project.id}" in coop_page


def test_a_deleted_project_leaves_the_lists_and_an_admin_restores_it(setting, client, make_user):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    AuthActions(client).login(officer.username)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    delete = form_to(page, f"/projects/{project.id}", f"/trash/project/{project.id}/delete")
    assert client.post(delete.path, data=delete.data()).status_code == 302
    assert client.get(f"/projects/{project.id}").status_code == 404
    assert "高效节能电机研发" not in client.get("/projects").get_data(as_text=True)
    assert "高效节能电机研发" not in client.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    AuthActions(client).logout()
    AuthActions(client).login(make_user(role=Role.ADMIN).username)
    bin_page = client.get("/admin/trash?kind=project").get_data(as_text=True)
    assert "高效节能电机研发" in bin_page
    restore = form_to(bin_page, "/admin/trash", f"/trash/project/{project.id}/restore")
    assert client.post(restore.path, data=restore.data()).status_code == 302
    assert client.get(f"/projects/{project.id}").status_code == 200


def test_the_edit_form_says_every_problem_and_refuses_a_stale_save(setting, client):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    AuthActions(client).login(officer.username)
    url = f"/projects/{project.id}/edit"
    form = form_to(client.get(url).get_data(as_text=True), url, url)
    assert form.data()["grant_amount"] == "" and form.data()["title"] == "高效节能电机研发"
    bad = client.post(
        url,
        data=form.data(
            grant_amount="五十万",
            programme_id="987654",
            ends_on="2026-01-01",
            starts_on="2026-02-01",
        ),
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "没有这个科技计划" in text and "结束日期不能早于开始日期" in text
    assert text.count("invalid-feedback") >= 3  # the amount's own error too
    assert "Not a valid" not in text
    project.notes = "别人先改了"
    db.session.commit()
    stale = client.post(url, data=form.data(grant_amount="80"))
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    db.session.refresh(project)
    assert project.grant_amount is None and project.notes == "别人先改了"


def test_the_change_history_speaks_the_forms_words(setting, client):
    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    services.update(
        officer,
        project,
        services.ProjectData(
            title="高效节能电机研发", programme_id=programme.id, grant_amount=Decimal("800000")
        ),
        project.version,
    )
    db.session.commit()
    AuthActions(client).login(officer.username)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    history = page[page.index("变更记录") :]
    assert re.search(r"财政资助：</span>\s*80 万元", history)
    assert "科技计划：</span>" in history and "grant_amount" not in history


def test_an_achievement_names_the_project_that_produced_it(setting, client):
    from crm.institutions.models import Achievement

    officer, ent, programme = setting
    project = _project(officer, ent, programme)
    _move(officer, project, S.RECOMMENDED)
    _move(officer, project, S.APPROVED, number="2026-ACH-1")
    item = Achievement(title="高效电机冷却结构")
    db.session.add(item)
    db.session.commit()
    AuthActions(client).login(officer.username)
    url = f"/achievements/{item.id}/edit"
    form = form_to(client.get(url).get_data(as_text=True), url, url)
    assert client.post(url, data=form.data(project_id=str(project.id))).status_code == 302
    db.session.refresh(item)
    assert item.project_id == project.id
    shown = client.get(f"/achievements/{item.id}").get_data(as_text=True)
    assert f"/projects/{project.id}" in shown and "高效节能电机研发" in shown
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "产出成果" in page and "高效电机冷却结构" in page


def test_the_calendar_shows_the_first_firms_of_a_long_list_and_counts_the_rest(
    setting, client, make_enterprise, monkeypatch
):
    officer, ent, programme = setting
    monkeypatch.setattr(lists, "SHOWN_PER_DEADLINE", 2)
    for name in ("嵊州市丙测试有限公司", "嵊州市甲测试有限公司", "嵊州市乙测试有限公司"):
        _project(officer, make_enterprise(owner_id=officer.id, name=name), programme)
    (deadline,) = lists.calendar(date(2026, 6, 10))
    assert deadline.preparing == 3 and deadline.days_left == 21
    assert [p.enterprise.name for p in deadline.projects] == [
        "嵊州市丙测试有限公司",  # bing: by pinyin
        "嵊州市甲测试有限公司",
    ]
    AuthActions(client).login(officer.username)
    page = client.get("/projects/calendar").get_data(as_text=True)
    assert "3 家企业在准备" in page and "还有 1 家企业在准备" in page


def test_a_deleted_firms_projects_are_gone_with_it(setting, client, make_user):
    from crm.trash import services as trash

    officer, ent, programme = setting
    project = _project(officer, ent, programme, applied_on=date(2026, 6, 20))  # planned
    assert project.history[0].changed_on == date(2026, 6, 10)  # no move waits for it
    trash.delete(make_user(role=Role.ADMIN), "enterprise", ent.id)
    db.session.commit()
    AuthActions(client).login(officer.username)
    assert client.get(f"/projects/{project.id}").status_code == 404
    assert "高效节能电机研发" not in client.get("/projects").get_data(as_text=True)


def test_a_save_keeps_partners_deleted_since_and_follows_a_new_programmes_level(
    setting, client, make_user, make_enterprise
):
    from crm.institutions.models import Researcher

    officer, ent, programme = setting
    inst = Institution(name="中国计量大学（项目测试）", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    person = Researcher(name="项目测试专家", institution_id=inst.id)
    db.session.add(person)
    db.session.flush()
    project = _project(
        officer,
        ent,
        programme,
        partner_institution_ids=[inst.id],
        partner_researchers="项目测试专家",
    )
    county = Programme(name="嵊州市科技计划（测试）", level=Level.COUNTY)
    db.session.add(county)
    inst.deleted_at = person.deleted_at = project.created_at  # both deleted since
    db.session.commit()
    AuthActions(client).login(officer.username)
    url = f"/projects/{project.id}/edit"
    form = form_to(client.get(url).get_data(as_text=True), url, url)
    assert form.data()["level"] == ""  # 按计划
    assert client.post(url, data=form.data(programme_id=str(county.id))).status_code == 302
    db.session.refresh(project)
    assert sorted(p.name for p in project.partners) == sorted([inst.name, "项目测试专家"])
    assert project.level == Level.COUNTY  # the new programme's

    viewer, stranger_coop = make_user(role=Role.VIEWER), _other_firms_cooperation(make_enterprise)
    bad = services.ProjectData(
        title="x", programme_id=programme.id, officer_id=viewer.id, cooperation_id=stranger_coop
    )
    assert {p.field for p in services.problems(bad, project)} == {"officer_id", "cooperation_id"}


def _other_firms_cooperation(make_enterprise) -> int:
    from crm.cooperation.models import Cooperation, CooperationType

    inst = Institution(name="别家的合作大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    coop = Cooperation(
        title="别家的合作",
        enterprise_id=make_enterprise(name="嵊州市别家测试有限公司").id,
        institution_id=inst.id,
        type=CooperationType.DEVELOPMENT,
    )
    db.session.add(coop)
    db.session.flush()
    return coop.id
