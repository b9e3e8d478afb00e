"""An officer's whole day on a 375 × 812 phone, back/forward cache on, on the demo data: a new
officer signs in, registers a firm, finds it again by part of its name in pinyin, logs a visit
with a need and a next step, generates matches, accepts one, moves it to 签约 (sent once with
its parties missing), sees the dashboard move, completes the task and signs out. axe-core looks
at every page on the way; nothing may scroll sideways."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.clock import local_today
from crm.cooperation.models import Cooperation, Stage
from crm.extensions import db
from crm.needs.models import Need
from crm.visits.models import Task
from tests.e2e import axe
from tests.e2e.conftest import sign_out

pytestmark = pytest.mark.browser

FIRM = "嵊州市锦程领带服饰有限公司"
WIDTH = 375


def _looked_at(page, screenshot_dir, name: str | None = None) -> None:
    """What a person on a phone needs of every page: nothing off to the side, nothing axe
    calls critical or serious; a screenshot of the pages the closing note describes."""
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url
    assert page.locator("h1").count() == 1, page.url
    axe.check(page)
    if name:
        page.screenshot(path=screenshot_dir / f"day-{name}-{WIDTH}.png", full_page=True)


def test_an_officers_day_on_a_phone(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2eday", "吕晓岚")
    with demo_server.app.app_context():
        today = local_today()
    context = browser.new_context(viewport={"width": WIDTH, "height": 812}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # a console error (a missing favicon, a refused script) is one too; a form sent back
    # with its errors answers 400 by design, which Chromium also logs
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    try:
        # a new officer: no firms yet, and told how to get some
        demo_server.sign_in(page, "e2eday")
        empty = page.get_by_test_id("no-enterprises")
        assert "负责的企业没有超过 90 天未走访的" not in page.inner_text("main")
        _looked_at(page, screenshot_dir, "home-new")

        # register a firm from the empty state's own link
        empty.get_by_role("link").first.click()
        page.wait_for_url(f"{demo_server.url}/enterprises/new*")
        _looked_at(page, screenshot_dir)
        page.get_by_label("企业名称").fill(FIRM)
        page.get_by_role("button", name="保存").click()
        page.wait_for_url(re.compile(r".*/enterprises/\d+$"))
        firm_url = page.url

        # find it again as officers type: the start of its name in pinyin, from the nav box
        page.goto(f"{demo_server.url}/")
        toggler = page.get_by_label("展开菜单")
        toggler.click()
        page.locator(".navbar-collapse.show").wait_for()
        box = page.get_by_role("search").get_by_role("searchbox")
        box.fill("jincheng")
        box.press("Enter")
        page.wait_for_url(f"{demo_server.url}/search?q=jincheng")
        results = page.get_by_test_id("search-results")
        assert FIRM in results.inner_text()
        _looked_at(page, screenshot_dir, "search")
        results.get_by_role("link").filter(has_text=FIRM).click()
        page.wait_for_url(firm_url)
        _looked_at(page, screenshot_dir)

        # a visit with a need and a next step: the due date it will get is shown, and said
        page.get_by_test_id("log-visit").click()
        due = page.get_by_label("待办截止日期")
        assert due.input_value() == (today + timedelta(days=7)).isoformat()
        page.get_by_label("走访记录").fill("看了面料车间，老板说领带洗过以后容易起皱。")
        page.locator("#needs-0-title").fill("领带面料洗后起皱")
        page.locator("#needs-0-description").fill(
            "领带面料洗了以后容易起皱，想找能做抗皱整理的高校专家"
        )
        page.get_by_label("下一步（生成待办）").fill("约香港理工大学的老师来厂里看面料")
        _looked_at(page, screenshot_dir, "visit-form")
        page.get_by_role("button", name="保存走访").click()
        page.wait_for_url(firm_url)
        saved = page.inner_text("main")
        assert "约香港理工大学的老师来厂里看面料" in saved
        assert (today + timedelta(days=7)).isoformat() in saved
        _looked_at(page, screenshot_dir, "enterprise-after-visit")
        for control in (
            page.get_by_test_id("timeline").get_by_role("link", name="修改").first,
            page.get_by_test_id("timeline").get_by_role("button", name="删除").first,
            page.get_by_label("展开菜单"),
        ):
            assert control.bounding_box()["height"] >= 44

        # the new need is a link on the firm's 动态
        page.get_by_test_id("timeline").get_by_role("link", name="领带面料洗后起皱").click()
        page.wait_for_url(re.compile(r".*/needs/\d+$"))
        need_url = page.url
        page.get_by_test_id("generate-match").click()
        page.wait_for_url(f"{need_url}*")
        cards = page.get_by_test_id("suggestion")
        assert cards.count() >= 3
        _looked_at(page, screenshot_dir, "need-suggestions")
        cards.first.get_by_role("button", name="采纳").click()
        page.wait_for_url(f"{need_url}*")
        assert "已进入合作管道" in page.inner_text("main")

        need_id = int(need_url.rsplit("/", 1)[1])
        with demo_server.app.app_context():
            coop_id = db.session.scalar(
                sa.select(Cooperation.id)
                .join(Need, Need.enterprise_id == Cooperation.enterprise_id)
                .where(Need.id == need_id)
            )
        page.goto(f"{demo_server.url}/dashboard")
        signed_before = int(page.get_by_test_id("headline-signed").inner_text())

        # 意向 → 洽谈 → 签约; the signing sent once without its parties
        page.goto(f"{demo_server.url}/pipeline")
        _looked_at(page, screenshot_dir, "pipeline")
        page.goto(f"{demo_server.url}/cooperation/{coop_id}?to=negotiation")
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_load_state()
        page.goto(f"{demo_server.url}/cooperation/{coop_id}?to=signed")
        assert page.get_by_label("签约日期").input_value() == today.isoformat()
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_load_state()
        assert "须填写签约各方" in page.inner_text("main")
        assert page.evaluate("document.activeElement.id") == "parties"
        _looked_at(page, screenshot_dir, "signing-errors")
        page.get_by_label("签约各方").fill(f"{FIRM}、香港理工大学")
        page.get_by_role("button", name="确认推进").click()
        page.wait_for_load_state()
        with demo_server.app.app_context():
            assert db.session.get(Cooperation, coop_id).stage == Stage.SIGNED

        # the cooperation's history in people's words
        page.goto(f"{demo_server.url}/cooperation/{coop_id}")
        history = page.get_by_test_id("history").inner_text()
        assert "洽谈" in history and "签约" in history
        assert "negotiation" not in history and "signed" not in history
        _looked_at(page, screenshot_dir, "cooperation")
        page.goto(need_url)
        need_page = page.inner_text("main")
        assert not re.search(r"\b(open|matched|enterprise_id|visit_id)\b", need_page)
        history = page.locator("section[aria-labelledby='history-h']")
        assert FIRM in history.inner_text()  # the enterprise by its name, not its id
        history.scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir / f"day-need-history-{WIDTH}.png")

        page.goto(f"{demo_server.url}/dashboard")
        assert int(page.get_by_test_id("headline-signed").inner_text()) == signed_before + 1
        _looked_at(page, screenshot_dir, "dashboard")

        # home: the task is there, a week ahead; done with one tap
        page.goto(f"{demo_server.url}/")
        ahead = page.get_by_test_id("tasks-ahead")
        task = ahead.get_by_role("listitem").filter(has_text="约香港理工大学的老师来厂里看面料")
        assert task.count() == 1
        done = task.get_by_role("button", name="完成")
        box = done.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
        _looked_at(page, screenshot_dir, "home")
        done.click()
        page.wait_for_url(f"{demo_server.url}/*")
        with demo_server.app.app_context():
            assert db.session.scalar(
                sa.select(Task.done_at).where(Task.title == "约香港理工大学的老师来厂里看面料")
            )
        assert errors == []

        sign_out(page)
        page.wait_for_url(re.compile(r".*/login.*"))
        page.go_back()
        assert "吕晓岚" not in page.content()
    finally:
        context.close()
