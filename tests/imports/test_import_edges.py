"""Edges a review of the importer found: nothing a placeholder erases, no figure filed under the
wrong year or field, 规上 and 高新 only as the file says, mappings per column, jobs that fail
cleanly."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from crm.auth.models import Role
from crm.clock import local_today
from crm.enterprises.models import Contact, Enterprise, EnterpriseYear
from crm.extensions import db
from crm.imports import jobs, reader, services
from crm.imports.models import ImportJob, ImportUpload, JobStatus
from crm.imports.outcome import Options
from crm.imports.uploads import keep_upload
from crm.seed.services import load_reference
from tests.conftest import AuthActions
from tests.fixtures import office_files as office
from tests.imports.helpers import upload, write_xlsx
from tests.pages import form_to


@pytest.fixture
def admin(app, make_user):
    load_reference()
    db.session.commit()
    return make_user(role=Role.ADMIN)


def run(user, path, options=None):
    report = services.run_import(user, path, path.name, options)
    db.session.commit()
    return report


def ignore_column_and_import(client, data: bytes, column: str) -> int:
    """Upload, set the column (as the page names it) to 不导入, preview again, 确认导入."""
    page = upload(client, data, "file.xlsx").get_data(as_text=True)
    form = form_to(page, "http://localhost/imports/preview", "/imports/commit")
    field = next(k for k, v in form.data().items() if k.startswith("map-header-") and v == column)
    changed = form.data(**{field.replace("-header", ""): ""}, action="preview")
    page = client.post("/imports/commit", data=changed).get_data(as_text=True)
    form = form_to(page, "http://localhost/imports/commit", "/imports/commit")
    return client.post("/imports/commit", data=form.data(action="commit")).status_code


def firm(name: str) -> Enterprise:
    return db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))


def test_placeholders_never_erase_what_is_stored(tmp_path, admin, make_enterprise):
    make_enterprise(name="嵊州市占位符电机有限公司", address="某路1号", main_products="伺服电机")
    rows = [
        ["企业名称", "地址", "主营产品", "联系人", "统一社会信用代码"],
        ["嵊州市占位符电机有限公司", "暂无", "—", "无", "/"],
    ]
    report = run(admin, write_xlsx(tmp_path / "p.xlsx", rows))
    assert report.counts["unchanged"] == 1 and report.issues[-1].level != "warning"
    stored = firm("嵊州市占位符电机有限公司")
    assert (stored.address, stored.main_products) == ("某路1号", "伺服电机")
    assert db.session.scalars(sa.select(Contact)).all() == []  # nobody called 无


def test_a_figure_without_a_year_is_not_filed_over_one_with_a_year(tmp_path, admin):
    rows = [
        ["企业名称", "2025年营业收入（万元）", "营业收入（万元）", "营业收入增长率（%）"],
        ["嵊州市两列营收有限公司", "1000", "900", "25"],
    ]
    report = run(admin, write_xlsx(tmp_path / "y.xlsx", rows))
    fields = {m.header: (m.column.key if m.column else None, m.how) for m in report.matches}
    assert fields["营业收入增长率（%）"] == (None, "unknown")  # a rate is not an amount
    assert fields["营业收入（万元）"] == ("revenue", "extra")  # its year could be 2025: notes
    stored = firm("嵊州市两列营收有限公司")
    year = db.session.scalar(
        sa.select(EnterpriseYear).where(EnterpriseYear.enterprise_id == stored.id)
    )
    assert (year.year, year.revenue) == (2025, Decimal("10000000.00"))
    assert "营业收入（万元）：900" in stored.notes


def test_an_old_years_list_does_not_change_the_current_flag(tmp_path, admin, make_enterprise):
    ent = make_enterprise(name="嵊州市旧名单电机有限公司", is_above_scale=False)
    db.session.add(EnterpriseYear(enterprise_id=ent.id, year=2025, above_scale=False))
    db.session.commit()
    rows = [["2023年规模以上工业企业名单"], ["企业名称"], ["嵊州市旧名单电机有限公司"]]
    report = run(admin, write_xlsx(tmp_path / "o.xlsx", rows))
    assert report.above_scale_year == 2023
    db.session.expire_all()
    stored = firm("嵊州市旧名单电机有限公司")
    years = {y.year: y.above_scale for y in stored.years}
    assert years == {2023: True, 2025: False} and stored.is_above_scale is False


@pytest.mark.parametrize(
    "cell", ["否（2025年申报中）", "否，2019年认定已过期", "未认定", "2022年未通过"]
)
def test_no_with_a_year_records_no_recognition(tmp_path, admin, cell):
    rows = [["企业名称", "是否高新技术企业"], ["嵊州市否带年份有限公司", cell]]
    run(admin, write_xlsx(tmp_path / "h.xlsx", rows))
    assert firm("嵊州市否带年份有限公司").recognitions == []


def test_two_columns_with_one_header_are_mapped_one_by_one(app, client, tmp_path, admin):
    AuthActions(client).login(admin.username)
    rows = [
        ["企业名称", "联系人", "电话", "电话"],
        ["嵊州市两个电话有限公司", "王强", "13857500081", "0575-83000081"],
    ]
    data = write_xlsx(tmp_path / "t.xlsx", rows).read_bytes()
    # the second 电话 is not to be imported; the first stays the contact's phone
    assert ignore_column_and_import(client, data, "电话#2") == 302
    stored = firm("嵊州市两个电话有限公司")
    assert stored.contacts[0].phone == "13857500081"
    assert not stored.notes or "0575-83000081" not in stored.notes


def test_a_table_from_column_b_keeps_the_officers_choices(app, client, tmp_path, admin):
    """The page skips the blank column A: the choices after it still count."""
    AuthActions(client).login(admin.username)
    data = office.subtotals_from_column_b(tmp_path / "b.xlsx").read_bytes()
    assert ignore_column_and_import(client, data, "所属乡镇") == 302
    assert firm("嵊州市分节一电机有限公司").town is None  # as the officer chose


def test_a_title_year_list_is_marked_for_the_year_the_preview_said(app, client, tmp_path, admin):
    AuthActions(client).login(admin.username)
    data = office.above_scale_list(tmp_path / "a.xlsx").read_bytes()
    page = upload(client, data, "a.xlsx").get_data(as_text=True)
    assert "本表的企业记为 2026 年规上" in page or "记为 2026 年规上" in page
    form = form_to(page, "http://localhost/imports/preview", "/imports/commit")
    assert client.post("/imports/commit", data=form.data(action="commit")).status_code == 302
    stored = firm("嵊州市锦程领带服饰有限公司")
    assert {y.year: y.above_scale for y in stored.years}[2026] is True


def test_the_biggest_visible_sheet_decides_whether_a_file_is_big(tmp_path):
    wb = Workbook()
    wb.active.append(["填表说明：请如实填写。"])
    data = wb.create_sheet("名单")
    data.append(["企业名称"])
    for i in range(500):
        data.append([f"企业{i}"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert reader.estimate_rows(path) == 501


def test_a_failed_commit_job_lets_the_officer_confirm_again(app, admin, monkeypatch):
    token = keep_upload(admin, "r.csv", "姓名,所在单位\n甲,浙江大学\n".encode())
    db.session.commit()
    job = jobs.start(admin, token, "r.csv", Options(), dry_run=False)
    db.session.commit()
    job_id = job.id

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "run_import", broken)
    jobs.execute(job_id)
    db.session.expire_all()
    failed = db.session.get(ImportJob, job_id)
    assert failed.status == JobStatus.FAILED and failed.commit_token is None
    assert "没有写入任何数据" in failed.message
    assert db.session.get(ImportUpload, token) is not None  # still there to confirm again
    again = jobs.start(admin, token, "r.csv", Options(), dry_run=False)
    db.session.commit()
    assert again.id != job_id


def test_the_year_of_a_figure_is_the_files_not_today(tmp_path, admin):
    """A list without any year anywhere: last year's figures, said in a note."""
    rows = [["企业名称", "营业收入（万元）"], ["嵊州市无年份有限公司", "100"]]
    report = run(admin, write_xlsx(tmp_path / "n.xlsx", rows))
    last_year = local_today().year - 1
    assert report.year == last_year
    assert any(f"按 {last_year} 年记" in i.message for i in report.issues)


