"""An officer imports an office's own list on a phone and on a desk: the detected sheet and
header, one column re-mapped, the outcome of every row, the commit; and a 20,000-row file
whose progress bar moves while a job process works."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from crm import processes
from crm.auth.models import Role
from crm.enterprises.models import Enterprise, Industry
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.seed.services import load_reference
from tests.fixtures import office_files as office

pytestmark = pytest.mark.browser


def _reference(app) -> None:
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count(Industry.id))) == 0:
            load_reference()
            db.session.commit()


def _upload(page, live_server, path) -> None:
    """The upload page: choose the file, 上传并预览."""
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("表格文件（.xlsx 或 .csv）").set_input_files(str(path))
    page.get_by_role("button", name="上传并预览").click()


def _firm(app, name: str) -> Enterprise | None:
    with app.app_context():
        firm = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
        if firm is not None:
            _ = (firm.town, firm.industries, firm.notes)
            db.session.expunge(firm)
        return firm


@pytest.mark.parametrize("width", [375, 1280])
def test_an_office_list_goes_in_with_one_column_remapped(
    live_server, browser, screenshot_dir, tmp_path, width
):
    _reference(live_server.app)
    username = f"e2eoffice{width}"
    live_server.add_user(username, "钱晓东", Role.ADMIN)
    path = office.above_scale_list(tmp_path / "2026年规上工业企业名单.xlsx")
    context = browser.new_context(viewport={"width": width, "height": 860}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, username)
        _upload(page, live_server, path)
        page.wait_for_url("**/imports/preview")
        where = page.get_by_test_id("import-where").inner_text()
        assert "工作表“规上企业”第 3 行是表头" in where
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=screenshot_dir / f"office-preview-{width}.png", full_page=True)
        page.get_by_test_id("import-settings").screenshot(
            path=screenshot_dir / f"office-settings-{width}.png"
        )

        # the officer decides the 所属行业 column is not to be imported, and previews again
        page.get_by_test_id("map-所属行业").select_option("")
        page.get_by_test_id("repreview").click()
        page.wait_for_url("**/imports/commit")
        assert page.get_by_test_id("map-所属行业").input_value() == ""
        outcomes = page.get_by_test_id("import-outcomes")
        assert outcomes.locator("tbody tr").count() == 12  # one per firm, 合计/备注 not among them
        # the outcome filter: only the skipped rows (none here)
        page.get_by_role("button", name="跳过", exact=True).click()
        assert outcomes.locator("tbody tr:visible").count() == 0
        page.get_by_role("button", name="全部", exact=True).click()
        outcomes.screenshot(path=screenshot_dir / f"office-outcomes-{width}.png")
        page.screenshot(path=screenshot_dir / f"office-remapped-{width}.png", full_page=True)

        page.get_by_test_id("confirm-import").click()
        page.wait_for_url(re.compile(r"/imports/\d+$"))
        assert "已导入企业" in page.inner_text("main")
        firm = _firm(live_server.app, "嵊州市锦程领带服饰有限公司")
        assert firm is not None and firm.town.name == "甘霖镇" and firm.industries == []
        page.screenshot(path=screenshot_dir / f"office-batch-{width}.png", full_page=True)
    finally:
        context.close()


def test_a_20k_row_file_shows_its_progress_and_goes_in(
    live_server, browser, screenshot_dir, tmp_path
):
    username = "e2ebigfile"
    live_server.add_user(username, "孙建国", Role.ADMIN)
    path = tmp_path / "两万专家.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("专家")
    ws.append(["2026年专家库（第二批）"])
    ws.append(["序号", "姓名", "所在单位", "职称", "研究方向"])
    for i in range(20000):
        ws.append(
            [i + 1, f"大表专家{i:05d}", f"大表研究院{i % 40}", "研究员", "纺织品功能整理；数码印花"]
        )
    wb.save(path)
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, username)
        _upload(page, live_server, path)
        page.wait_for_url("**/imports/jobs/*")
        bar = page.get_by_test_id("job-progress")
        bar.wait_for()
        seen = set()
        for _ in range(240):  # the page polls; it reloads into the preview when done
            if page.get_by_test_id("import-where").count():
                break
            if bar.count():
                try:
                    seen.add(bar.locator("[data-field='done']").inner_text(timeout=2000))
                except PlaywrightTimeout:
                    continue  # the page reloaded into the preview between the two looks

                if len(seen) == 2:
                    page.screenshot(
                        path=screenshot_dir / "bigfile-progress-375.png", full_page=True
                    )
            page.wait_for_timeout(500)
        assert page.get_by_test_id("import-where").count(), "the preview never came"
        assert len(seen) >= 2, f"the progress never moved: {seen}"
        assert "共 20000 行" in page.get_by_test_id("import-where").inner_text()
        page.screenshot(path=screenshot_dir / "bigfile-preview-375.png")

        page.get_by_test_id("confirm-import").click()
        page.wait_for_url(re.compile(r"/imports/\d+$"), timeout=240_000)
        assert "20000" in page.inner_text("main")
        with live_server.app.app_context():
            stored = db.session.scalar(
                sa.select(sa.func.count(Researcher.id)).where(Researcher.name.like("大表专家%"))
            )
        assert stored == 20000
        page.screenshot(path=screenshot_dir / "bigfile-batch-375.png", full_page=True)
    finally:
        context.close()
        processes.wait_for_children(60)  # reap the job processes this test started
