"""Leadership's pipeline: drag a deal from 洽谈 to 签约 (the signing date is asked), on a
desktop; move one with the card's buttons on a phone."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.clock import local_today
from crm.cooperation.models import Cooperation, Stage
from crm.extensions import db

pytestmark = pytest.mark.browser


def _count(page, stage: str) -> int:
    return int(page.get_by_test_id(f"count-{stage}").inner_text())


def test_drag_a_deal_to_signed_and_fill_the_signing_date(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2epipe", "管道测试", role=Role.ADMIN)
    with demo_server.app.app_context():
        today = local_today()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        demo_server.sign_in(page, "e2epipe")
        page.goto(f"{demo_server.url}/dashboard")
        signed_this_year = int(page.get_by_test_id("headline-signed").inner_text())
        page.goto(f"{demo_server.url}/pipeline")
        negotiating, signed = _count(page, "negotiation"), _count(page, "signed")
        assert negotiating >= 1
        page.screenshot(path=screenshot_dir / "pipeline-1280.png", full_page=True)
        card = page.get_by_test_id("column-negotiation").get_by_test_id("card").first
        card.scroll_into_view_if_needed()
        card.drag_to(page.get_by_test_id("column-signed"))
        page.wait_for_url(re.compile(r".*/cooperation/\d+\?to=signed.*"))
        coop_id = int(re.search(r"/cooperation/(\d+)", page.url).group(1))
        with demo_server.app.app_context():
            assert db.session.get(Cooperation, coop_id).stage == Stage.NEGOTIATION
        assert page.get_by_label("推进到").input_value() == "signed"
        page.get_by_label("签约日期").fill(today.isoformat())
        page.get_by_label("签约各方").fill("测试企业、浙江大学")
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_url(f"{demo_server.url}/pipeline*")
        assert _count(page, "negotiation") == negotiating - 1
        assert _count(page, "signed") == signed + 1
        moved = page.get_by_test_id("column-signed").locator(f"[data-id='{coop_id}']")
        assert moved.count() == 1
        page.goto(f"{demo_server.url}/dashboard")
        assert int(page.get_by_test_id("headline-signed").inner_text()) == signed_this_year + 1
        with demo_server.app.app_context():
            coop = db.session.get(Cooperation, coop_id)
            assert coop.stage == Stage.SIGNED and coop.signed_on == today
            assert coop.history[-1].from_stage == Stage.NEGOTIATION
    finally:
        context.close()


def test_move_with_the_cards_buttons_on_a_phone(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2epipephone", "手机测试", role=Role.ADMIN)
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        demo_server.sign_in(page, "e2epipephone")
        page.goto(f"{demo_server.url}/pipeline")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "pipeline-375.png")
        card = page.get_by_test_id("column-intent").get_by_test_id("card").first
        coop_id = int(card.get_attribute("data-id"))
        card.get_by_role("button", name="→ 洽谈").click()
        page.wait_for_url(f"{demo_server.url}/pipeline*")
        assert (
            page.get_by_test_id("column-negotiation").locator(f"[data-id='{coop_id}']").count() == 1
        )
        with demo_server.app.app_context():
            stage = db.session.scalar(sa.select(Cooperation.stage).where(Cooperation.id == coop_id))
            assert stage == Stage.NEGOTIATION
    finally:
        context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_dashboard_draws_its_charts(demo_server, browser, screenshot_dir, width):
    demo_server.add_user(f"e2edash{width}", "看板测试", role=Role.VIEWER)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        demo_server.sign_in(page, f"e2edash{width}")
        page.goto(f"{demo_server.url}/dashboard")
        for chart in ("progress", "funnel", "visits", "industries", "institutions"):
            assert page.locator(f"[data-chart='{chart}'] svg").count() == 1, chart
        assert errors == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=screenshot_dir / f"dashboard-{width}.png", full_page=True)
    finally:
        context.close()


def test_a_refused_signing_opens_at_its_first_error_on_a_phone(
    demo_server, browser, screenshot_dir
):
    """签约 sent without its date and parties: both are said at once, and the page comes back
    scrolled to the first of them, focused (not at the top, the message two screens down)."""
    demo_server.add_user("e2esignerr", "签约测试", role=Role.ADMIN)
    with demo_server.app.app_context():
        coop_id = db.session.scalar(
            sa.select(Cooperation.id)
            .where(Cooperation.stage == Stage.NEGOTIATION, Cooperation.deleted_at.is_(None))
            .limit(1)
        )
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = context.new_page()
    try:
        demo_server.sign_in(page, "e2esignerr")
        page.goto(f"{demo_server.url}/cooperation/{coop_id}?to=signed")
        assert (
            page.get_by_label("签约日期").input_value()
            == page.get_by_label("变动日期").input_value()
        )
        page.get_by_label("签约日期").fill("")
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_load_state()
        main = page.inner_text("main")
        assert "须填写签约日期" in main and "须填写签约各方" in main
        assert page.evaluate("document.activeElement.id") == "signed_on"
        box = page.evaluate(
            "(() => { const r = document.activeElement.getBoundingClientRect();"
            " return [r.top, r.bottom, window.innerHeight]; })()"
        )
        assert 0 <= box[0] and box[1] <= box[2]
        page.screenshot(path=screenshot_dir / "signing-errors-375.png")
        with demo_server.app.app_context():
            assert db.session.get(Cooperation, coop_id).stage == Stage.NEGOTIATION
    finally:
        context.close()
