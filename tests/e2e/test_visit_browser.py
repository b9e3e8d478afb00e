"""An officer on a phone logs a visit in an enterprise's yard and sees it everywhere."""

from __future__ import annotations

import pytest

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.seed.services import load_reference

pytestmark = pytest.mark.browser


def test_phone_visit_with_need_and_next_step(live_server, browser, screenshot_dir):
    live_server.add_user("e2evisit", "钱丽萍")
    with live_server.app.app_context():
        load_reference()
        from crm.auth.services import get_user

        ent = Enterprise(name="嵊州市云锦织造有限公司", owner_id=get_user("e2evisit").id)
        db.session.add(ent)
        db.session.commit()
        ent_id = ent.id

    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, "e2evisit")

        page.get_by_label("展开菜单").click()
        page.get_by_role("link", name="企业").click()
        page.get_by_role("link", name="嵊州市云锦织造有限公司").click()
        page.wait_for_url(f"{live_server.url}/enterprises/{ent_id}")
        page.screenshot(path=screenshot_dir / "enterprise-375.png", full_page=True)

        page.get_by_test_id("log-visit").click()
        page.get_by_label("走访记录").fill("参观织造车间，企业反映提花新品设计周期长。")
        page.locator("#needs-0-title").fill("提花领带新品设计周期太长")
        page.locator("#needs-0-description").fill("希望引进纹织CAD快速设计")
        page.get_by_label("下一步（生成待办）").fill("联系浙江理工大学丝绸团队")
        page.screenshot(path=screenshot_dir / "visit-form-375.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.get_by_role("button", name="保存走访").click()
        page.wait_for_url(f"{live_server.url}/enterprises/{ent_id}")

        timeline = page.get_by_test_id("timeline").inner_text()
        assert "钱丽萍 走访" in timeline
        assert "提花领带新品设计周期太长" in timeline
        assert "已记录走访，新增 1 条技术需求" in page.inner_text("main")
        page.screenshot(path=screenshot_dir / "enterprise-after-visit-375.png", full_page=True)

        page.goto(f"{live_server.url}/")
        main = page.inner_text("main")
        assert "嵊州市云锦织造有限公司" in main  # recent visits
        assert "负责企业 1 家" in main
        page.screenshot(path=screenshot_dir / "home-after-visit-375.png", full_page=True)
    finally:
        context.close()
