"""Published project lists (立项名单 / 验收名单) as the province and the city publish them: a
merged title, a subtitle, every county's rows, 合计 and 注： footers. The preview links each
row's firm; a commit moves or registers the projects; a second import changes nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from crm.auth.models import Role
from crm.enterprises.models import EnterpriseAlias
from crm.extensions import db
from crm.imports import services
from crm.imports.importers.projects import ProjectListImporter
from crm.imports.models import ImportBatch, ImportUpload
from crm.imports.outcome import Options, options_from_json, options_json
from crm.imports.published import period
from crm.imports.table import ImportFileError
from crm.projects import services as projects
from crm.projects.models import Level, Programme, Project, ProjectStage, ProjectStageChange
from tests.conftest import AuthActions, csrf_token
from tests.imports.helpers import valid_uscc
from tests.imports.test_views import TOKEN
from tests.pages import form_to

TODAY = date(2026, 3, 20)
PROVINCE_TITLE = "2026年度浙江省重点研发计划项目立项名单"
HEADER = [
    "序号",
    "项目编号",
    "项目名称",
    "承担单位",
    "所在地区",
    "项目负责人",
    "省财政补助（万元）",
    "起止年限",
]
JINCHENG_USCC = valid_uscc("91330683MA2BX0001")


def workbook(
    path: Path, title: str | None, header: list[str], rows: list[list[Any]], subtitle: str | None
) -> Path:
    """A list as the province publishes it: a title merged across the table, a subtitle, the
    header, the rows, a 合计 row and a merged 注： line."""
    wb = Workbook()
    ws = wb.active
    width = len(header)
    last = chr(ord("A") + width - 1)
    at = 1
    if title:
        ws.append([title])
        ws.merge_cells(f"A{at}:{last}{at}")
        at += 1
    if subtitle:
        ws.append([subtitle])
        ws.merge_cells(f"A{at}:{last}{at}")
        at += 1
    ws.append(header)
    for row in rows:
        ws.append(row)
    money = (
        header.index(next(h for h in header if "万元" in h))
        if any("万元" in h for h in header)
        else None
    )
    total = ["合计"] + [None] * (width - 1)
    if money is not None:
        total[money] = 1000
    ws.append(total)
    ws.append(["注：1.本名单按设区市排序；2.财政补助分年度下达。"])
    end = ws.max_row
    ws.merge_cells(f"A{end}:{last}{end}")
    wb.save(path)
    return path


#: the province's 立项名单: rows 4–9 (title row 1, subtitle 2, header 3)
PROVINCE_ROWS = [
    [
        1,
        "2026C01001",
        "高效永磁同步电机关键技术研发",
        "浙江越丰电机有限公司",
        "绍兴市嵊州市",
        "王建国",
        300,
        "2026.01-2027.12",
    ],
    [
        2,
        "2026C01002",
        "真丝领带智能提花织造技术研发及产业化",
        "嵊州市锦程领带有限公司",
        "嵊州市",
        "李  梅",
        "200",
        "2026-2027",
    ],
    [
        3,
        "2026C01003",
        "城市大脑数据治理平台",
        "杭州某某科技有限公司",
        "杭州市西湖区",
        "张三",
        500,
        "2026-2028",
    ],
    [
        4,
        "2026C01004",
        "海洋装备防腐涂层",
        "宁波某某新材料有限公司",
        "宁波市鄞州区",
        "李四",
        400,
        "2026-2028",
    ],
    [
        5,
        "2026C01005",
        "纺织印染废水回用",
        "绍兴某某印染有限公司",
        "绍兴市柯桥区",
        "王五",
        300,
        "2026-2027",
    ],
    [6, 2026001, "集成灶高效燃烧技术", "浙江东方厨具有限公司", "嵊州市", "赵六", 100, "2026-2027"],
]


@pytest.fixture
def setting(app, clock, make_user, make_enterprise):
    """The admins' programmes, our firms (one with a project at 申报) and an officer."""
    clock.set(TODAY)
    province = Programme(name="浙江省重点研发计划", level=Level.PROVINCIAL)
    city = Programme(name="绍兴市科技计划", level=Level.SHAOXING)
    db.session.add_all([province, city])
    db.session.commit()
    admin = make_user(role=Role.ADMIN)
    owner = make_user(department="高新技术科")
    yuefeng = make_enterprise(
        name="越丰电机（嵊州）有限公司", owner_id=owner.id, department_id=owner.department_id
    )
    jincheng = make_enterprise(name="嵊州市锦程领带有限公司", uscc=JINCHENG_USCC)
    applying = projects.create(
        admin,
        jincheng,
        projects.ProjectData(
            title="真丝领带智能提花织造技术研发",
            programme_id=province.id,
            applied_on=TODAY - timedelta(days=60),
        ),
    )
    db.session.commit()
    return {
        "admin": admin,
        "owner": owner,
        "province": province,
        "city": city,
        "yuefeng": yuefeng,
        "jincheng": jincheng,
        "applying": applying,
    }


