"""An officer on a phone opens a need, generates matches, sees why, and accepts one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm import processes
from crm.auth.models import Role
from crm.cooperation.models import Cooperation, Origin, Stage
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need

pytestmark = pytest.mark.browser


def test_generate_explain_accept(live_server, browser, screenshot_dir):
    live_server.add_user("e2ematch", "冯立群")
    with live_server.app.app_context():
        from crm.auth.services import get_user

        inst = Institution(name="中国计量大学（测试）", kind=InstitutionKind.UNIVERSITY)
        expert = Researcher(
            name="祝海峰",
            institution=inst,
            title="教授",
            research_directions="电机振动与噪声；电磁噪声抑制",
            bio="研究家电电机的电磁噪声与结构振动",
        )
        ent = Enterprise(name="嵊州市测试电器有限公司", owner_id=get_user("e2ematch").id)
        db.session.add_all([inst, expert, ent])
        db.session.flush()
        need = Need(
            enterprise_id=ent.id,
            title="马达嗡嗡响",
            description="集成灶风机马达一开就发抖，客户嫌吵",
        )
        db.session.add(need)
        db.session.commit()
        need_id, expert_id = need.id, expert.id

    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, "e2ematch")
        page.goto(f"{live_server.url}/needs/{need_id}")
        page.get_by_test_id("generate-match").click()
        page.wait_for_url(f"{live_server.url}/needs/{need_id}*")
        card = page.get_by_test_id("suggestion").filter(has_text="祝海峰")
        assert card.count() == 1
        marks = card.locator("mark").all_inner_texts()
        assert "电机" in marks and "马达" in marks  # highlighted in both texts
        assert "← 马达" in card.get_by_test_id("matched-terms").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "need-suggestions-375.png", full_page=True)

        card.get_by_role("button", name="采纳").click()
        page.wait_for_url(f"{live_server.url}/needs/{need_id}*")
        assert "已进入合作管道" in page.inner_text("main")
        assert "已采纳" in page.get_by_test_id("suggestion").filter(has_text="祝海峰").inner_text()
        with live_server.app.app_context():
            lead = db.session.scalars(
                sa.select(Cooperation).where(Cooperation.researcher_id == expert_id)
            ).one()
            assert lead.stage == Stage.INTENT
    finally:
        context.close()


def test_a_demo_need_matched_and_accepted_on_a_phone(demo_server, browser, screenshot_dir):
    """From the demo data as it ships: a tie maker's 起皱 need finds the textile finishing
    people through the thesaurus (抗皱 ← 起皱), and accepting one makes a 意向 lead."""
    demo_server.add_user("e2edemo", "沈测试", role=Role.ADMIN)
    with demo_server.app.app_context():
        need = db.session.scalars(
            sa.select(Need)
            .join(Enterprise, Need.enterprise_id == Enterprise.id)
            .where(Need.title == "领带面料起皱问题", Enterprise.name == "嵊州市贝雅领带有限公司")
        ).one()
        need_id = need.id
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        demo_server.sign_in(page, "e2edemo")
        page.goto(f"{demo_server.url}/needs/{need_id}")
        page.get_by_test_id("generate-match").click()
        page.wait_for_url(f"{demo_server.url}/needs/{need_id}*")
        cards = page.get_by_test_id("suggestion")
        assert cards.count() >= 3
        first = cards.first
        assert "抗皱" in first.locator("mark").all_inner_texts()
        assert "← 起皱" in first.get_by_test_id("matched-terms").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "demo-need-suggestions-375.png", full_page=True)
        page.locator("#suggestions").scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir / "demo-need-suggestions-375-view.png")
        first.get_by_role("button", name="采纳").click()
        page.wait_for_url(f"{demo_server.url}/needs/{need_id}*")
        assert "已进入合作管道" in page.inner_text("main")
        with demo_server.app.app_context():
            lead = db.session.scalars(
                sa.select(Cooperation).where(
                    Cooperation.enterprise_id == need.enterprise_id,
                    Cooperation.suggestion_id.is_not(None),
                )
            ).one()
            assert lead.stage == Stage.INTENT and lead.origin == Origin.SUGGESTION
            assert [h.to_stage for h in lead.history] == [Stage.INTENT]
    finally:
        context.close()


def test_an_admin_runs_the_batch_and_watches_it_finish(demo_server, browser, screenshot_dir):
    demo_server.add_user("e2erun", "管理员", role=Role.ADMIN)
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # 为所有待匹配需求生成推荐？
    try:
        demo_server.sign_in(page, "e2erun")
        page.goto(f"{demo_server.url}/admin/matching")
        page.get_by_test_id("start-run").click()
        page.wait_for_url(f"{demo_server.url}/admin/matching")
        assert page.get_by_test_id("run-progress").count() == 1  # the bar, polled
        page.screenshot(path=screenshot_dir / "match-run-progress-375.png")
        # the page reloads itself when the run ends
        page.get_by_test_id("start-run").wait_for(timeout=90_000)
        row = page.get_by_test_id("run-row").first.inner_text()
        assert "已完成" in row
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=screenshot_dir / "match-run-done-375.png")
        with demo_server.app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) > 50
    finally:
        context.close()
        processes.wait_for_children(30)  # reap the run this test started


@pytest.mark.skipif(
    not __import__("crm.text.embed", fromlist=["available"]).available(),
    reason="embedding engine unavailable",
)
def test_a_suggestion_explained_by_meaning_on_a_phone(live_server, browser, screenshot_dir):
    """An owner's symptom that shares no word with the expert's profile: the suggestion says
    why by its closest sentence, highlighted, readable at 375 px."""
    from crm.matching import embedder

    live_server.add_user("e2esem", "韩语义")
    with live_server.app.app_context():
        from crm.auth.services import get_user

        inst = Institution(name="浙江工业大学（测试）", kind=InstitutionKind.UNIVERSITY)
        expert = Researcher(
            name="钱晓雯",
            institution=inst,
            title="副教授",
            research_directions="软件缺陷预测；软件可靠性测试",
            bio="研究工业软件的质量保障与故障定位。长期为本地企业提供技术服务",
        )
        others = [
            Researcher(name="孙振宇", institution=inst, research_directions="电力系统调度"),
            Researcher(name="李若溪", institution=inst, research_directions="抗皱免烫整理"),
        ]
        ent = Enterprise(name="嵊州市测试智能装备有限公司", owner_id=get_user("e2esem").id)
        db.session.add_all([inst, expert, *others, ent])
        db.session.flush()
        need = Need(
            enterprise_id=ent.id,
            title="控制程序老是死机",
            description="设备上的程序跑着跑着就卡死，要重启才好",
        )
        db.session.add(need)
        db.session.commit()
        embedder.run()  # what the web workers' embedder does seconds after a save
        need_id = need.id
        db.session.remove()

    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = context.new_page()
    try:
        live_server.sign_in(page, "e2esem")
        page.goto(f"{live_server.url}/needs/{need_id}")
        page.get_by_test_id("generate-match").click()
        page.wait_for_url(f"{live_server.url}/needs/{need_id}*")
        card = page.get_by_test_id("suggestion").first
        assert "钱晓雯" in card.inner_text()
        semantic = card.get_by_test_id("semantic")
        assert semantic.is_visible() and "语义相近" in semantic.inner_text()
        sentence = semantic.get_by_test_id("semantic-sentence")
        assert sentence.evaluate("e => e.tagName") == "MARK"
        assert sentence.inner_text() in {
            "软件缺陷预测",
            "软件可靠性测试",
            "研究工业软件的质量保障与故障定位",
        }
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = semantic.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        card.scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir / "need-semantic-375.png", full_page=True)
    finally:
        context.close()
