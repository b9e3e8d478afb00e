"""The nav bar's search box on a phone: pinyin initials, an alias, a word inside a text."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind
from crm.needs.models import Need

pytestmark = pytest.mark.browser


def test_search_from_the_nav_bar(live_server, browser, screenshot_dir):
    live_server.add_user("e2esearch", "俞建国")
    with live_server.app.app_context():
        # reference data (crm seed reference) may have brought it already, with its aliases
        polyu = db.session.scalar(sa.select(Institution).where(Institution.name == "香港理工大学"))
        if polyu is None:
            polyu = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY, region="香港")
            polyu.aliases = [InstitutionAlias(alias="港理工"), InstitutionAlias(alias="PolyU")]
        miner = Enterprise(name="嵊州市崇仁硅藻土有限公司")
        db.session.add_all(
            [
                polyu,
                Enterprise(name="浙江锦程领带有限公司"),
                Need(enterprise=miner, title="原土杂质多", description="急需硅藻土提纯技术"),
            ]
        )
        db.session.commit()

    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, "e2esearch")
        for query, expected, shot in (
            ("jcld", "浙江锦程领带有限公司", "search-jcld-375.png"),
            ("港理工", "香港理工大学", "search-polyu-375.png"),
            ("硅藻土", "原土杂质多", "search-diatomite-375.png"),
        ):
            page.get_by_label("展开菜单").click()
            box = page.get_by_placeholder("搜索企业、专家、需求…")
            box.wait_for(state="visible")
            box.fill(query)
            box.press("Enter")
            page.wait_for_url(f"{live_server.url}/search?q=*")
            hit = page.get_by_test_id("search-results").locator(
                ".list-group-item", has_text=expected
            )
            assert hit.count() == 1
            assert page.locator("mark").count() >= 1 or query == "jcld"
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=screenshot_dir / shot, full_page=True)
        hit.click()
        assert "急需硅藻土提纯技术" in page.inner_text("main")
    finally:
        context.close()
