"""Every main page of the demo county, on a phone and on a desktop, passes axe-core with no
critical or serious violation and has one h1; on a phone nothing scrolls sideways, what a
thumb taps is 44 px tall, labels and headers stay on one line and the charts read."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from crm.auth import services as auth_services
from crm.auth.models import Role
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.events.models import Event
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need
from tests.conftest import PASSWORD
from tests.e2e import axe

pytestmark = pytest.mark.browser

OFFICER = "shenxf"  # a demo officer: his own firms, visits, tasks and needs
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


@dataclass
class Tour:
    officer: list[str]  # pages seen as the officer (his home page, his firm, his need)
    admin: list[str]  # the rest, and the admin pages, as an admin
    fresh_need: str  # the officer's need whose matches the tour generates


def _tour(demo_server) -> Tour:
    """The pages of the demo data an officer and an admin go through."""
    with demo_server.app.app_context():
        officer = auth_services.get_user(OFFICER)
        auth_services.set_password(officer, PASSWORD)  # the demo's passwords are random
        db.session.commit()
        first = lambda query: db.session.scalars(query.limit(1)).one()  # noqa: E731
        own = first(
            sa.select(Enterprise.id)
            .where(Enterprise.owner_id == officer.id)
            .order_by(Enterprise.id)
        )
        own_need = first(
            sa.select(Need.id)
            .join(Enterprise, Need.enterprise_id == Enterprise.id)
            .where(Enterprise.owner_id == officer.id, Need.deleted_at.is_(None))
            .order_by(Need.id)
        )
        decided = first(  # the demo need with the most suggestions (accepted ones)
            sa.select(Suggestion.need_id)
            .group_by(Suggestion.need_id)
            .order_by(sa.func.count().desc(), Suggestion.need_id)
        )
        coop = first(sa.select(Cooperation.id).order_by(Cooperation.id))
        researcher = first(sa.select(Researcher.id).order_by(Researcher.id))
        institution = first(sa.select(Institution.id).order_by(Institution.id))
        event = first(sa.select(Event.id).order_by(Event.id))
    fresh_need = f"/needs/{own_need}"
    return Tour(
        officer=[
            "/",
            "/tasks",
            f"/enterprises/{own}",
            f"/enterprises/{own}/visits/new",
            fresh_need,
        ],
        admin=[
            "/enterprises/",
            "/enterprises/new",
            "/needs/",
            f"/needs/{decided}",
            "/researchers/",
            f"/researchers/{researcher}",
            "/institutions/",
            f"/institutions/{institution}",
            "/achievements/",
            "/search?q=领带",
            "/pipeline",
            f"/cooperation/{coop}",
            "/events",
            f"/events/{event}",
            "/dashboard",
            "/targets",
            "/targets/new_hitech_national",
            "/targets/edit",
            "/imports/",
            "/admin/users",
            "/admin/matching",
            "/admin/thesaurus",
            "/admin/duplicates/",
            "/admin/audit",
            "/admin/trash",
            "/tokens",
        ],
        fresh_need=fresh_need,
    )


def _visit(page, url: str, path: str, fresh_need: str) -> int:
    """Opens the page; the officer's need gets its matches generated (suggestions waiting for
    a decision, with their explanations and the prior badges) the first time round."""
    response = page.goto(f"{url}{path}")
    page.wait_for_load_state("networkidle")
    if path == fresh_need and not page.get_by_test_id("suggestion").count():
        page.get_by_test_id("generate-match").click()
        page.wait_for_url(f"{url}{path}#suggestions")
        page.wait_for_load_state("networkidle")
    return response.status


def _problems(page, width: int) -> list[str]:
    """What is wrong with the page as shown: axe's findings, headings, sideways scrolling."""
    problems = []
    found = axe.violations(page)
    if found:
        problems.append(axe.report(found, page.url))
    headings = page.locator("h1").count()
    if headings != 1:
        problems.append(f"{page.url}: {headings} h1 elements, not one")
    if width < 576:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"{page.url}: scrolls sideways ({scroll} px wide at {width} px)")
    return problems


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_every_page_passes_axe(demo_server, browser, viewport):
    admin = f"e2ea11y{viewport['width']}"
    demo_server.add_user(admin, "无障碍测试", role=Role.ADMIN)
    tour = _tour(demo_server)
    problems: list[str] = []
    for username, paths in ((OFFICER, tour.officer), (admin, tour.admin)):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        try:
            if username == OFFICER:  # the sign-in page, as anyone first sees it
                page.goto(f"{demo_server.url}/login")
                problems.extend(_problems(page, viewport["width"]))
            demo_server.sign_in(page, username)
            for path in paths:
                status = _visit(page, demo_server.url, path, tour.fresh_need)
                if status != 200:
                    problems.append(f"{path}: HTTP {status}")
                    continue
                problems.extend(_problems(page, viewport["width"]))
        finally:
            context.close()
    assert not problems, f"at {viewport['width']} px:\n" + "\n".join(problems)


