"""A 科技项目 on a phone: an officer registers a firm's application for a programme whose
deadline is near, finds the preparation task on the home page, moves the project 申报 → 推荐 →
立项 (refused first without its number, said on the field) and attaches the 立项通知 — at
375 px, with the back/forward cache on, axe-core looking at every page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.projects.models import Project, ProjectStage
from tests.e2e import axe

pytestmark = pytest.mark.browser

WIDTH = 375
FIRM = "嵊州市东盈纺织有限公司"  # a demo firm of 高新技术科 with no project yet
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _looked_at(page, screenshot_dir, name: str | None = None) -> None:
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url
    assert page.locator("h1").count() == 1, page.url
    axe.check(page)
    if name:
        page.screenshot(path=screenshot_dir / f"project-{name}-{WIDTH}.png", full_page=True)


def test_an_officer_moves_a_project_to_approval_with_its_notice(
    demo_server, browser, screenshot_dir, tmp_path
):
    demo_server.add_user("e2eproject", "项目测试")
    with demo_server.app.app_context():
        firm = db.session.scalars(sa.select(Enterprise).where(Enterprise.name == FIRM)).one()
        firm_url = f"{demo_server.url}/enterprises/{firm.id}"
    notice = tmp_path / "立项通知.pdf"
    notice.write_bytes(PDF)
    context = browser.new_context(viewport={"width": WIDTH, "height": 812}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    try:
        demo_server.sign_in(page, "e2eproject")
        page.goto(firm_url)
        page.get_by_role("link", name="登记申报").click()
        page.wait_for_url(re.compile(r".*/projects/new$"))
        _looked_at(page, screenshot_dir, "form")
        page.get_by_label("项目名称").fill("领带面料抗皱整理技术研发")
        page.get_by_label("科技计划").select_option(label="绍兴市科技计划（绍兴市级）")
        page.get_by_label("财政资助（万元）").fill("30")
        page.get_by_role("button", name="保存").click()
        page.wait_for_url(re.compile(r".*/projects/\d+$"))
        project_url = page.url
        project_id = int(project_url.rsplit("/", 1)[1])
        assert "已为负责人添加申报截止前的待办" in page.inner_text("main")
        assert page.get_by_test_id("stage").inner_text() == "申报"

        # the deadline is 9 days away: the preparation task is on the home page now
        page.goto(demo_server.url + "/")
        task = page.get_by_role(
            "link", name=re.compile("准备“绍兴市科技计划”申报材料：领带面料抗皱")
        )
        task.click()  # the task opens its project
        page.wait_for_url(project_url)

        page.get_by_label("推进到").select_option(label="推荐")
        assert page.get_by_label("项目编号").is_hidden()  # asked only for 立项
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_url(project_url)
        assert page.get_by_test_id("stage").inner_text() == "推荐"

        page.get_by_label("推进到").select_option(label="立项")
        page.get_by_role("button", name="确认推进").click()
        error = page.locator(".invalid-feedback", has_text="立项须填写项目编号")
        error.wait_for()
        assert error.is_visible()
        with demo_server.app.app_context():
            assert db.session.get(Project, project_id).stage == ProjectStage.RECOMMENDED
        page.get_by_label("项目编号").fill("2026SX0815")
        button = page.get_by_role("button", name="确认推进")
        assert button.bounding_box()["height"] >= 44
        button.click()
        page.wait_for_url(project_url)
        assert page.get_by_test_id("stage").inner_text() == "立项"
        assert page.get_by_test_id("number").inner_text() == "2026SX0815"

        page.get_by_label("选择文件").set_input_files(str(notice))
        page.get_by_role("button", name="上传").click()
        page.wait_for_url(re.compile(rf".*/projects/{project_id}#attachments$"))
        assert "立项通知.pdf" in page.get_by_test_id("attachments").inner_text()
        _looked_at(page, screenshot_dir, "approved")

        # back to the list and the calendar: the project is there, at 立项
        page.goto(f"{demo_server.url}/projects?stage=approved")
        assert "领带面料抗皱整理技术研发" in page.get_by_test_id("projects").inner_text()
        _looked_at(page, screenshot_dir, "list")
        page.go_back()  # from the back/forward cache, as on a phone
        page.wait_for_load_state()
        assert page.get_by_test_id("stage").inner_text() == "立项"
        page.goto(f"{demo_server.url}/projects/calendar")
        _looked_at(page, screenshot_dir, "calendar")
        with demo_server.app.app_context():
            project = db.session.get(Project, project_id)
            assert [h.to_stage for h in project.history] == [
                ProjectStage.APPLYING,
                ProjectStage.RECOMMENDED,
                ProjectStage.APPROVED,
            ]
            assert [a.filename for a in project.attachments] == ["立项通知.pdf"]
        assert errors == []
    finally:
        context.close()
