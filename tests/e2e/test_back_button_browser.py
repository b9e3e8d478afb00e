"""After signing out on a phone, the back button shows nothing of the signed-in pages: they are
sent `Cache-Control: no-store` and a page the back/forward cache restores asks the server
again (Chromium with its back/forward cache on, as on a phone)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_out

pytestmark = pytest.mark.browser


def test_back_after_sign_out_shows_the_login_page_not_the_home(live_server, browser):
    live_server.add_user("backbutton", "柏秋云")
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("用户名").fill("backbutton")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/")
        assert "柏秋云" in page.inner_text("body")
        answer = page.goto(f"{live_server.url}/enterprises/")
        assert answer.headers["cache-control"] == "no-store"
        sign_out(page)
        page.wait_for_url(f"{live_server.url}/login")

        page.go_back()
        page.wait_for_load_state("load")
        page.wait_for_url(f"{live_server.url}/login**")
        assert "柏秋云" not in page.inner_text("body")
        page.go_back()  # and further back: the home page after signing in
        page.wait_for_load_state("load")
        page.wait_for_url(f"{live_server.url}/login**")
        assert "柏秋云" not in page.inner_text("body")
    finally:
        context.close()
