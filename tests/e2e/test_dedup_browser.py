"""An admin on a phone reviews a duplicate pair, merges it, and undoes the merge."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db

pytestmark = pytest.mark.browser


def test_review_merge_and_undo_on_a_phone(live_server, browser, screenshot_dir):
    live_server.add_user("e2ededup", "马国栋", Role.ADMIN)
    with live_server.app.app_context():
        db.session.add_all(
            [
                Enterprise(name="嵊州市华艺纺织有限公司", main_products="提花面料"),
                Enterprise(name="浙江华艺纺织（嵊州）有限公司", address="三江街道"),
            ]
        )
        db.session.commit()
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        live_server.sign_in(page, "e2ededup")
        page.goto(f"{live_server.url}/admin/duplicates/?kind=enterprises")
        pairs = page.get_by_test_id("duplicate-pairs")
        assert "华艺纺织" in pairs.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "duplicates-375.png", full_page=True)

        pairs.get_by_role("button", name="保留这条并合并").first.click()
        page.wait_for_url(f"{live_server.url}/admin/duplicates/*")
        assert "已把" in page.inner_text("main")
        with live_server.app.app_context():
            live = db.session.scalars(
                sa.select(Enterprise.name).where(
                    Enterprise.deleted_at.is_(None), Enterprise.name.like("%华艺纺织%")
                )
            ).all()
        assert len(live) == 1
        page.screenshot(path=screenshot_dir / "duplicates-merged-375.png", full_page=True)

        page.get_by_test_id("merges").get_by_role("button", name="撤销合并").first.click()
        page.wait_for_url(f"{live_server.url}/admin/duplicates/*")
        assert "已撤销合并" in page.inner_text("main")
    finally:
        context.close()
