"""No page breaks under the content security policy: Chromium reports every refused script
or style in the console; a tour of the pages must produce none, and still work."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.events.models import Event
from crm.extensions import db
from crm.needs.models import Need

pytestmark = pytest.mark.browser


def test_a_tour_of_the_pages_breaks_no_policy(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2ecsp", "安全测试", role=Role.ADMIN)
    with demo_server.app.app_context():
        enterprise = db.session.scalars(sa.select(Enterprise.id).limit(1)).one()
        need = db.session.scalars(sa.select(Need.id).limit(1)).one()
        coop = db.session.scalars(sa.select(Cooperation.id).limit(1)).one()
        event = db.session.scalars(sa.select(Event.id).limit(1)).one()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: (
            refused.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: refused.append(f"{page.url}: {e}"))
    try:
        demo_server.sign_in(page, "e2ecsp")
        for path in (
            "/",
            "/enterprises/",
            f"/enterprises/{enterprise}",
            f"/needs/{need}",
            "/pipeline",
            f"/cooperation/{coop}",
            "/dashboard",
            "/targets",
            f"/events/{event}",
            "/admin/thesaurus?try=马达嗡嗡响",
            "/admin/matching",
            "/search?q=领带",
            "/match?q=马达嗡嗡响",
        ):
            page.goto(f"{demo_server.url}{path}")
            page.wait_for_load_state("networkidle")
        page.goto(f"{demo_server.url}/targets")
        widths = page.locator(".progress-bar").evaluate_all("bars => bars.map(b => b.style.width)")
        assert widths and all(w.endswith("%") for w in widths)
        page.goto(f"{demo_server.url}/dashboard")
        assert page.locator("[data-chart='progress'] svg").count() == 1
        # hovering a chart shows its tooltip, drawn without a style attribute the policy
        # would refuse (it logged 26 refusals and lost its look)
        for chart in page.locator("[data-chart]").all():
            chart.scroll_into_view_if_needed()
            before = chart.locator("svg text").count()
            box = chart.bounding_box()
            shown = before
            for fy in (0.5, 0.3, 0.7, 0.2, 0.8):  # across the chart until a tooltip shows
                for fx in (0.5, 0.3, 0.7):
                    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                    page.wait_for_timeout(100)
                    shown = chart.locator("svg text").count()
                    if shown > before:
                        break
                if shown > before:
                    break
            assert shown > before, chart.get_attribute("data-chart")  # the tooltip's text
            name = chart.get_attribute("data-chart")
            chart.screenshot(path=screenshot_dir / f"dashboard-tooltip-{name}.png")
        assert page.locator("[data-chart] div[style*='position: absolute']").count() == 0
        assert refused == []
    finally:
        context.close()
