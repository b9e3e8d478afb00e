"""The cultivation pool on a 375 × 812 phone, on the demo county's pool: the board's columns
stack (nothing scrolls sideways, every control a thumb's height), and an officer records the
认定 of a firm that has applied — the certificate field shown for it, the reason field not,
refused first without the certificate (said on the field) — and the board counts it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.cultivation.models import Candidate, PoolStage
from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.e2e import axe
from tests.e2e.test_a11y_browser import MEASURE

pytestmark = pytest.mark.browser

WIDTH = 375
FIRM = "嵊州市贝雅领带有限公司"  # 高新技术科's firm, in the pool at 已申报


def _looked_at(page, screenshot_dir, name: str) -> None:
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url
    assert page.locator("h1").count() == 1, page.url
    measured = page.evaluate(MEASURE)
    assert not measured["small"] and not measured["wrapped"], measured
    axe.check(page)
    page.screenshot(path=screenshot_dir / f"cultivation-{name}-{WIDTH}.png", full_page=True)


def _count(page, stage: str) -> int:
    return int(page.get_by_test_id(f"count-{stage}").inner_text())


def test_an_officer_records_a_recognition_on_a_phone(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2epool", "培育测试")
    with demo_server.app.app_context():
        candidate_id = db.session.scalar(
            sa.select(Candidate.id)
            .join(Enterprise, Candidate.enterprise_id == Enterprise.id)
            .where(Enterprise.name == FIRM)
        )
    context = browser.new_context(viewport={"width": WIDTH, "height": 812}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    try:
        demo_server.sign_in(page, "e2epool")
        page.goto(f"{demo_server.url}/cultivation")
        _looked_at(page, screenshot_dir, "board")
        applied, granted = _count(page, "applied"), _count(page, "granted")
        assert applied >= 1
        columns = page.locator("[data-testid^='column-']")
        assert columns.count() == len(PoolStage)
        first, second = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
        assert second["y"] > first["y"] and abs(second["x"] - first["x"]) < 1  # stacked
        card = page.get_by_test_id("column-applied").locator(f"[data-id='{candidate_id}']")
        card.get_by_role("link", name=FIRM).click()
        page.wait_for_url(re.compile(rf".*/cultivation/{candidate_id}$"))
        record = page.get_by_label("记录")
        record.select_option("granted")
        assert page.get_by_label("证书编号").is_visible()
        assert not page.get_by_label("原因").is_visible()
        _looked_at(page, screenshot_dir, "candidate")
        page.get_by_role("button", name="保存记录").click()
        page.wait_for_load_state()
        assert page.get_by_text("认定须填写证书编号").is_visible()
        assert page.get_by_label("记录").input_value() == "granted"
        page.get_by_label("证书编号").fill("GR2026330001")
        page.get_by_role("button", name="保存记录").click()
        page.wait_for_url(re.compile(rf".*/cultivation/{candidate_id}$"))
        assert page.get_by_test_id("stage").inner_text() == "认定"
        assert "GR2026330001" in page.get_by_test_id("recognition").inner_text()
        record.select_option("note")
        assert not page.get_by_label("证书编号").is_visible()
        page.goto(f"{demo_server.url}/cultivation")
        assert (_count(page, "applied"), _count(page, "granted")) == (applied - 1, granted + 1)
        with demo_server.app.app_context():
            saved = db.session.get(Candidate, candidate_id)
            assert saved.stage == PoolStage.GRANTED
            assert saved.recognition.certificate_no == "GR2026330001"
    finally:
        context.close()
    assert not errors, errors