# What a thumb and an eye need on a phone, measured in the page: each visible control at least
# 44 px tall; each button's label and each column header on one line; no two of a chart's
# texts on top of each other, and no name in a chart cut short.
MEASURE = """() => {
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility === "visible";
  const lines = (e) => {  // the most lines any one piece of the element's text takes
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    let most = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const bottoms = new Set();
      for (const r of range.getClientRects()) if (r.width && r.height) bottoms.add(Math.round(r.bottom));
      most = Math.max(most, bottoms.size);
    }
    return most;
  };
  const name = (e) => {
    const classes = String(e.className).trim().split(/\\s+/).filter(Boolean).join(".");
    const text = (e.innerText || e.value || e.getAttribute("aria-label") || "").trim().slice(0, 20);
    return `${e.tagName.toLowerCase()}${classes ? "." + classes : ""} “${text}”`;
  };
  const small = [], wrapped = [], overlapping = [], cut = [];
  document.querySelectorAll(".btn, .form-control, .form-select, .page-link").forEach((e) => {
    if (!shown(e) || e.closest(".dropdown-menu, .collapse:not(.show)")) return;
    const box = e.getBoundingClientRect();
    if (box.height < 43.5) small.push(`${name(e)} ${Math.round(box.height)} px`);
    if (e.matches(".btn, .page-link") && lines(e) > 1) wrapped.push(name(e));
  });
  document.querySelectorAll("thead th").forEach((e) => {
    if (shown(e) && lines(e) > 1) wrapped.push(name(e));
  });
  document.querySelectorAll("[data-chart]").forEach((chart) => {
    const texts = [...chart.querySelectorAll("svg text")]
      .map((t) => [t.textContent, t.getBoundingClientRect()])
      .filter(([text, b]) => text.trim() && b.width && b.height);
    texts.forEach(([a, p], i) => {
      if (a.includes("…") || a.includes("...")) cut.push(`${chart.dataset.chart}: “${a}”`);
      texts.slice(i + 1).forEach(([b, q]) => {
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (x > 1 && y > 1) overlapping.push(`${chart.dataset.chart}: “${a}” × “${b}”`);
      });
    });
  });
  return { small, wrapped, overlapping, cut };
}"""


def test_on_a_phone_pages_can_be_read_and_tapped(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2ephone", "手机检查", role=Role.ADMIN)
    tour = _tour(demo_server)
    found: list[str] = []
    admin_pages = [
        "/dashboard",
        "/targets",
        "/targets/edit",
        "/enterprises/",
        "/needs/",
        "/pipeline",
    ]
    for username, paths in ((OFFICER, tour.officer), ("e2ephone", admin_pages)):
        context = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = context.new_page()
        try:
            demo_server.sign_in(page, username)
            for path in paths:
                _visit(page, demo_server.url, path, tour.fresh_need)
                slug = path.strip("/").replace("/", "-") or "home"
                page.screenshot(path=screenshot_dir / f"phone-{slug}-375.png", full_page=True)
                for kind, items in page.evaluate(MEASURE).items():
                    found.extend(f"{path}: {kind}: {item}" for item in items)
                if path == "/dashboard":
                    found.extend(_dashboard_problems(page))
        finally:
            context.close()
    assert not found, "\n".join(found)


def _dashboard_problems(page) -> list[str]:
    """The year's numbers come first; every target's name is written whole in its chart."""
    problems = []
    top = lambda locator: locator.bounding_box()["y"]  # noqa: E731
    headline = top(page.get_by_test_id("headline"))
    for other in (page.get_by_test_id("report"), page.locator("[data-chart]").first):
        if top(other) < headline:
            problems.append("/dashboard: the headline numbers are not the first thing shown")
    names = page.evaluate(
        "JSON.parse(document.getElementById('dashboard-data').textContent)"
        ".progress.map((p) => p.label)"
    )
    written = page.locator("[data-chart='progress'] svg text").all_text_contents()
    problems.extend(
        f"/dashboard: target “{name}” is not written whole in the chart"
        for name in names
        if name not in written
    )
    return problems
