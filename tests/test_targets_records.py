"""The three targets counted from the registers — 新上省级以上科技项目, 引进高等院校和技术转移中心
创办分支, 科技成果引进后直接创办企业 — on a fixture where every count is known, overall and per
department, with the records that must not count beside those that do."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import Department, Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Achievement, Branch, BranchKind, Institution, InstitutionKind
from crm.projects.models import Level, Programme, Project, ProjectStage
from crm.targets import rules, services
from tests.conftest import AuthActions

YEAR = 2024
GONE = datetime(YEAR, 12, 1, tzinfo=UTC)
CODES = ("provincial_projects", "institution_branches", "achievements_new_company")


@pytest.fixture
def registers(make_enterprise):
    a, b = Department(name="登记科A"), Department(name="登记科B")
    db.session.add_all([a, b])
    db.session.flush()
    ea = make_enterprise(name="甲承担公司", department_id=a.id)
    eb = make_enterprise(name="乙承担公司", department_id=b.id)
    nobodys = make_enterprise(name="未分科室公司")  # counts for the bureau only
    gone = make_enterprise(name="已删承担公司", department_id=a.id, deleted_at=GONE)
    programme = Programme(name="登记测试计划", level=Level.PROVINCIAL)
    db.session.add(programme)
    db.session.flush()

    numbers = iter(range(1, 100))

    def project(ent, title, level, stage, approved_on, **extra):
        number = f"T{YEAR}-{next(numbers):03d}" if approved_on else None
        ended = stage in (ProjectStage.REJECTED, ProjectStage.TERMINATED)
        db.session.add(
            Project(
                title=title,
                enterprise_id=ent.id,
                programme_id=programme.id,
                level=level,
                year=YEAR,
                stage=stage,
                number=number,
                approved_on=approved_on,
                end_reason="原因" if ended else None,
                **extra,
            )
        )

    P, N, S = Level.PROVINCIAL, Level.NATIONAL, ProjectStage
    project(ea, "甲省级立项", P, S.APPROVED, date(YEAR, 3, 1))  # counts (A)
    project(ea, "甲国家级立项后终止", N, S.TERMINATED, date(YEAR, 4, 1))  # still 新上 (A)
    project(eb, "乙国家级已验收", N, S.ACCEPTED, date(YEAR, 5, 1))  # counts (B)
    project(nobodys, "无科室省级中期", P, S.MIDTERM, date(YEAR, 7, 1))  # the bureau only
    project(eb, "乙绍兴市级", Level.SHAOXING, S.APPROVED, date(YEAR, 6, 1))  # wrong level
    project(eb, "乙嵊州市级", Level.COUNTY, S.APPROVED, date(YEAR, 6, 2))  # wrong level
    project(ea, "甲未立项", P, S.REJECTED, date(YEAR, 6, 3))  # a stray date: never approved
    project(ea, "甲申报中", P, S.APPLYING, None)
    project(ea, "甲去年立项", P, S.APPROVED, date(YEAR - 1, 12, 31))  # another year
    project(ea, "甲明年立项", P, S.APPROVED, date(YEAR + 1, 1, 1))
    project(eb, "乙已删项目", P, S.APPROVED, date(YEAR, 8, 1), deleted_at=GONE)
    project(gone, "已删企业的项目", P, S.APPROVED, date(YEAR, 8, 2))

    inst = Institution(name="登记测试大学", kind=InstitutionKind.UNIVERSITY)
    closed = Institution(name="已删研究院", kind=InstitutionKind.RESEARCH_INSTITUTE)
    closed.deleted_at = GONE
    db.session.add_all([inst, closed])
    db.session.flush()

    def branch(name, on, host=None, place=None, owner=inst, **extra):
        db.session.add(
            Branch(
                name=name,
                kind=BranchKind.LAB,
                institution_id=owner.id,
                host_enterprise_id=host.id if host else None,
                host_place=place,
                established_on=on,
                **extra,
            )
        )

    branch("甲联合实验室", date(YEAR, 2, 1), host=ea)  # counts (A)
    branch("乙工作站", date(YEAR, 9, 30), host=eb)  # counts (B)
    branch("开发区分中心", date(YEAR, 5, 5), place="经济开发区")  # the bureau only
    branch("无科室企业实验室", date(YEAR, 6, 6), host=nobodys)  # the bureau only
    branch("甲去年实验室", date(YEAR - 1, 12, 31), host=ea)  # another year
    branch("甲已删实验室", date(YEAR, 3, 3), host=ea, deleted_at=GONE)
    branch("已删院所的工作站", date(YEAR, 4, 4), host=eb, owner=closed)
    branch("已删企业的实验室", date(YEAR, 4, 5), host=gone)

    one, two = Achievement(title="登记成果一"), Achievement(title="登记成果二")
    withdrawn = Achievement(title="已删成果", deleted_at=GONE)
    db.session.add_all([one, two, withdrawn])
    db.session.flush()

    def founded(name, on, achievements, department=None, **extra):
        return make_enterprise(
            name=name,
            founded_on=on,
            founding_achievements=achievements,
            department_id=department.id if department else None,
            **extra,
        )

    f1 = founded("甲成果公司", date(YEAR, 3, 3), [one, two], a)  # counts once (A)
    f2 = founded("乙成果公司", date(YEAR, 8, 8), [one], b)  # counts (B)
    founded("无科室成果公司", date(YEAR, 10, 1), [two])  # the bureau only
    founded("甲无成果新公司", date(YEAR, 4, 1), [], a)  # founded, on no achievement
    founded("甲去年成果公司", date(YEAR - 1, 6, 1), [one], a)  # another year
    founded("乙成果已删公司", date(YEAR, 5, 1), [withdrawn], b)  # its achievement deleted
    founded("甲已删成果公司", date(YEAR, 5, 2), [one], a, deleted_at=GONE)
    db.session.commit()
    return {"a": a, "b": b, "inst": inst, "ea": ea, "f1": f1, "f2": f2}


EXPECTED = {  # overall, department A, department B
    "provincial_projects": (4, 2, 1),
    "institution_branches": (4, 1, 1),
    "achievements_new_company": (3, 1, 1),
}


def test_each_register_is_counted_overall_and_per_department(registers):
    a, b = registers["a"].id, registers["b"].id
    for department, column in ((None, 0), (a, 1), (b, 2)):
        rows = {r.metric.code: r for r in services.overview(YEAR, department).rows}
        for code, counts in EXPECTED.items():
            assert rows[code].actual == Decimal(counts[column]), (code, department)
            assert rows[code].source, code
    for code, (overall, in_a, in_b) in EXPECTED.items():
        rule = rules.RULES[code]
        # the grouped query: a record of no department (a park's branch) is in the whole only
        assert rule.totals(YEAR) == (Decimal(overall), {a: Decimal(in_a), b: Decimal(in_b)})
        assert rule.by_department(YEAR) == {a: Decimal(in_a), b: Decimal(in_b)}
        assert len(rule.items(YEAR, None)) == overall
        assert len(rule.items(YEAR, a)) == in_a and len(rule.items(YEAR, b)) == in_b
    known = services.actuals(YEAR)
    assert {c: known.overall[c] for c in CODES} == {c: Decimal(v[0]) for c, v in EXPECTED.items()}


def test_the_years_around_count_their_own(registers):
    assert rules.RULES["provincial_projects"].actual(YEAR - 1, None) == 1
    assert rules.RULES["provincial_projects"].actual(YEAR + 1, None) == 1
    assert rules.RULES["institution_branches"].actual(YEAR - 1, registers["a"].id) == 1
    assert rules.RULES["achievements_new_company"].actual(YEAR - 1, None) == 1


def test_the_drill_down_names_each_record_and_links_to_it(registers, client, make_user):
    projects = rules.RULES["provincial_projects"].items(YEAR, None)
    assert [p.title for p in projects] == [
        "甲省级立项",
        "甲国家级立项后终止",
        "乙国家级已验收",
        "无科室省级中期",
    ]
    assert projects[1].kind == "project" and "国家级 · 终止" in projects[1].detail
    branches = rules.RULES["institution_branches"].items(YEAR, None)
    assert [(i.title, i.on) for i in branches][:2] == [
        ("甲联合实验室", date(YEAR, 2, 1)),
        ("开发区分中心", date(YEAR, 5, 5)),
    ]
    assert "经济开发区" in branches[1].detail and "登记测试大学" in branches[1].detail
    firms = rules.RULES["achievements_new_company"].items(YEAR, registers["a"].id)
    assert [(f.kind, f.id, f.detail) for f in firms] == [
        ("enterprise", registers["f1"].id, "依托成果：登记成果一、登记成果二")
    ]

    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    page = client.get(f"/targets/institution_branches?year={YEAR}").get_data(as_text=True)
    branch = db.session.scalars(sa.select(Branch).where(Branch.name == "甲联合实验室")).one()
    inst = registers["inst"].id
    assert f'href="/institutions/{inst}#branch-{branch.id}">甲联合实验室</a>' in page
    assert f'id="branch-{branch.id}"' in client.get(f"/institutions/{inst}").get_data(as_text=True)
    founded = client.get(
        f"/targets/achievements_new_company?year={YEAR}&department_id={registers['b'].id}"
    ).get_data(as_text=True)
    assert f'href="/enterprises/{registers["f2"].id}">乙成果公司</a>' in founded
    assert "甲成果公司" not in founded
    projects_page = client.get(f"/targets/provincial_projects?year={YEAR}").get_data(as_text=True)
    assert "甲国家级立项后终止" in projects_page and "乙绍兴市级" not in projects_page
    assert "立项后又终止的仍计为当年新上" in projects_page


def test_no_target_says_it_has_no_records_to_count(registers, client, make_user, runner, tmp_path):
    from openpyxl import load_workbook

    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    for path in (
        f"/targets?year={YEAR}",
        f"/targets?year={YEAR}&department_id={registers['a'].id}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "暂无可统计的记录来源" not in page
        for code in CODES:
            assert f"/targets/{code}?year={YEAR}" in page, code
    dashboard = client.get(f"/dashboard?year={YEAR}")
    assert dashboard.status_code == 200
    assert "暂无可统计的记录来源" not in dashboard.get_data(as_text=True)
    out = tmp_path / "report.xlsx"
    admin = make_user(role=Role.ADMIN).username
    result = runner.invoke(args=["report", "--year", str(YEAR), "-o", str(out), "--user", admin])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out)["目标完成"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["新上省级以上科技项目"][3] == 4
    assert rows["引进高等院校和技术转移中心创办分支"][3] == 4
    assert rows["科技成果引进后直接创办企业"][3] == 3
    assert all(r[5] != "暂无可统计的记录来源" for r in rows.values())


def test_a_firm_founded_on_two_achievements_counts_once(registers):
    extra = Achievement(title="第三项成果")
    db.session.add(extra)
    registers["f1"].founding_achievements.append(extra)
    db.session.commit()
    assert rules.RULES["achievements_new_company"].actual(YEAR, registers["a"].id) == 1
    assert db.session.get(Enterprise, registers["f1"].id).founding_achievements
