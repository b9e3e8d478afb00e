"""Offices' own files go in with no hand edits: every row with a valid key is in, with its town,
institution and industry, and every value that could not be stored is named in the report."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.enterprises.models import Contact, Enterprise, EnterpriseYear, RecognitionKind, Town
from crm.extensions import db
from crm.imports import services
from crm.imports.models import LabelAlias, LabelKind
from crm.imports.outcome import Options
from crm.institutions.models import Institution, Researcher
from crm.needs.models import Need
from crm.seed.services import load_reference
from tests.fixtures import office_files as office


@pytest.fixture
def reference(app):
    load_reference()
    db.session.commit()


def run(user, path, options=None, dry_run=False):
    report = services.run_import(user, path, path.name, options, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def live(model):
    return list(db.session.scalars(sa.select(model).where(model.deleted_at.is_(None))))


def messages(report, level=None):
    return [i.message for i in report.issues if level is None or i.level == level]


def test_above_scale_list_with_title_merged_towns_footers_and_a_hidden_sheet(
    tmp_path, make_user, reference
):
    admin = make_user(role=Role.ADMIN)
    report = run(admin, office.above_scale_list(tmp_path / "规上.xlsx"))
    assert report.kind == "enterprises"
    assert report.sheet == "规上企业" and report.where == "工作表“规上企业”第 3 行是表头"
    assert any("隐藏的工作表：2024年（旧）" in m for m in messages(report))
    assert any("第 1–2 行是标题" in m and "规模以上工业企业名单" in m for m in messages(report))
    assert report.errors == []  # nothing skipped: 合计/备注/填表人 are not firms
    assert report.counts["created"] == 12 and report.rows == 12
    footers = [i.row for i in report.issues if "合计、备注或说明行" in i.message]
    assert footers == [16, 17, 18]

    firms = {e.name: e for e in live(Enterprise)}
    assert "嵊州市旧名单企业有限公司" not in firms
    # 甘霖镇 merged down over five firms: every one of them has it
    for name, *_ in office.ABOVE_SCALE_FIRMS[:5]:
        assert firms[name].town.name == "甘霖镇", name
    assert any("【所属乡镇（街道）】有 2 处合并单元格" in m for m in messages(report))
    # industries by containment (领带 → 领带服装, 厨具 → 厨具/集成灶); unknown ones counted once
    assert [i.name for i in firms["嵊州市锦程领带服饰有限公司"].industries] == ["领带服装"]
    assert [i.name for i in firms["嵊州市丽珩厨电有限公司"].industries] == ["厨具/集成灶"]
    unknown = messages(report, "warning")
    assert any("所属行业“新材料”未识别：2 行" in m for m in unknown)
    assert any("所属乡镇“经济开发区”未识别：3 行" in m for m in unknown)
    assert "所属乡镇：经济开发区" in firms["嵊州市东升集成灶有限公司"].notes
    assert "行业：新材料" in firms["嵊州市绿硅新材料有限公司"].notes
    # phones as offices write them: the first number is the phone, the rest in the notes
    contacts = {c.enterprise.name: c for c in live(Contact)}
    assert contacts["嵊州市锦程领带服饰有限公司"].phone == "0575-83219876"
    assert contacts["嵊州市锦程领带服饰有限公司"].name == "王建"  # padded name, cleaned
    assert contacts["嵊州市华彩丝绸有限公司"].phone == "0575-83451234"
    assert contacts["嵊州市华彩丝绸有限公司"].name == "李梅"
    assert contacts["嵊州市丽珩厨电有限公司"].phone == "0575-83123456"
    assert "分机 8001" in firms["嵊州市丽珩厨电有限公司"].notes
    assert contacts["嵊州市恒远电机有限公司"].phone == "13857500007"
    assert "0575-83771234" in firms["嵊州市恒远电机有限公司"].notes
    assert contacts["嵊州市绿硅新材料有限公司"].phone == "13857500018"  # full-width digits
    # codes: full-width read; an Excel number explained, the firm kept without it
    assert firms["嵊州市全角代码电子有限公司"].uscc == office.FULL_WIDTH_USCC
    assert firms["嵊州市数字代码机电有限公司"].uscc is None
    assert any("单元格格式设置为“文本”" in m for m in unknown)
    # figures of 2025 (from the headers), 规上 from the title, vague figures kept in notes
    jincheng = firms["嵊州市锦程领带服饰有限公司"]
    years = {
        y.year: y
        for y in db.session.scalars(
            sa.select(EnterpriseYear).where(EnterpriseYear.enterprise_id == jincheng.id)
        )
    }
    assert years[2025].revenue == Decimal("123456000.00")  # 12,345.6 万元
    assert years[2025].rnd_spend == Decimal("4200000.00")  # 研发投入 has no year: the title's
    assert all(e.is_above_scale for e in firms.values())
    assert any("规上企业名单" in m for m in messages(report))
    lih = firms["嵊州市丽珩厨电有限公司"]
    assert "约50" in lih.notes
    assert [(r.kind, r.granted_on.year) for r in lih.recognitions] == [
        (RecognitionKind.HITECH_NATIONAL, 2023)
    ]
    assert any("东升集成灶" in m and "没有认定记录" in m for m in unknown)

    # the same file again changes nothing, and adds no note twice
    again = run(admin, office.above_scale_list(tmp_path / "规上2.xlsx"))
    assert again.counts["unchanged"] == 12 and again.counts["created"] == 0
    db.session.expire_all()
    assert db.session.get(Enterprise, lih.id).notes.count("约50") == 1


def test_admin_label_aliases_map_a_label_or_keep_it_as_a_note(tmp_path, make_user, reference):
    admin = make_user(role=Role.ADMIN)
    sanjiang = db.session.scalar(sa.select(Town).where(Town.name == "三江街道"))
    db.session.add(LabelAlias(kind=LabelKind.TOWN, label="经济开发区", target_id=sanjiang.id))
    db.session.commit()
    run(admin, office.above_scale_list(tmp_path / "规上.xlsx"))
    firm = db.session.scalar(
        sa.select(Enterprise).where(Enterprise.name == "嵊州市东升集成灶有限公司")
    )
    assert firm.town.name == "三江街道"


def test_research_office_list_fills_merged_institutions(tmp_path, make_user, reference):
    admin = make_user(role=Role.ADMIN)
    polyu = db.session.scalar(sa.select(Institution).where(Institution.name == "香港理工大学"))
    db.session.add(Researcher(name="陈思远", institution=polyu, title="教授"))
    db.session.commit()
    report = run(admin, office.research_office_list(tmp_path / "专家.xlsx"))
    assert report.kind == "researchers" and report.errors == []
    people = {r.name: r for r in live(Researcher)}
    assert len(people) == 6  # 陈  思远 is the 陈思远 already known, not a duplicate
    # the institutions are reference data (crm seed reference): none is created
    assert report.counts == {"created": 5, "updated": 1, "unchanged": 0, "skipped": 0}
    assert people["黄嘉怡"].institution.name == "香港理工大学"
    assert people["周雪梅"].institution.name == "浙江理工大学"
    assert people["林浩然"].institution.name == "浙江理工大学"
    assert people["郭立群"].institution.name == "中国科学院过程工程研究所"
    assert any("说明" in m for m in messages(report))


def test_reference_institutions_answer_the_names_people_write(tmp_path, make_user, reference):
    admin = make_user(role=Role.ADMIN)
    rows = [["姓名", "所在单位"], ["甲", "港理工"], ["乙", "香港理工大學"], ["丙", "PolyU"]]
    rows += [["丁", "中科院过程所"], ["戊", "浙大"], ["己", "上海交大"]]
    from tests.imports.helpers import write_csv

    report = run(admin, write_csv(tmp_path / "r.csv", rows))
    assert report.counts.get("institutions_created", 0) == 0
    people = {r.name: r.institution.name for r in live(Researcher)}
    assert people == {
        "甲": "香港理工大学",
        "乙": "香港理工大学",
        "丙": "香港理工大学",
        "丁": "中国科学院过程工程研究所",
        "戊": "浙江大学",
        "己": "上海交通大学",
    }


def test_two_row_header_keeps_the_phone_column(tmp_path, make_user, reference):
    admin = make_user(role=Role.ADMIN)
    report = run(admin, office.two_row_header_list(tmp_path / "双行.xlsx"))
    assert report.where == "工作表“走访企业”第 1–2 行是表头"
    fields = {m.header: (m.column.key if m.column else None) for m in report.matches}
    assert fields["联系人姓名"] == "contact" and fields["手机"] == "phone"
    assert report.rows == 2 and report.errors == []
    contacts = {c.name: c.phone for c in live(Contact)}
    assert contacts == {"钱多": "13857500031", "孙少": "13857500032"}


def test_meeting_needs_without_titles_link_to_firms_dedup_calls_the_same(
    tmp_path, make_user, make_enterprise, reference
):
    admin = make_user(role=Role.ADMIN)
    yuefeng = make_enterprise(name="嵊州市越丰电机有限公司")
    huacai = make_enterprise(name="嵊州市华彩丝绸有限公司")
    report = run(admin, office.meeting_needs_csv(tmp_path / "需求.csv"))
    assert report.kind == "needs" and report.encoding == "gb18030"
    assert report.errors == [] and report.counts["created"] == 3
    assert report.counts["enterprises_created"] == 1  # only the firm nobody knew
    needs = {n.enterprise_id: n for n in live(Need)}
    assert needs[yuefeng.id].title == "电机运行时噪声偏大"
    assert needs[huacai.id].title == "真丝面料洗后容易起皱"
    assert needs[yuefeng.id].budget is None and "约30" in needs[yuefeng.id].description
    assert "面议" in needs[huacai.id].description
    assert any("约30" in m for m in messages(report, "warning"))
    contacts = {c.name: c for c in live(Contact)}
    assert contacts["马力"].enterprise_id == yuefeng.id
    assert contacts["何静"].phone == "0575-83000042"


def test_a_sheet_and_a_mapping_can_be_chosen(tmp_path, make_user, reference):
    admin = make_user(role=Role.ADMIN)
    path = office.above_scale_list(tmp_path / "规上.xlsx")
    old = run(admin, path, Options(sheet="2024年（旧）"), dry_run=True)
    assert old.sheet == "2024年（旧）" and old.rows == 1
    # the officer says 联系电话 is not to be imported, and 所属行业 holds main products
    chosen = Options(mapping={"联系电话": "", "所属行业": "main_products"})
    report = run(admin, path, chosen, dry_run=True)
    fields = {m.header: m for m in report.matches}
    assert fields["联系电话"].column is None and fields["联系电话"].how == "chosen"
    assert fields["所属行业"].column.key == "main_products" and fields["所属行业"].how == "chosen"
    assert not any("未识别" in m and "行业" in m for m in messages(report))


def test_admins_keep_label_aliases_on_a_page(app, client, make_user, reference, tmp_path):
    from tests.conftest import AuthActions, csrf_token

    officer = make_user()
    AuthActions(client).login(officer.username)
    assert client.get("/imports/labels").status_code == 403
    admin_client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    AuthActions(admin_client).login(admin.username)
    page = admin_client.get("/imports/labels").get_data(as_text=True)
    assert "乡镇：剡湖街道" in page and "行业：领带服装" in page
    town = db.session.scalar(sa.select(Town).where(Town.name == "剡湖街道"))
    token = csrf_token(admin_client, "/imports/labels")
    refused = admin_client.post(
        "/imports/labels", data={"csrf_token": token, "label": "", "target": f"town-{town.id}"}
    )
    assert refused.status_code == 400 and "请填写表中写的名称" in refused.get_data(as_text=True)
    for label, target in (("经济开发区", f"town-{town.id}"), ("纺织", "note-industry")):
        response = admin_client.post(
            "/imports/labels", data={"csrf_token": token, "label": label, "target": target}
        )
        assert response.status_code == 302
    report = run(admin, office.above_scale_list(tmp_path / "规上.xlsx"))
    firms = {e.name: e for e in live(Enterprise)}
    assert firms["嵊州市东升集成灶有限公司"].town.name == "剡湖街道"
    assert "行业：纺织" in firms["嵊州市华彩丝绸有限公司"].notes  # kept, as the admin said
    assert not any("纺织" in m and "未识别" in m for m in messages(report))
    alias_id = db.session.scalar(sa.select(LabelAlias.id).where(LabelAlias.label == "纺织"))
    response = admin_client.post(f"/imports/labels/{alias_id}/delete", data={"csrf_token": token})
    left = sa.select(sa.func.count()).select_from(LabelAlias).where(LabelAlias.id == alias_id)
    assert response.status_code == 302 and db.session.scalar(left) == 0


# ---- what an outside probe of more office files found -----------------------------------------


def test_a_prose_sheet_first_sends_the_reader_to_the_next_sheet(tmp_path, make_user, reference):
    report = run(make_user(role=Role.ADMIN), office.instructions_first(tmp_path / "a.xlsx"))
    assert report.sheet == "企业信息表" and report.counts["created"] == 1
    assert any("“填表说明”中没有找到表头" in m for m in messages(report))


def test_sections_subtotals_and_a_second_header_are_not_firms(tmp_path, make_user, reference):
    report = run(make_user(role=Role.ADMIN), office.subtotals_from_column_b(tmp_path / "b.xlsx"))
    assert report.errors == [] and report.counts["created"] == 4
    names = {e.name for e in live(Enterprise)}
    assert names == {f"嵊州市分节{n}有限公司" for n in ("一电机", "二电机", "三领带", "四厨具")}
    skipped = [i.row for i in report.issues if "已跳过" in i.message and i.row]
    assert skipped == [2, 5, 6, 7, 9, 10, 11, 13]


def test_numbered_names_units_dates_and_second_phones(
    tmp_path, make_user, make_enterprise, reference
):
    yuefeng = make_enterprise(name="嵊州市越丰电机有限公司")
    huacai = make_enterprise(name="嵊州市华彩丝绸有限公司")
    report = run(make_user(role=Role.ADMIN), office.odd_values(tmp_path / "c.xlsx"))
    assert report.errors == []
    firms = {e.name: e for e in live(Enterprise)}
    one = firms["嵊州市编号一机电有限公司"]  # the list's 1. is not part of the name
    # a zero-width space and a former name in brackets: the firms already known
    assert "嵊州市编号二厨具有限公司" in firms and len(firms) == 4
    assert sorted(i.name for i in one.industries) == ["机械制造", "电机"]
    assert sorted(i.name for i in firms["嵊州市编号二厨具有限公司"].industries) == [
        "厨具/集成灶",
        "电机",
    ]
    year = db.session.scalar(
        sa.select(EnterpriseYear).where(EnterpriseYear.enterprise_id == one.id)
    )
    assert year.industrial_output == Decimal("125000000.00")  # 1.25 亿元
    assert year.revenue == Decimal("3000000.00")  # 3,000,000 元
    assert [r.granted_on.year for r in one.recognitions] == [2023]  # a year alone says 是
    assert "13857500051" in one.notes and "办公电话：0575-83000051" in one.notes
    assert any("“亿元”换算为万元" in m for m in messages(report))
    assert any("2 行的名称前有序号" in m for m in messages(report))
    db.session.refresh(yuefeng)
    db.session.refresh(huacai)
    assert [i.name for i in yuefeng.industries] == ["生物医药"]
    assert [i.name for i in huacai.industries] == ["领带服装"]
    assert not any("不是数字" in m or "暂无" in m for m in messages(report, "warning"))


def test_an_expert_list_with_phones_is_still_experts(tmp_path, make_user, reference):
    report = run(make_user(role=Role.ADMIN), office.experts_with_contacts(tmp_path / "d.xlsx"))
    assert report.kind == "researchers" and report.counts["created"] == 2
    people = {r.name: r for r in live(Researcher)}
    assert people["陈小勇"].institution.name == "浙江大学"
    assert people["赵雅"].institution.name == "香港理工大学"
    # an expert has no phone field: the columns are named as not imported, not dropped quietly
    dropped = next(m for m in messages(report, "warning") if "不会导入" in m)
    assert all(h in dropped for h in ("性别", "联系电话", "电子邮箱"))


def test_achievements_where_some_rows_name_no_one(tmp_path, make_user, reference):
    from crm.institutions.models import Achievement, Maturity, TransferMode

    report = run(make_user(role=Role.ADMIN), office.achievements_mixed(tmp_path / "e.xlsx"))
    assert report.counts["created"] == 3
    items = {a.title: a for a in live(Achievement)}
    assert items["硅藻土提纯新工艺"].maturity == Maturity.PILOT
    assert items["硅藻土提纯新工艺"].transfer_mode == TransferMode.TRANSFER
    assert items["领带面料抗皱整理"].transfer_mode == TransferMode.LICENSE
    assert "成熟度：概念验证" in items["电机降噪设计方法"].description  # kept, with a warning


def test_a_type_column_is_not_a_needs_title(tmp_path, make_user, reference):
    report = run(make_user(role=Role.ADMIN), office.needs_with_type_column(tmp_path / "f.xlsx"))
    assert report.counts["created"] == 2 and report.errors == []
    assert sorted(n.title for n in live(Need)) == ["电机温升过高", "绕线工序人工多"]


def test_semicolons_inside_cells_do_not_split_a_comma_csv(tmp_path, make_user, reference):
    report = run(make_user(role=Role.ADMIN), office.semicolons_in_cells_csv(tmp_path / "g.csv"))
    assert report.kind == "researchers" and report.counts["created"] == 2
    people = {r.name: r.research_directions for r in live(Researcher)}
    assert people["钱分号"] == "数码印花;色彩管理;纺织品设计;丝绸"


def test_an_enterprise_list_with_a_contact_way_header_is_enterprises(
    tmp_path, make_user, reference
):
    report = run(
        make_user(role=Role.ADMIN), office.contact_way_over_two_columns(tmp_path / "h.xlsx")
    )
    assert report.kind == "enterprises" and report.counts["created"] == 1
    firm = live(Enterprise)[0]
    assert firm.town.name == "崇仁镇" and firm.contacts[0].name == "周强"
    assert firm.contacts[0].phone == "13857500071"
    assert any("邮箱" in m and "不会导入" in m for m in messages(report, "warning"))


def test_a_contact_phone_header_is_the_phone_and_a_typo_of_a_firm_is_asked(
    tmp_path, make_user, make_enterprise, reference
):
    """联系人手机 names a phone (the word it ends with), not the contact; a firm written one
    character off (越峰 for 越丰) is asked about in the preview, never made a new firm."""
    from tests.imports.helpers import write_csv

    admin = make_user(role=Role.ADMIN)
    yuefeng = make_enterprise(name="嵊州市越丰电机有限公司")
    path = write_csv(
        tmp_path / "需求.csv",
        [
            ["企业名称", "需求描述", "联系人", "联系人手机", "预算（万元）"],
            [
                "嵊州市越丰电机有限公司",
                "电机温升偏高，想找散热设计的专家",
                "马力",
                "13857500099",
                "约30",
            ],
            ["嵊州市越峰电机有限公司", "绕线机换型太慢", "马力", "13857500099", ""],
            ["", "", "", "", ""],
            ["嵊州市越丰电机有限公司", "", "马力", "", ""],
        ],
        encoding="gbk",
    )
    report = run(admin, path)
    fields = {m.header: (m.column.key if m.column else None) for m in report.matches}
    assert fields["联系人手机"] == "phone" and fields["联系人"] == "contact"
    contacts = {c.name: c.phone for c in live(Contact) if c.enterprise_id == yuefeng.id}
    assert contacts == {"马力": "13857500099"}
    assert report.counts.get("enterprises_created", 0) == 0
    assert [n.enterprise_id for n in live(Need)] == [yuefeng.id]
    assert "嵊州市越峰电机有限公司" in report.questions
    assert report.questions["嵊州市越峰电机有限公司"][0][1] == "嵊州市越丰电机有限公司"
    # a vague budget is kept in the need's description, and the message says so
    vague = [m for m in messages(report, "warning") if "约30" in m]
    assert vague and "需求描述" in vague[0] and "备注" not in vague[0]
    # the row with neither title nor description names the field as the form does
    empty = [i for i in report.issues if i.row == 5 and i.level == "error"]
    assert empty and empty[0].column == "需求名称"


def test_phone_headers_offices_write_are_phones():
    from crm.imports.headers import match_header
    from crm.sheets import SHEETS

    for kind in ("enterprises", "needs", "contacts"):
        for header in ("手机号码", "电话号码", "联系人手机号", "联系人电话", "办公电话"):
            match = match_header(SHEETS[kind], header)
            assert match.column is not None and match.column.key == "phone", (kind, header)
    # a header that joins two names keeps the longest, not the one it ends with
    for kind, header, key in (
        ("enterprises", "企业名称及联系人", "name"),
        ("enterprises", "企业地址及电话", "address"),
        ("needs", "需求描述及联系方式", "description"),
    ):
        assert match_header(SHEETS[kind], header).column.key == key, header
