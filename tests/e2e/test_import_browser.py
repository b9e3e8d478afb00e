"""An admin uploads an officer's roster, sees the preview with a row error, commits, reverts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from tests.imports.helpers import write_xlsx

pytestmark = pytest.mark.browser


def _live_researchers(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Researcher.name)
                .where(Researcher.deleted_at.is_(None))
                .order_by(Researcher.name)
            )
        )


@pytest.mark.parametrize("width", [375, 1280])
def test_upload_preview_commit_revert(live_server, browser, screenshot_dir, tmp_path, width):
    username = f"e2eimport{width}"
    live_server.add_user(username, "孙建华", Role.ADMIN)
    # names no other browser test uses: they share one database
    with live_server.app.app_context():
        if (
            db.session.scalar(sa.select(Institution).where(Institution.name == "绍兴文理学院"))
            is None
        ):
            db.session.add(Institution(name="绍兴文理学院", kind=InstitutionKind.UNIVERSITY))
            db.session.commit()
    rows = [
        ["姓名", "所在单位", "职称", "研究方向"],
        [f"陈思远{width}", "绍文理", "教授", "纺织品功能整理；抗皱免烫整理"],
        [f"刘海峰{width}", "绍兴文理学院", "副教授", "数码印花"],
        [f"周雪梅{width}", "东海新材料研究院", "研究员", "硅藻土提纯"],
        [None, "绍文理", "教授"],
    ]
    sheet = write_xlsx(tmp_path / "专家名单.xlsx", rows)
    before = _live_researchers(live_server.app)

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the revert confirmation
    try:
        live_server.sign_in(page, username)

        page.goto(f"{live_server.url}/imports/")
        page.get_by_label("表格文件（.xlsx 或 .csv）").set_input_files(str(sheet))
        page.screenshot(path=screenshot_dir / f"import-upload-{width}.png", full_page=True)
        page.get_by_role("button", name="上传并预览").click()
        page.wait_for_url(f"{live_server.url}/imports/preview")

        issues = page.get_by_test_id("import-issues").inner_text()
        assert "姓名不能为空" in issues and "5" in issues  # the row number
        assert "新增" in page.get_by_test_id("import-counts").inner_text()
        assert _live_researchers(live_server.app) == before  # a preview writes nothing
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=screenshot_dir / f"import-preview-{width}.png", full_page=True)

        page.get_by_test_id("confirm-import").click()
        page.wait_for_url(f"{live_server.url}/imports/*")
        assert "已导入专家" in page.inner_text("main")
        names = _live_researchers(live_server.app)
        assert {f"陈思远{width}", f"刘海峰{width}", f"周雪梅{width}"} <= set(names)
        page.screenshot(path=screenshot_dir / f"import-batch-{width}.png", full_page=True)

        page.get_by_role("button", name="撤销这次导入").click()
        page.wait_for_url(f"{live_server.url}/imports/*")
        assert "已撤销批次" in page.inner_text("main")
        assert _live_researchers(live_server.app) == before
        page.screenshot(path=screenshot_dir / f"import-reverted-{width}.png", full_page=True)
    finally:
        context.close()
