"""An officer schedules a demo 对接会 on a phone and records an outcome."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.events.models import Event, EventKind
from crm.extensions import db

pytestmark = pytest.mark.browser


def test_schedule_a_matchmaking_event_on_a_phone(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2eevent", "活动测试", role=Role.ADMIN)
    with demo_server.app.app_context():
        event_id = db.session.scalars(
            sa.select(Event.id).where(Event.kind == EventKind.MATCHMAKING).limit(1)
        ).one()
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        demo_server.sign_in(page, "e2eevent")
        page.goto(f"{demo_server.url}/events/{event_id}")
        page.get_by_test_id("propose").click()
        page.wait_for_url(f"{demo_server.url}/events/{event_id}*")
        assert page.get_by_test_id("meeting").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "event-schedule-375.png")
        first = page.get_by_test_id("meeting").first
        first.locator("summary").click()
        first.get_by_label("对接结果").select_option("lead")
        first.get_by_role("button", name="登记").click()
        page.wait_for_url(f"{demo_server.url}/cooperation/*")
        assert "意向" in page.get_by_test_id("stage").inner_text()
    finally:
        context.close()
