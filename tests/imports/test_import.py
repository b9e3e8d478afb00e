"""The import service: linking, row errors, dry run, idempotence, kinds, permissions, revert."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.enterprises.models import Contact, Enterprise, EnterpriseAlias, Industry, Town
from crm.errors import PermissionDenied
from crm.extensions import db
from crm.imports import services
from crm.imports.models import ImportBatch, ImportStatus
from crm.imports.outcome import Options
from crm.imports.revert import revert_batch
from crm.imports.table import ImportFileError
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind, Researcher
from crm.needs.models import Need
from crm.search import services as search
from tests.imports.helpers import RESEARCHERS, valid_uscc, write_csv, write_xlsx


@pytest.fixture
def polyu(app):
    inst = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    inst.aliases = [InstitutionAlias(alias="PolyU")]
    zstu = Institution(name="浙江理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add_all([inst, zstu])
    db.session.commit()
    return inst


@pytest.fixture
def places(app):
    town = Town(code="330683001", name="甘霖镇", kind="镇")
    industry = Industry(code="tie", name="领带服装")
    db.session.add_all([town, industry])
    db.session.commit()
    return town, industry


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def run(user, path, kind=None, dry_run=False):
    report = services.run_import(user, path, path.name, Options(kind), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def test_researchers_link_to_institutions_by_alias_abbreviation_or_new(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    report = run(admin, write_xlsx(tmp_path / "r.xlsx", RESEARCHERS))
    assert report.kind == "researchers"  # inferred from the headers
    assert report.counts["created"] == 3 and report.errors == []
    people = {r.name: r for r in db.session.scalars(sa.select(Researcher))}
    assert people["陈思远"].institution.name == "香港理工大学"  # 港理工: characters in order
    assert people["刘海峰"].institution.name == "浙江理工大学"
    new = people["周雪梅"].institution
    assert new.name == "东海新材料研究院" and new.kind == InstitutionKind.OTHER
    messages = [i.message for i in report.issues]
    assert any("港理工" in m and "香港理工大学" in m for m in messages)
    assert any("新建单位“东海新材料研究院”" in m for m in messages)
    # the abbreviation is remembered, so the next file links at once
    assert db.session.scalar(sa.select(InstitutionAlias).where(InstitutionAlias.alias == "港理工"))
    # text analysis happened at write time: search finds the imported expert by topic
    assert "陈思远" in [h.title for h in search.search("抗皱整理")]


def test_dry_run_writes_nothing(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    before = (count(Researcher), count(Institution), count(ImportBatch), count(AuditEntry))
    report = run(admin, write_xlsx(tmp_path / "r.xlsx", RESEARCHERS), dry_run=True)
    assert report.counts["created"] == 3
    assert (count(Researcher), count(Institution), count(ImportBatch), count(AuditEntry)) == before
    assert search.search("抗皱整理") == []


def test_same_file_twice_changes_nothing(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    path = write_xlsx(tmp_path / "r.xlsx", RESEARCHERS)
    run(admin, path)
    snapshot = sorted(
        (r.id, r.name, r.institution_id, r.version)
        for r in db.session.scalars(sa.select(Researcher))
    )
    institutions = count(Institution)
    again = run(admin, path)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 3, "skipped": 0}
    assert any("同一文件已在" in i.message for i in again.issues)
    db.session.expire_all()
    assert (
        sorted(
            (r.id, r.name, r.institution_id, r.version)
            for r in db.session.scalars(sa.select(Researcher))
        )
        == snapshot
    )
    assert count(Institution) == institutions


def test_changed_cells_update_and_blank_cells_keep_values(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    run(admin, write_xlsx(tmp_path / "a.xlsx", RESEARCHERS))
    changed = [RESEARCHERS[0], ["陈思远", "香港理工大学", "讲座教授", None, None]]
    report = run(admin, write_csv(tmp_path / "b.csv", changed))
    assert report.counts["updated"] == 1
    person = db.session.scalars(sa.select(Researcher).where(Researcher.name == "陈思远")).one()
    assert person.title == "讲座教授"
    assert person.research_directions == "纺织品功能整理；抗皱免烫整理"  # blank cell: kept


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_import_identical_records(tmp_path, make_user, polyu, encoding):
    admin = make_user(role=Role.ADMIN)
    run(admin, write_csv(tmp_path / f"{encoding}.csv", RESEARCHERS, encoding))
    rows = db.session.execute(
        sa.select(
            Researcher.name, Researcher.title, Researcher.research_directions, Researcher.bio
        ).order_by(Researcher.name)
    ).all()
    assert [tuple(r) for r in rows] == sorted((r[0], r[2], r[3], r[4]) for r in RESEARCHERS[1:])


def test_row_errors_name_row_and_column_and_skip_only_that_row(tmp_path, make_user, places):
    admin = make_user(role=Role.ADMIN)
    rows = [
        ["企业名称", "统一社会信用代码", "所属乡镇", "所属行业", "主营产品", "联系人", "联系电话"],
        [
            "嵊州市锦程领带有限公司",
            valid_uscc("91330683MA2BX0000"),
            "甘霖镇",
            "领带服装",
            "真丝领带",
            "王先生",
            "0575-83000001",
        ],
        ["嵊州市好运电机有限公司", "123", "甘霖镇", None, "电机", None, None],
        ["嵊州市某某厨具有限公司", None, "火星镇", None, None, None, None],
        [None, None, "甘霖", None, "无名", None, None],
        ["嵊州市华艺纺织有限公司", None, "甘霖", "领带服装、纺织", None, None, None],
    ]
    report = run(admin, write_xlsx(tmp_path / "e.xlsx", rows))
    assert report.kind == "enterprises"
    # only a missing key skips a row; a bad optional value is a warning and the row stays
    errors = {(i.row, i.column): i.message for i in report.errors}
    assert list(errors) == [(5, "企业名称")] and "不能为空" in errors[(5, "企业名称")]
    warnings = {(i.row, i.column): i.message for i in report.issues if i.level == "warning"}
    assert (
        "校验位" in warnings[(3, "统一社会信用代码")]
        or "18 位" in warnings[(3, "统一社会信用代码")]
    )
    unknown = [i.message for i in report.issues if i.row is None and "未识别" in i.message]
    assert any("“火星镇”未识别：1 行" in m for m in unknown)
    assert any("“纺织”未识别：1 行" in m for m in unknown)
    assert report.counts == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 1}
    stored = {
        e.name: e
        for e in db.session.scalars(sa.select(Enterprise).where(Enterprise.deleted_at.is_(None)))
    }
    assert stored["嵊州市好运电机有限公司"].uscc is None
    assert stored["嵊州市某某厨具有限公司"].town is None
    assert "所属乡镇：火星镇" in stored["嵊州市某某厨具有限公司"].notes  # not lost
    huayi = stored["嵊州市华艺纺织有限公司"]
    assert [i.name for i in huayi.industries] == ["领带服装"] and "行业：纺织" in huayi.notes


def test_enterprises_with_uscc_town_industry_and_contact(tmp_path, make_user, places):
    town, industry = places
    officer = make_user(department="高新技术科")
    uscc = valid_uscc("91330683MA2BX0000")
    rows = [
        [
            "企业名称",
            "统一社会信用代码",
            "所属乡镇",
            "所属行业",
            "主营产品",
            "联系人",
            "联系电话",
            "规上企业",
        ],
        [
            "嵊州市锦程领带有限公司",
            uscc,
            "甘霖",
            "领带服装",
            "真丝领带",
            "王先生",
            "'+86 575 8300 0001",
            "是",
        ],
    ]
    run(officer, write_xlsx(tmp_path / "e.xlsx", rows))
    ent = db.session.scalars(sa.select(Enterprise)).one()
    assert (ent.uscc, ent.town_id, ent.is_above_scale) == (uscc, town.id, True)
    assert [i.id for i in ent.industries] == [industry.id]
    assert ent.owner_id == officer.id and ent.department_id == officer.department_id
    contact = db.session.scalars(sa.select(Contact)).one()
    assert (contact.name, contact.phone) == ("王先生", "+86 575 8300 0001")
    # renamed firm, same code: the USCC is the key, so the record is updated, not duplicated
    rows[1][0] = "浙江锦程领带集团有限公司"
    report = run(officer, write_xlsx(tmp_path / "e2.xlsx", rows))
    assert report.counts["updated"] == 1 and count(Enterprise) == 1


def test_officer_cannot_change_another_departments_enterprise(tmp_path, make_user, make_enterprise):
    other = make_user(department="农村科技科")
    make_enterprise(
        name="嵊州市好运电机有限公司", owner_id=other.id, department_id=other.department_id
    )
    officer = make_user(department="高新技术科")
    rows = [["企业名称", "主营产品"], ["嵊州市好运电机有限公司", "伺服电机"]]
    report = run(officer, write_csv(tmp_path / "e.csv", rows))
    assert report.counts["skipped"] == 1 and "无权修改" in report.errors[0].message
    needs = [["企业名称", "需求名称"], ["嵊州市好运电机有限公司", "电机噪声大"]]
    report = run(officer, write_csv(tmp_path / "n.csv", needs))
    assert report.counts["skipped"] == 1 and count(Need) == 0


def test_viewer_cannot_import(tmp_path, make_user):
    viewer = make_user(role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.run_import(viewer, write_xlsx(tmp_path / "r.xlsx", RESEARCHERS), "r.xlsx")


def test_needs_link_by_uscc_then_name_and_unknown_enterprise_is_created(
    tmp_path, make_user, make_enterprise
):
    admin = make_user(role=Role.ADMIN)
    code = valid_uscc("91330683MA2BX1111")
    by_code = make_enterprise(name="浙江丽珩电器有限公司", uscc=code)
    by_name = make_enterprise(name="嵊州市锦程领带有限公司")
    rows = [
        ["企业名称", "统一社会信用代码", "需求名称", "需求描述", "预算（万元）"],
        ["丽珩电器（旧名）", code, "集成灶噪声", "风机嗡嗡响", "20"],
        ["锦程领带", None, "领带起皱", "洗后起皱", "5.5"],
        ["嵊州市新开户食品有限公司", None, "茶叶保鲜", None, None],
        ["锦程领带", None, "坏预算", None, "很多"],
    ]
    report = run(admin, write_xlsx(tmp_path / "n.xlsx", rows))
    assert report.kind == "needs"
    needs = {n.title: n for n in db.session.scalars(sa.select(Need))}
    assert needs["集成灶噪声"].enterprise_id == by_code.id
    assert needs["集成灶噪声"].budget == Decimal("200000.00")
    assert needs["领带起皱"].enterprise_id == by_name.id  # 锦程领带 is its core name
    assert needs["茶叶保鲜"].enterprise.name == "嵊州市新开户食品有限公司"
    # a budget that is not a number is a warning: the need is kept, the words with it
    assert report.errors == []
    warning = next(i for i in report.issues if i.level == "warning")
    assert (warning.row, warning.column) == (5, "预算（万元）")
    assert needs["坏预算"].budget is None and "预算（万元）：很多" in needs["坏预算"].description
    assert report.counts["enterprises_created"] == 1


def test_near_enterprise_name_is_asked_not_guessed_then_kept_as_an_alias(
    tmp_path, make_user, make_enterprise
):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="嵊州市锦程领带服饰有限公司")
    rows = [["企业名称", "需求名称"], ["锦程领带", "领带起皱"]]
    path = write_csv(tmp_path / "n.csv", rows)
    report = run(admin, path)
    assert count(Need) == 0 and count(Enterprise) == 1  # neither linked nor a new firm
    assert "请在预览页选择" in report.errors[0].message
    assert [rid for rid, _, _ in report.questions["锦程领带"]] == [ent.id]

    answered = Options(decisions={"锦程领带": ent.id})
    report = services.run_import(admin, path, "n.csv", answered)
    db.session.commit()
    assert db.session.scalars(sa.select(Need)).one().enterprise_id == ent.id
    alias = db.session.scalars(sa.select(EnterpriseAlias)).one()
    assert (alias.alias, alias.enterprise_id) == ("锦程领带", ent.id)
    again = run(
        admin, write_csv(tmp_path / "m.csv", [["企业名称", "需求名称"], ["锦程领带", "换色"]])
    )
    assert again.errors == [] and count(Need) == 2  # the alias answers the next file


def test_unknown_headers_are_refused_with_the_expected_ones(tmp_path, make_user):
    admin = make_user(role=Role.ADMIN)
    path = write_csv(tmp_path / "x.csv", [["甲", "乙"], ["1", "2"]])
    with pytest.raises(ImportFileError, match="找不到表头") as refused:
        services.run_import(admin, path, "x.csv")
    assert "第 1 行“甲、乙”" in refused.value.message and "企业名称" in refused.value.message
    path = write_csv(tmp_path / "n.csv", [["企业名称", "预算（万元）"], ["某公司", "20"]])
    with pytest.raises(ImportFileError, match="缺少必填列：需求名称或需求描述"):
        services.run_import(admin, path, "n.csv", Options(kind="needs"))


def test_revert_removes_what_was_created_and_restores_what_was_changed(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    run(admin, write_xlsx(tmp_path / "a.xlsx", RESEARCHERS[:2]))
    first = db.session.scalars(sa.select(Researcher)).one()
    rows = [
        RESEARCHERS[0],
        ["陈思远", "香港理工大学", "讲座教授", None, "新的简介"],
        RESEARCHERS[2],
    ]
    report = run(admin, write_xlsx(tmp_path / "b.xlsx", rows))
    assert report.counts["created"] == 1 and report.counts["updated"] == 1
    batch = db.session.get(ImportBatch, report.batch_id)
    # someone edits the bio after the import: that edit must survive the revert
    person = db.session.get(Researcher, first.id)
    person.bio = "人工修改的简介"
    db.session.commit()

    result = revert_batch(admin, batch)
    db.session.commit()
    db.session.expire_all()
    assert batch.status == ImportStatus.REVERTED and batch.reverted_by_id == admin.id
    person = db.session.get(Researcher, first.id)
    assert person.title == "教授"  # restored
    assert person.bio == "人工修改的简介"  # changed again since: kept
    assert result.kept == [f"researcher#{first.id}.bio"]
    created = db.session.scalars(sa.select(Researcher).where(Researcher.name == "刘海峰")).one()
    assert created.deleted_at is not None  # in the recycle bin, not lost
    assert "刘海峰" not in [h.title for h in search.search("数码印花")]
    with pytest.raises(Exception, match="撤销过了"):
        revert_batch(admin, batch)


def test_only_admins_revert(tmp_path, make_user, polyu):
    officer = make_user()
    report = run(officer, write_xlsx(tmp_path / "a.xlsx", RESEARCHERS))
    with pytest.raises(PermissionDenied):
        revert_batch(officer, db.session.get(ImportBatch, report.batch_id))


def test_cli_import_dry_run_and_commit(runner, tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    path = write_xlsx(tmp_path / "r.xlsx", RESEARCHERS + [["", "港理工", "教授"]])
    result = runner.invoke(args=["import", str(path), "--dry-run", "--user", admin.username])
    assert result.exit_code == 0, result.output
    assert "预览（未写入）" in result.output and "新增 3" in result.output
    assert "第 5 行【姓名】：姓名不能为空" in result.output
    assert count(Researcher) == 0
    result = runner.invoke(args=["import", str(path), "--user", admin.username])
    assert result.exit_code == 0, result.output
    assert "已导入，批次" in result.output and count(Researcher) == 3
    bad = tmp_path / "virus.xlsx"
    bad.write_bytes(b"MZ" + b"\x00" * 100)
    result = runner.invoke(args=["import", str(bad), "--user", admin.username])
    assert result.exit_code != 0 and "不是表格文件" in result.output


def test_bulk_path_and_orm_path_store_the_same_audit_and_terms(tmp_path, make_user, polyu):
    """New rows go in through Core; their audit entries and search terms must match what the
    ORM hooks write for a researcher saved through the form."""
    from crm.search import index
    from crm.text.models import SearchTerm

    admin = make_user(role=Role.ADMIN)
    report = run(admin, write_xlsx(tmp_path / "a.xlsx", RESEARCHERS[:2]))
    imported = db.session.scalars(sa.select(Researcher)).one()
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.table_name == "researcher")
    ).one()
    assert entry.action == "create" and entry.import_batch_id == report.batch_id
    assert entry.user_id == admin.id
    assert entry.changes["name"] == [None, "陈思远"]
    stored = {
        t.term: t.weight
        for t in db.session.scalars(
            sa.select(SearchTerm).where(
                SearchTerm.record_id == imported.id, SearchTerm.kind == "researcher"
            )
        )
    }
    assert stored == index.terms_of(index.KINDS["researcher"], imported)


def test_institutions_import_then_revert_then_again(tmp_path, make_user):
    admin = make_user(role=Role.ADMIN)
    rows = [
        ["单位名称", "类型", "所在地区", "简介", "别名"],
        ["香港理工大学", "大学", "香港", "纺织及服装学系", "港理工、PolyU"],
        ["中国科学院过程工程研究所", "中科院院所", "北京", None, "中科院过程所"],
        ["某某技术转移中心", "研究中心", None, None, None],
    ]
    path = write_xlsx(tmp_path / "i.xlsx", rows)
    report = run(admin, path)
    assert report.kind == "institutions"
    # an unknown type is a warning: the institution is kept, its type left as 其他
    assert report.counts["created"] == 3 and report.errors == []
    assert [i.column for i in report.issues if i.level == "warning"] == ["类型"]
    polyu = db.session.scalars(
        sa.select(Institution).where(Institution.name == "香港理工大学")
    ).one()
    assert polyu.kind == InstitutionKind.UNIVERSITY
    assert sorted(a.alias for a in polyu.aliases) == ["PolyU", "港理工"]
    revert_batch(admin, db.session.get(ImportBatch, report.batch_id))
    db.session.commit()
    db.session.expire_all()
    assert polyu.deleted_at is not None and polyu.aliases == []
    again = run(admin, path)  # names are unique: the trashed records come back
    assert again.counts["created"] == 3
    db.session.expire_all()
    assert polyu.deleted_at is None and sorted(a.alias for a in polyu.aliases) == [
        "PolyU",
        "港理工",
    ]


def test_new_enterprise_like_an_existing_one_is_flagged_not_merged(
    tmp_path, make_user, make_enterprise
):
    admin = make_user(role=Role.ADMIN)
    make_enterprise(name="嵊州市锦程真丝领带织造有限公司")
    rows = [
        ["企业名称"],
        ["浙江锦程真丝领带制造有限责任公司"],  # one character apart: flagged, not merged
        ["嵊州市好运电机有限公司"],
        ["锦程真丝领带织造（嵊州）有限公司"],  # the same firm as dedup sees it: linked
    ]
    report = run(admin, write_csv(tmp_path / "e.csv", rows))
    assert report.counts["created"] == 2 and report.counts["unchanged"] == 1
    assert count(Enterprise) == 3
    warnings = [i for i in report.issues if i.level == "warning"]
    assert [(w.row, w.column) for w in warnings] == [(2, "企业名称")]
    assert "嵊州市锦程真丝领带织造有限公司" in warnings[0].message
    assert "查重合并" in warnings[0].message
    linked = next(i for i in report.issues if i.row == 4)
    assert "对应到已有企业“嵊州市锦程真丝领带织造有限公司”" in linked.message


def test_new_institution_like_a_known_one_is_flagged(tmp_path, make_user, polyu):
    admin = make_user(role=Role.ADMIN)
    rows = [
        ["单位名称", "类型"],
        ["香港理工大学 ", "大学"],
        ["香港理工大学(深圳)", "大学"],
        ["东华大学", "大学"],
    ]
    report = run(admin, write_csv(tmp_path / "i.csv", rows))
    assert report.counts == {"created": 2, "updated": 0, "unchanged": 1, "skipped": 0}
    warnings = [i for i in report.issues if i.level == "warning"]
    assert [(w.row, w.column) for w in warnings] == [(3, "单位名称")]
    assert "香港理工大学" in warnings[0].message
