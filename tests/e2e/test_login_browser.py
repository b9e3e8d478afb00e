"""Log in through the real form in Chromium, on a phone and on a desktop."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_out

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "height"), [(375, 800), (1280, 800)])
def test_login_form_leads_to_the_users_home(live_server, browser, screenshot_dir, width, height):
    username = f"e2e{width}"
    live_server.add_user(username, "金海燕")
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        assert page.url.startswith(f"{live_server.url}/login")
        page.screenshot(path=screenshot_dir / f"login-{width}.png", full_page=True)
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/")
        assert "金海燕，您好" in page.inner_text("main")
        page.screenshot(path=screenshot_dir / f"home-{width}.png", full_page=True)

        # nothing wider than the screen: usable on a phone without sideways scrolling
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width

        if width < 992:  # the nav collapses behind the toggler on a phone
            assert not page.get_by_test_id("current-user").is_visible()
        sign_out(page)
        page.wait_for_url(f"{live_server.url}/login")
        assert "您已安全退出" in page.inner_text("main")
    finally:
        context.close()
