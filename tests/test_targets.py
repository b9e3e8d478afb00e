"""Targets against actuals computed from records: a fixture where every count is known."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import Department
from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.enterprises.models import EnterpriseYear, Industry, Recognition, RecognitionKind
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
from crm.targets import rules, services, setting
from crm.targets.models import Target, TargetShare
from tests.conftest import AuthActions

YEAR = 2025
WAN = Decimal(10000)


@pytest.fixture
def bureau(make_enterprise):
    a, b = Department(name="测试科A"), Department(name="测试科B")
    motors = Industry(code="t-motor", name="测试电机")
    inst = Institution(name="测试大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add_all([a, b, motors, inst])
    db.session.flush()
    e1 = make_enterprise(name="甲公司", department_id=a.id)
    e2 = make_enterprise(name="乙公司", department_id=b.id)
    e3 = make_enterprise(name="丙电机公司", department_id=a.id, industries=[motors])
    gone = make_enterprise(name="已删公司", department_id=a.id)
    gone.deleted_at = gone.created_at
    result = Achievement(title="测试成果", institution=inst)
    researcher = Researcher(name="测试专家", institution=inst)
    db.session.add_all([result, researcher])
    db.session.flush()

    def recognition(ent, kind, on):
        db.session.add(Recognition(enterprise_id=ent.id, kind=kind, granted_on=on))

    H = RecognitionKind.HITECH_NATIONAL
    recognition(e1, H, date(YEAR, 3, 1))
    recognition(e1, H, date(YEAR, 9, 1))  # the same firm again: counts once
    recognition(e1, H, date(YEAR - 1, 12, 31))  # last year
    recognition(e2, H, date(YEAR, 12, 31))
    recognition(gone, H, date(YEAR, 5, 1))  # deleted firm
    recognition(e2, RecognitionKind.TECH_SME_PROVINCIAL, date(YEAR, 6, 1))

    def figures(ent, year, above, **values):
        db.session.add(
            EnterpriseYear(
                enterprise_id=ent.id,
                year=year,
                above_scale=above,
                **{k: Decimal(v) * WAN for k, v in values.items()},
            )
        )

    figures(e1, YEAR, True, revenue=1000, rnd_spend=30, industrial_output=1000, hitech_output=400)
    figures(e2, YEAR, True, revenue=3000, rnd_spend=30, industrial_output=1000, hitech_output=0)
    figures(e3, YEAR, False, revenue=100, rnd_spend=50)  # not 规上: left out
    figures(e1, YEAR - 1, True, revenue=10, rnd_spend=10)  # another year

    def coop(ent, kind, stage, signed, **extra):
        db.session.add(
            Cooperation(
                title=f"{ent.name}{kind.label}{stage.label}{signed}",
                enterprise_id=ent.id,
                institution_id=inst.id,
                type=kind,
                stage=stage,
                signed_on=signed,
                termination_reason="停" if stage == Stage.TERMINATED else None,
                **extra,
            )
        )

    J, S, T = CooperationType.JOINT_RND_CENTRE, Stage.SIGNED, Stage.TERMINATED
    coop(e1, J, S, date(YEAR, 5, 1))  # counts
    coop(e1, J, T, date(YEAR, 6, 1))  # terminated
    coop(e1, J, S, date(YEAR - 1, 6, 1))  # signed last year
    coop(e2, CooperationType.LICENSE, S, date(YEAR, 7, 1))  # an achievement introduced
    coop(e1, CooperationType.DEVELOPMENT, S, date(YEAR, 8, 1), achievement_id=result.id)
    coop(e1, CooperationType.DEVELOPMENT, S, date(YEAR, 8, 2))  # no achievement: no
    coop(
        e3,
        CooperationType.DEVELOPMENT,
        Stage.ACCEPTANCE,
        date(YEAR - 1, 3, 1),
        stage_changed_on=date(YEAR, 10, 1),
    )  # a motor maker's new product
    contest = Event(kind=EventKind.CONTEST, title="嵊州厨具杯", starts_on=date(YEAR, 4, 1))
    old_contest = Event(kind=EventKind.CONTEST, title="上届", starts_on=date(YEAR - 1, 4, 1))
    expo = Event(kind=EventKind.EXPO, title="电机展", starts_on=date(YEAR, 9, 1))
    db.session.add_all([contest, old_contest, expo])
    db.session.flush()
    db.session.add_all(
        [
            EventParticipant(event_id=expo.id, enterprise_id=e1.id),
            EventParticipant(event_id=expo.id, enterprise_id=e2.id),
            EventParticipant(event_id=expo.id, researcher_id=researcher.id),
        ]
    )
    target = Target(year=YEAR, metric="new_hitech_national", value=Decimal(3))
    target.shares = [
        TargetShare(department_id=a.id, value=Decimal(2)),
        TargetShare(department_id=b.id, value=Decimal(1)),
    ]
    db.session.add(target)
    db.session.commit()
    return {"a": a, "b": b, "e1": e1, "e2": e2}


EXPECTED = {  # overall, department A, department B
    "new_hitech_national": (2, 1, 1),
    "new_tech_sme_provincial": (1, 0, 1),
    "rnd_ratio": (Decimal("1.50"), Decimal("3.00"), Decimal("1.00")),
    "hitech_share": (Decimal("20.00"), Decimal("40.00"), Decimal("0.00")),
    "joint_innovation_carriers": (1, 1, 0),
    "achievements_introduced": (2, 1, 1),
    "joint_rnd_products": (1, 1, 0),
    "design_contest_held": (1, 0, 0),
    "motor_expo_booths": (2, 1, 1),
    "new_rnd_center_provincial": (0, 0, 0),
}


def test_every_actual_is_counted_from_the_records(bureau):
    for department, column in ((None, 0), (bureau["a"].id, 1), (bureau["b"].id, 2)):
        rows = {r.metric.code: r for r in services.overview(YEAR, department).rows}
        for code, counts in EXPECTED.items():
            assert rows[code].actual == Decimal(counts[column]), (code, department)
        # every metric is counted from records (tests/test_targets_records.py: the registers)
        assert all(r.source and r.actual is not None for r in rows.values())


def test_targets_and_department_shares_give_the_progress(bureau):
    overall = {r.metric.code: r for r in services.overview(YEAR).rows}
    assert (
        overall["new_hitech_national"].target == 3 and overall["new_hitech_national"].percent == 67
    )
    mine = {r.metric.code: r for r in services.overview(YEAR, bureau["a"].id).rows}
    assert mine["new_hitech_national"].target == 2 and mine["new_hitech_national"].percent == 50
    assert mine["rnd_ratio"].target is None and mine["rnd_ratio"].percent is None


def test_the_drill_down_lists_the_records_that_count(bureau, client, make_user):
    items = services.records_behind("new_hitech_national", YEAR)
    assert [(i.title, i.on) for i in items] == [
        ("甲公司", date(YEAR, 3, 1)),
        ("乙公司", date(YEAR, 12, 31)),
    ]
    AuthActions(client).login(make_user().username)
    page = client.get(f"/targets?year={YEAR}").get_data(as_text=True)
    assert (
        "暂无可统计的记录来源" not in page and f"/targets/new_hitech_national?year={YEAR}" in page
    )
    drill = client.get(
        f"/targets/achievements_introduced?year={YEAR}&department_id={bureau['b'].id}"
    )
    html = drill.get_data(as_text=True)
    assert drill.status_code == 200 and "乙公司技术许可签约" in html and "甲公司" not in html
    assert client.get("/targets/no_such_metric").status_code == 404


def test_an_admin_sets_and_splits_targets_and_a_stale_form_is_refused(bureau, client, make_user):
    from crm.auth.models import Role
    from tests.conftest import csrf_token

    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    page = client.get(f"/targets/edit?year={YEAR}").get_data(as_text=True)
    seen = setting.fingerprint(YEAR)
    assert f'value="{seen}"' in page
    token = csrf_token(client, f"/targets/edit?year={YEAR}")
    a, b = bureau["a"].id, bureau["b"].id
    too_much = {
        "csrf_token": token,
        "seen": seen,
        "t-new_tech_sme_provincial": "10",
        f"s-new_tech_sme_provincial-{a}": "6",
        f"s-new_tech_sme_provincial-{b}": "5",
    }
    refused = client.post(f"/targets/edit?year={YEAR}", data=too_much)
    assert refused.status_code == 400 and "合计 11 超过了总目标 10" in refused.get_data(
        as_text=True
    )
    assert setting.fingerprint(YEAR) == seen  # nothing written
    fine = {
        **too_much,
        f"s-new_tech_sme_provincial-{b}": "4",
        "t-rnd_ratio": "2",
        "t-new_hitech_national": "",  # removes it with its split
    }
    assert client.post(f"/targets/edit?year={YEAR}", data=fine).status_code == 302
    rows = {r.metric.code: r for r in services.overview(YEAR, b).rows}
    assert (
        rows["new_tech_sme_provincial"].target == 4
        and rows["new_tech_sme_provincial"].percent == 25
    )
    overall = {r.metric.code: r for r in services.overview(YEAR).rows}
    assert overall["rnd_ratio"].target == 2 and overall["new_hitech_national"].target is None
    stale = client.post(f"/targets/edit?year={YEAR}", data={**fine, "t-rnd_ratio": "3"})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    assert {r.metric.code: r for r in services.overview(YEAR).rows}["rnd_ratio"].target == 2
    AuthActions(client).logout()
    AuthActions(client).login(make_user().username)
    assert client.get(f"/targets/edit?year={YEAR}").status_code == 403


def test_the_report_leadership_receives(bureau, runner, make_user, tmp_path):
    from openpyxl import load_workbook

    from crm.audit.models import AuditEntry
    from crm.auth.models import Role

    admin = make_user(role=Role.ADMIN)
    out = tmp_path / "report.xlsx"
    result = runner.invoke(
        args=["report", "--year", str(YEAR), "-o", str(out), "--user", admin.username]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["目标完成", "分科室", "新增合作", "走访与需求", "需求清单"]
    sheet = book["目标完成"]
    assert sheet["A2"].value == "指标" and sheet["A2"].font.bold and sheet.freeze_panes == "B3"
    assert sheet.print_title_rows == "$2:$2" and sheet.page_setup.orientation == "landscape"
    assert sheet.column_dimensions["A"].width == 44
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    hitech = rows["新增国家级高新技术企业"]
    assert hitech[2:4] == (3, 2) and hitech[4] == pytest.approx(2 / 3)  # shown 66.7%
    assert sheet["E3"].number_format == "0.0%"
    assert rows["新上省级以上科技项目"][5].startswith("当年立项")  # 计入规则
    split = [r for r in book["分科室"].iter_rows(min_row=3, values_only=True)]
    assert ("测试科A", "新增国家级高新技术企业", "家", 2, 1, 0.5) in split
    signed = list(book["新增合作"].iter_rows(min_row=3, values_only=True))
    assert len(signed) == 5  # signed in the year: the terminated one too, marked
    assert any("（已终止）" in (r[6] or "") for r in signed)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.table_name == "report")).one()
    assert entry.user_id == admin.id and entry.changes["filters"][1] == f"{YEAR} 年"
    monthly = tmp_path / "may.xlsx"
    runner.invoke(args=["report", "--year", str(YEAR), "--month", "5", "-o", str(monthly)])
    may = list(load_workbook(monthly)["新增合作"].iter_rows(min_row=3, values_only=True))
    assert [r[1] for r in may] == ["甲公司共建研发机构签约2025-05-01"]


def test_the_departments_in_one_pass_agree_with_each_department_alone(bureau):
    together = services.department_progress(YEAR)
    for department in (bureau["a"], bureau["b"]):
        alone = [r for r in services.overview(YEAR, department.id).rows if r.target is not None]
        assert [(p.metric.code, p.target, p.actual) for p in together[department.id]] == [
            (r.metric.code, r.target, r.actual) for r in alone
        ]
    for code, rule in rules.RULES.items():
        if rule.by_department is not None and code != "design_contest_held":
            grouped = rule.by_department(YEAR)
            for department, column in ((bureau["a"], 1), (bureau["b"], 2)):
                if code in EXPECTED:
                    assert grouped.get(department.id, 0) == Decimal(EXPECTED[code][column]), code


def test_the_dashboards_single_pass_agrees_with_each_rule_asked_alone(bureau, make_enterprise):
    nobodys = make_enterprise(name="未分科室公司")  # counts for the bureau, no department
    db.session.add(
        Recognition(
            enterprise_id=nobodys.id,
            kind=RecognitionKind.HITECH_NATIONAL,
            granted_on=date(YEAR, 5, 1),
        )
    )
    db.session.add(
        EnterpriseYear(
            enterprise_id=nobodys.id,
            year=YEAR,
            above_scale=True,
            revenue=Decimal(1000),
            rnd_spend=Decimal(500),
            industrial_output=Decimal(10),
            hitech_output=Decimal(10),
        )
    )
    db.session.flush()
    known = services.actuals(YEAR)
    assert known.overall["new_hitech_national"] == Decimal(EXPECTED["new_hitech_national"][0] + 1)
    for code, rule in rules.RULES.items():
        alone = rule.actual(YEAR, None) if rule.actual else None
        assert known.overall[code] == alone, code
        if rule.by_department is not None:
            assert known.by_department[code] == rule.by_department(YEAR), code
    assert services.department_progress(YEAR, known) == services.department_progress(YEAR)
    assert services.overview(YEAR, known=known) == services.overview(YEAR)