def run(user, path: Path, options: Options | None = None, dry_run: bool = False):
    report = services.run_import(user, path, path.name, options or Options(), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def province_list(tmp_path: Path, name: str = "立项名单.xlsx") -> Path:
    return workbook(tmp_path / name, PROVINCE_TITLE, HEADER, PROVINCE_ROWS, "（第一批）")


def project(number: str) -> Project | None:
    return db.session.scalar(sa.select(Project).where(Project.number == number))


def messages(report, level: str | None = None) -> list[str]:
    return [i.message for i in report.issues if level is None or i.level == level]


def errors_by_row(report) -> dict[int | None, list[str]]:
    found: dict[int | None, list[str]] = {}
    for issue in report.errors:
        found.setdefault(issue.row, []).append(issue.message)
    return found


# ---- the whole flow through the upload page --------------------------------------------------


def test_the_preview_links_each_row_and_the_commit_records_the_list(app, client, tmp_path, setting):
    AuthActions(client).login(setting["admin"].username)
    data = province_list(tmp_path).read_bytes()
    response = client.post(
        "/imports/preview",
        data={
            "csrf_token": csrf_token(client, "/imports/"),
            "kind": "",
            "list_stage": "",
            "programme_id": "",
            "listed_on": "",
            "file": (io.BytesIO(data), "浙江省立项名单.xlsx"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "导入预览：科技项目名单（立项、验收）" in html  # the kind, from the headers
    # each row says which firm it was linked to, and how the list wrote it
    assert "越丰电机（嵊州）有限公司：高效永磁同步电机关键技术研发" in html
    assert "表中写作“浙江越丰电机有限公司”" in html
    assert "申报 → 立项" in html and "登记为立项" in html
    assert "其他县（市、区）的 3 行已跳过" in html and "杭州市西湖区 1 行" in html
    assert "企业库中没有“浙江东方厨具有限公司”" in html
    assert "这是立项名单" in html and "按标题“浙江省重点研发计划”" in html
    assert project("2026C01001") is None  # a preview writes nothing
    assert db.session.get(Project, setting["applying"].id).stage == ProjectStage.APPLYING

    confirm = form_to(html, "http://localhost/imports/preview", "/imports/commit")
    assert confirm.data()["kind"] == "project_lists"
    response = client.post("/imports/commit", data=confirm.data(action="commit"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    batch = db.session.scalars(sa.select(ImportBatch)).one()
    assert batch.kind == "project_lists"
    assert batch.counts["created"] == 1 and batch.counts["updated"] == 1
    assert batch.counts["elsewhere"] == 3 and batch.counts["errors"] == 1

    new = project("2026C01001")
    assert new.enterprise_id == setting["yuefeng"].id  # linked, not a new firm
    assert new.stage == ProjectStage.APPROVED and new.approved_on == TODAY
    assert new.programme_id == setting["province"].id and new.level == Level.PROVINCIAL
    assert new.grant_amount == Decimal("3000000.00") and new.year == 2026
    assert (new.starts_on, new.ends_on) == (date(2026, 1, 1), date(2027, 12, 31))
    assert new.officer_id == setting["owner"].id  # the firm's officer follows it
    assert "项目负责人：王建国" in new.notes
    [entry] = new.history
    assert entry.from_stage is None and entry.to_stage == ProjectStage.APPROVED
    assert entry.note == f"据“{PROVINCE_TITLE}”登记立项"

    moved = db.session.get(Project, setting["applying"].id)
    assert moved.number == "2026C01002" and moved.stage == ProjectStage.APPROVED
    assert moved.grant_amount == Decimal("2000000.00")  # “200” typed as text
    assert moved.approved_on == TODAY and "李梅" in moved.notes
    assert [(h.from_stage, h.to_stage) for h in moved.history] == [
        (None, ProjectStage.APPLYING),
        (ProjectStage.APPLYING, ProjectStage.APPROVED),
    ]
    # no firm was created for the rows of other counties or the unknown one
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 2


def test_the_preview_settings_choose_the_programme_and_the_date(app, client, tmp_path, setting):
    AuthActions(client).login(setting["admin"].username)
    data = province_list(tmp_path).read_bytes()
    html = client.post(
        "/imports/preview",
        data={"csrf_token": csrf_token(client, "/imports/"), "file": (io.BytesIO(data), "l.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    settings = form_to(html, "http://localhost/imports/preview", "/imports/commit")
    assert {"list_stage", "programme_id", "listed_on"} <= set(settings.data())
    assert f"立项日期：{TODAY.isoformat()}（今天" in html
    # a date past today is shown with its error, and not used
    future = (TODAY + timedelta(days=1)).isoformat()
    response = client.post(
        "/imports/commit", data=settings.data(listed_on=future, action="preview")
    )
    assert response.status_code == 400
    assert "名单日期不能晚于今天" in response.get_data(as_text=True)
    chosen = {
        "programme_id": str(setting["city"].id),
        "listed_on": "2026-03-02",
        "list_stage": "approved",
    }
    response = client.post("/imports/commit", data=settings.data(**chosen, action="preview"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "您选择的“绍兴市科技计划”" in html and "立项日期：2026-03-02。" in html
    confirm = form_to(html, "http://localhost/imports/commit", "/imports/commit")
    assert confirm.data()["listed_on"] == "2026-03-02"
    response = client.post("/imports/commit", data=confirm.data(action="commit"))
    assert response.status_code == 302
    db.session.expire_all()
    made = project("2026C01001")
    assert made.programme_id == setting["city"].id and made.approved_on == date(2026, 3, 2)
    # the officer's choice wins over the title: the project at 申报 in the province's programme
    # is not this list's, so its number is registered as a project of its own
    assert project("2026C01002").id != setting["applying"].id


def test_importing_the_same_list_again_changes_nothing_and_says_so(tmp_path, setting):
    admin = setting["admin"]
    first = run(admin, province_list(tmp_path))
    assert (first.counts["created"], first.counts["updated"]) == (1, 1)
    before = sorted(
        (p.id, p.stage, p.number, p.grant_amount, p.version)
        for p in db.session.scalars(sa.select(Project))
    )
    changes = db.session.scalar(sa.select(sa.func.count(ProjectStageChange.id)))
    # the same list downloaded again: another file, the same content
    again = run(admin, province_list(tmp_path, "立项名单（再次下载）.xlsx"))
    assert again.counts["created"] == 0 and again.counts["updated"] == 0
    assert again.counts["unchanged"] == 2
    assert any("没有新增或更新" in m for m in messages(again, "note"))
    assert [o.detail for o in again.outcomes if o.outcome == "unchanged"] == [
        "表中写作“浙江越丰电机有限公司”；已是“立项”",
        "已是“立项”",
    ]
    db.session.expire_all()
    after = sorted(
        (p.id, p.stage, p.number, p.grant_amount, p.version)
        for p in db.session.scalars(sa.select(Project))
    )
    assert after == before
    assert db.session.scalar(sa.select(sa.func.count(ProjectStageChange.id))) == changes


ACCEPTANCE_HEADER = ["序号", "项目编号", "项目名称", "承担单位", "县（市、区）", "验收结论"]


def test_the_acceptance_list_after_the_approval_list(tmp_path, clock, setting):
    admin = setting["admin"]
    run(admin, province_list(tmp_path))
    later = TODAY + timedelta(days=400)
    clock.set(later)
    jincheng = setting["jincheng"]
    other = projects.create(
        admin,
        jincheng,
        projects.ProjectData(title="领带面料抗皱整理工艺", programme_id=setting["province"].id),
    )
    db.session.commit()
    rows = [
        [
            1,
            "2026C01001",
            "高效永磁同步电机关键技术研发",
            "越丰电机（嵊州）有限公司",
            "嵊州市",
            "通过",
        ],
        [
            2,
            "2026C01002",
            "真丝领带智能提花织造技术研发及产业化",
            "嵊州市锦程领带有限公司",
            "嵊州市",
            "不通过",
        ],
        [3, None, "领带面料抗皱整理工艺", "嵊州市锦程领带有限公司", "嵊州市", "通过"],
        [4, "2024C09999", "电机噪声控制", "越丰电机（嵊州）有限公司", "嵊州市", "通过"],
        [5, "2024C01777", "黄酒酿造智能化", "绍兴某某酒业有限公司", "越城区", "通过"],
        [
            6,
            "2026C01001",
            "高效永磁同步电机关键技术研发",
            "越丰电机（嵊州）有限公司",
            "嵊州市",
            "优秀",
        ],
    ]
    path = workbook(
        tmp_path / "验收.xlsx",
        "2027年度浙江省重点研发计划项目验收结果",
        ACCEPTANCE_HEADER,
        rows,
        "（按设区市排序）",
    )
    report = run(admin, path, Options(listed_on=later - timedelta(days=5)))
    assert any("这是验收名单" in m for m in messages(report, "note"))
    accepted = project("2026C01001")
    assert accepted.stage == ProjectStage.ACCEPTED
    assert accepted.stage_changed_on == later - timedelta(days=5)
    assert accepted.history[-1].from_stage == ProjectStage.APPROVED  # 中期检查 passed over
    failed = project("2026C01002")
    assert failed.stage == ProjectStage.APPROVED  # 不通过: not accepted
    assert any("验收结论为“不通过”" in m for m in messages(report, "warning"))
    assert db.session.get(Project, other.id).stage == ProjectStage.APPLYING
    errors = errors_by_row(report)
    assert "还没有立项记录" in errors[6][0]  # found by firm and title, never approved
    assert "找不到这个项目" in errors[7][0] and "2024C09999" in errors[7][0]
    assert set(errors) == {6, 7}
    assert "与第 4 行重复" in report.outcomes[-1].detail
    assert report.counts["updated"] == 1 and report.counts["elsewhere"] == 1


def test_rows_with_problems_are_reported_by_row_and_the_others_imported(tmp_path, setting):
    admin = setting["admin"]
    # 2026C09000 belongs to another firm's project already
    taken = projects.create(
        admin,
        setting["yuefeng"],
        projects.ProjectData(
            title="电机控制器", programme_id=setting["province"].id, number="2026C09000"
        ),
    )
    db.session.commit()
    rows = [
        [1, "2026C01010", None, "越丰电机（嵊州）有限公司", "嵊州市", None, 50, "2026-2027"],
        [
            2,
            "2026C01011",
            "领带数码印花",
            "嵊州市锦程领带有限公司",
            "嵊州市",
            None,
            "约50",
            "2026-2027",
        ],
        [
            3,
            "2026C09000",
            "领带智能仓储",
            "嵊州市锦程领带有限公司",
            "嵊州市",
            None,
            30,
            "2026-2027",
        ],
        [4, None, "领带色彩管理", "嵊州市锦程领带有限公司", "嵊州市", None, 30, "2026-2027"],
        [
            5,
            "2026C01012",
            "电机绕组自动化",
            "越丰电机（嵊州）有限公司",
            "嵊州市",
            None,
            "80.5",
            "两年",
        ],
    ]
    report = run(admin, workbook(tmp_path / "l.xlsx", PROVINCE_TITLE, HEADER, rows, None))
    errors = errors_by_row(report)
    assert set(errors) == {3, 4, 5, 6}  # title row 1, header 2, data from row 3
    assert errors[3] == ["项目名称不能为空。"]
    assert errors[4] == ["省财政补助（万元）“约50”不是以万元计的数字。"]
    assert "已是“越丰电机（嵊州）有限公司”的项目“电机控制器”的编号" in errors[5][0]
    assert errors[6] == ["立项名单的这一行没有项目编号。"]
    kept = project("2026C01012")  # the good row went in, its odd period kept as a note
    assert kept.grant_amount == Decimal("805000.00") and kept.starts_on is None
    assert "起止年限：两年" in kept.notes
    assert any("起止年限“两年”看不懂" in m for m in messages(report, "warning"))
    assert db.session.get(Project, taken.id).enterprise_id == setting["yuefeng"].id


def test_an_unknown_programme_is_named_and_never_created(tmp_path, setting):
    admin = setting["admin"]
    path = workbook(
        tmp_path / "尖兵.xlsx",
        "2026年度浙江省尖兵研发攻关计划项目立项名单",
        HEADER,
        PROVINCE_ROWS[:1],
        None,
    )
    programmes = db.session.scalar(sa.select(sa.func.count(Programme.id)))
    with pytest.raises(ImportFileError) as caught:
        run(admin, path)
    assert "“浙江省尖兵研发攻关计划”不在科技计划列表中" in caught.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Programme.id))) == programmes
    # the officer chooses the programme on the upload form: imported
    report = run(admin, path, Options(programme_id=setting["province"].id))
    assert report.counts["created"] == 1
    assert project("2026C01001").programme_id == setting["province"].id


CITY_HEADER = [
    "序号",
    "项目编号",
    "项目名称",
    "项目承担单位",
    "县（市、区）",
    "项目类别",
    "资助经费（万元）",
    "起止年限",
]


def test_a_city_notice_with_a_category_column(tmp_path, setting):
    """关于下达…的通知 附件1: 立项 from the title; each row's programme from 项目类别, an unknown
    category under a title that names no programme is the row's error, naming it."""
    admin = setting["admin"]
    db.session.add(Programme(name="绍兴市重点研发计划（农业）", level=Level.SHAOXING))
    db.session.commit()
    rows = [
        [
            1,
            "SX2026N01",
            "茶叶精深加工",
            "越丰电机（嵊州）有限公司",
            "嵊州市",
            "绍兴市重点研发计划(农业)",
            20,
            "2026-2027",
        ],
        [
            2,
            "SX2026S02",
            "康养社区服务",
            "嵊州市锦程领带有限公司",
            "嵊州市",
            "社会发展",
            10,
            "2026-2027",
        ],
        [3, "SX2026N03", "黄酒酿造", "绍兴某某酒业有限公司", "越城区", "社会发展", 10, "2026-2027"],
    ]
    path = workbook(
        tmp_path / "city.xlsx", "关于下达2026年绍兴市科技项目的通知 附件1", CITY_HEADER, rows, None
    )
    report = run(admin, path)
    assert project("SX2026N01").programme.name == "绍兴市重点研发计划（农业）"  # brackets differ
    errors = errors_by_row(report)
    assert list(errors) == [4]
    assert "科技计划“社会发展”不在科技计划列表中" in errors[4][0]
    assert report.counts["elsewhere"] == 1


def test_a_near_name_is_asked_and_the_answer_links_and_is_remembered(
    tmp_path, setting, make_enterprise
):
    admin = setting["admin"]
    huafa = make_enterprise(name="嵊州市华发厨房电器设备有限公司")
    written = "嵊州市华发厨房电气设备有限公司"  # one character off: asked, never guessed
    rows = [[1, "2026C01020", "集成灶智能控制", written, "嵊州市", None, 30, "2026-2027"]]
    path = workbook(tmp_path / "near.xlsx", PROVINCE_TITLE, HEADER, rows, None)
    asked = run(admin, path, dry_run=True)
    [(name, options)] = asked.questions.items()
    assert name == written and options[0][0] == huafa.id
    assert "相近，不确定是不是同一家" in errors_by_row(asked)[3][0]
    answered = run(admin, path, Options(decisions={name: huafa.id}))
    assert answered.counts["created"] == 1
    assert project("2026C01020").enterprise_id == huafa.id
    assert db.session.scalar(sa.select(EnterpriseAlias).where(EnterpriseAlias.alias == name))


def test_a_uscc_links_first_and_a_different_one_is_an_error(tmp_path, setting):
    admin = setting["admin"]
    header = [*HEADER[:4], "统一社会信用代码", *HEADER[4:]]
    other = valid_uscc("91330683MA2BX0009")
    rows = [
        [
            1,
            "2026C01030",
            "领带智能仓储",
            "锦程领带",
            JINCHENG_USCC,
            "嵊州市",
            None,
            30,
            "2026-2027",
        ],
        [
            2,
            "2026C01031",
            "领带回收",
            "嵊州市锦程领带有限公司",
            other,
            "嵊州市",
            None,
            30,
            "2026-2027",
        ],
    ]
    report = run(admin, workbook(tmp_path / "u.xlsx", PROVINCE_TITLE, header, rows, None))
    assert project("2026C01030").enterprise_id == setting["jincheng"].id
    assert "信用代码" in errors_by_row(report)[4][0]


def test_an_officer_records_only_the_firms_they_may_edit(tmp_path, setting):
    rows = [row[:] for row in PROVINCE_ROWS[:2]]
    report = run(
        setting["owner"], workbook(tmp_path / "o.xlsx", PROVINCE_TITLE, HEADER, rows, None)
    )
    assert project("2026C01001") is not None  # 越丰 is the officer's own
    assert "您无权修改" in errors_by_row(report)[4][0]  # 锦程 is not
    assert db.session.get(Project, setting["applying"].id).stage == ProjectStage.APPLYING


def test_the_list_and_date_chosen_and_a_list_nothing_says_anything_about(tmp_path, setting):
    admin = setting["admin"]
    path = workbook(tmp_path / "无标题.xlsx", None, HEADER, PROVINCE_ROWS[:1], None)
    with pytest.raises(ImportFileError) as caught:
        run(admin, path)
    assert "无法判断这是立项名单还是验收名单" in caught.value.message
    db.session.rollback()
    with pytest.raises(ImportFileError) as caught:
        run(admin, path, Options(list_stage="approved"))
    assert "无法判断这份立项名单属于哪个科技计划" in caught.value.message
    db.session.rollback()
    with pytest.raises(ImportFileError) as caught:
        run(admin, path, Options(list_stage="approved", listed_on=TODAY + timedelta(days=1)))
    assert "不能晚于今天" in caught.value.message
    db.session.rollback()
    chosen = Options(
        list_stage="approved",
        programme_id=setting["city"].id,
        listed_on=TODAY - timedelta(days=10),
    )
    assert options_from_json(options_json(chosen)) == chosen  # a job keeps them
    run(admin, path, chosen)
    made = project("2026C01001")
    assert made.programme_id == setting["city"].id and made.approved_on == chosen.listed_on
    assert made.level == Level.SHAOXING


def test_a_failed_commit_writes_nothing(app, client, tmp_path, setting, monkeypatch):
    AuthActions(client).login(setting["admin"].username)
    data = province_list(tmp_path).read_bytes()
    html = client.post(
        "/imports/preview",
        data={"csrf_token": csrf_token(client, "/imports/"), "file": (io.BytesIO(data), "l.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert TOKEN.search(html)
    confirm = form_to(html, "http://localhost/imports/preview", "/imports/commit")

    def broken(self):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ProjectListImporter, "finish", broken)  # after every row was written
    response = client.post("/imports/commit", data=confirm.data(action="commit"))
    assert response.status_code == 500
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 1  # the one at 申报
    assert db.session.get(Project, setting["applying"].id).stage == ProjectStage.APPLYING
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
    token = TOKEN.search(html).group(1)  # the upload is kept: it can be confirmed again
    assert db.session.get(ImportUpload, token) is not None


def test_the_command_line_takes_the_list_programme_and_date(app, runner, tmp_path, setting):
    path = workbook(tmp_path / "cli.xlsx", None, HEADER, PROVINCE_ROWS[:2], None)
    result = runner.invoke(
        args=[
            "import",
            str(path),
            "--list",
            "立项",
            "--programme",
            "浙江省 重点研发计划",
            "--date",
            "2026-03-02",
            "--user",
            setting["admin"].username,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "新增 1，更新 1" in result.output
    db.session.expire_all()
    assert project("2026C01001").approved_on == date(2026, 3, 2)
    result = runner.invoke(args=["import", str(path), "--programme", "没有的计划"])
    assert result.exit_code != 0 and "科技计划列表中没有“没有的计划”" in result.output


@pytest.mark.parametrize(
    ("text", "starts", "ends"),
    [
        ("2026.01-2027.12", date(2026, 1, 1), date(2027, 12, 31)),
        ("2026-2027", date(2026, 1, 1), date(2027, 12, 31)),
        ("2026年1月至2027年6月", date(2026, 1, 1), date(2027, 6, 30)),
        ("2026.1.1—2027.12.31", date(2026, 1, 1), date(2027, 12, 31)),
        ("２０２６．０３－２０２８．０２", date(2026, 3, 1), date(2028, 2, 29)),
    ],
)
def test_periods_as_lists_write_them(text, starts, ends):
    assert period(text) == (starts, ends)


def test_undoing_a_list_puts_the_stages_back_with_their_history(tmp_path, setting):
    from crm.imports.revert import revert_batch
    from crm.projects import stages

    admin, applying = setting["admin"], setting["applying"]
    run(admin, province_list(tmp_path))
    batch = db.session.scalars(sa.select(ImportBatch)).one()
    result = revert_batch(admin, batch)
    db.session.commit()
    db.session.expire_all()
    back = db.session.get(Project, applying.id)
    assert (back.stage, back.number, back.approved_on) == (ProjectStage.APPLYING, None, None)
    assert [h.to_stage for h in back.history] == [ProjectStage.APPLYING]  # the list's step gone
    assert project("2026C01001").deleted_at is not None  # registered by the list: binned
    assert result.kept == []

    # the same list again, then an officer moves the project on: undoing keeps the stage
    # with its number and date together (never a 中期检查 without a number)
    run(admin, province_list(tmp_path, "立项名单（再次）.xlsx"))
    again = db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    moved = db.session.get(Project, applying.id)
    stages.move(admin, moved, stages.Move(to=ProjectStage.MIDTERM, version=moved.version))
    db.session.commit()
    result = revert_batch(admin, again)
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(Project, applying.id)
    assert (kept.stage, kept.number) == (ProjectStage.MIDTERM, "2026C01002")
    assert f"project#{applying.id}.stage" in result.kept
