"""An officer makes an API token on a phone: shown once, copyable, then listed by its prefix."""

from __future__ import annotations

import urllib.request

import pytest

pytestmark = pytest.mark.browser


def test_an_officer_makes_and_revokes_a_token_on_a_phone(live_server, browser, screenshot_dir):
    live_server.add_user("e2etoken", "令牌测试")
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, "e2etoken")
        page.goto(f"{live_server.url}/tokens")
        page.get_by_label("名称").fill("我的同步脚本")
        page.get_by_role("button", name="生成令牌").click()
        shown = page.get_by_test_id("new-token")
        shown.wait_for()
        token = shown.locator("code").inner_text().strip()
        assert token.startswith("khn_")
        page.screenshot(path=screenshot_dir / "tokens-375.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{live_server.url}/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            assert answer.status == 200

        page.goto(f"{live_server.url}/tokens")
        assert token not in page.content()  # shown once only
        page.get_by_role("button", name="吊销").click()
        page.wait_for_url(f"{live_server.url}/tokens")
        assert "已吊销" in page.inner_text("main")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        assert refused.value.code == 401
        refused.value.close()
    finally:
        context.close()


def test_the_api_docs_read_on_a_phone(live_server, browser, screenshot_dir):
    """The docs page from the tokens page: every operation opens, nothing runs off the side,
    and nothing is blocked by the CSP (no inline script or style, no CDN)."""
    live_server.add_user("e2edocs", "文档测试")
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
    )
    try:
        live_server.sign_in(page, "e2edocs")
        page.goto(f"{live_server.url}/tokens")
        page.get_by_role("link", name="接口文档").click()
        page.wait_for_url(f"{live_server.url}/api/v1/docs")
        operations = page.get_by_test_id("operation")
        document = page.request.get(f"{live_server.url}/api/v1/openapi.json").json()
        listed = sum(
            1 for item in document["paths"].values() for method in item if method != "parameters"
        )
        assert operations.count() == listed >= 46  # every operation of the document
        patch = operations.filter(has_text="修改企业")
        patch.locator("summary").click()
        assert patch.get_by_text("If-Match").first.is_visible()
        page.screenshot(path=screenshot_dir / "api-docs-375.png", full_page=False)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert not blocked
    finally:
        context.close()