def test_every_problem_of_a_row_at_once_and_the_fields_an_update_changed(tmp_path, admin):
    """A row with three bad optional values is kept and all three are reported together; a
    second file that changes one field says which, row by row."""
    rows = [
        ["企业名称", "统一社会信用代码", "是否规上", "2025年营业收入（万元）", "主营产品"],
        ["嵊州市三错电机有限公司", "91330683AT6Y8A8U8D", "也许", "约800", "伺服电机"],
    ]
    report = run(admin, write_xlsx(tmp_path / "a.xlsx", rows))
    assert report.counts["created"] == 1 and report.errors == []
    row_messages = [i for i in report.issues if i.row == 2 and i.level == "warning"]
    columns = {i.column for i in row_messages}
    assert {"统一社会信用代码", "是否规上", "2025年营业收入（万元）"} <= columns, row_messages
    stored = firm("嵊州市三错电机有限公司")
    assert stored.uscc is None and stored.main_products == "伺服电机"
    assert "约800" in (stored.notes or "")
    rows[1][4] = "永磁同步电机"
    report = run(admin, write_xlsx(tmp_path / "b.xlsx", rows))
    assert report.counts["updated"] == 1
    outcome = next(o for o in report.outcomes if o.row == 2)
    assert outcome.outcome == "updated" and "主营产品" in outcome.detail
    assert firm("嵊州市三错电机有限公司").main_products == "永磁同步电机"
