"""Script in the data never runs: every text column of every record in the demo data set is
overwritten with markup that would run script or add elements if it reached a page unescaped
(an element, an attribute break-out, a `</script>` that would end the dashboard's JSON block),
then Chromium opens every page of `app.url_map` with ids of real records. No dialog may open,
no element of the payload may appear in the DOM, on any page.

The content security policy would block an inline handler anyway: the DOM check is what shows
the escaping itself holds.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth.models import Role, User
from crm.clock import local_today
from crm.cooperation.models import Attachment, Cooperation
from crm.events.models import Event, EventPairing, EventParticipant
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.institutions.models import Achievement, Institution, Researcher
from crm.matching.models import MatchRun, Suggestion, ThesaurusEntry
from crm.needs.models import Need
from crm.seed import demo as seed
from crm.text.analyzer import get_analyzer
from crm.text.docs import changed
from crm.visits.models import Task, Visit
from tests.conftest import Databases, make_test_app
from tests.e2e.conftest import _serving
from tests.routes import real_url

pytestmark = pytest.mark.browser

PAYLOAD = (
    '<img src=x data-xss="img" onerror="alert(1)">'
    '"\'><svg data-xss="svg" onload=alert(2)></script><b data-xss="script-end">'
)
#: Text columns that are not free text a person types (keys, digests, hashes, the index).
NOT_TEXT = {"password_hash", "username", "sha256", "stored_name", "content_type", "token", "code"}
NOT_TABLES = {"audit_entry", "search_term", "match_doc", "index_version", "alembic_version"}
IDS = {
    "enterprise_id": None,  # filled from the table of the same name below
    "coop_id": Cooperation,
    "attachment_id": Attachment,
    "event_id": Event,
    "pairing_id": EventPairing,
    "participant_id": EventParticipant,
    "task_id": Task,
    "visit_id": Visit,
    "suggestion_id": Suggestion,
    "batch_id": ImportBatch,
    "entry_id": ThesaurusEntry,
    "run_id": MatchRun,
}
RECORDS = {
    "/needs/": Need,
    "/researchers/": Researcher,
    "/institutions/": Institution,
    "/achievements/": Achievement,
}
FILES = re.compile(r"\.xlsx$|^/attachments/")  # downloads, not pages


def _poison() -> int:
    """Every free-text column of every row: the row's id (unique columns stay unique) and
    PAYLOAD, cut to the column's length. Returns how many columns were written."""
    written = 0
    for name, table in db.metadata.tables.items():
        if name in NOT_TABLES or "id" not in table.c:
            continue
        columns = [
            c
            for c in table.c
            if isinstance(c.type, sa.String | sa.Text)
            and not isinstance(c.type, sa.Enum)
            and c.name not in NOT_TEXT
            and not c.foreign_keys
        ]
        if columns:
            value = sa.cast(table.c.id, sa.String) + sa.literal(PAYLOAD)
            db.session.execute(
                table.update().values(
                    {c.name: sa.func.substr(value, 1, c.type.length or 10**6) for c in columns}
                )
            )
            written += len(columns)
    changed(db.session.connection(), "thesaurus")  # as the admin form would: lines changed
    db.session.commit()
    return written


def _first(model: Any) -> int | None:
    return db.session.scalar(sa.select(model.id).order_by(model.id).limit(1))


def _pages(app: Any) -> list[str]:
    from crm.enterprises.models import Enterprise

    ids: dict[str, Any] = {k: _first(m) for k, m in IDS.items() if m is not None}
    ids["enterprise_id"] = _first(Enterprise)
    ids["username"] = db.session.scalar(sa.select(User.username).where(User.role == Role.ADMIN))
    ids["code"] = "new_hitech_national"
    ids["kind"] = "need"
    ids["merge_id"] = None
    records = {prefix: _first(model) for prefix, model in RECORDS.items()}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "main.healthz"):
            continue
        if rule.rule.startswith("/api/"):  # JSON for token holders, not pages
            continue
        url = real_url(rule, ids, records)
        if url is None:
            continue  # the demo data has no record of that kind
        if not FILES.search(url):
            urls.append(url)
    q = PAYLOAD[:12]
    urls += [f"/search?q={q}", f"/enterprises/?q={q}", f"/match?q={q}", "/admin/thesaurus?try=" + q]
    return sorted(set(urls))


def test_script_in_every_text_field_never_runs_on_any_page(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory, browser
):
    app = make_test_app(databases.new(), tmp_path_factory.mktemp("xss"), TESTING=False)
    try:
        _tour(app, browser)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        get_analyzer().thesaurus_version = None  # the process-wide analyzer read poisoned lines


def _tour(app: Any, browser: Any) -> None:
    with app.app_context():
        upgrade()
        seed.load_demo(local_today())
        db.session.commit()
        from crm.auth import services as auth_services

        auth_services.create_user(
            auth_services.UserData("e2exss", "转义测试", Role.ADMIN, "xss-test-password-1")
        )
        db.session.commit()
        assert _poison() >= 40
        pages = _pages(app)
    assert len(pages) >= 50
    with _serving(app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(f"{page.url}: {d.message}"), d.dismiss()))
        try:
            page.goto(f"{server.url}/login")
            page.get_by_label("用户名").fill("e2exss")
            page.get_by_label("密码").fill("xss-test-password-1")
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(f"{server.url}/")
            injected: dict[str, int] = {}
            shown = 0
            for path in pages:
                response = page.goto(server.url + path)
                assert response is not None and response.status < 500, (path, response)
                found = page.evaluate("document.querySelectorAll('[data-xss]').length")
                if found:
                    injected[path] = found
                shown += "data-xss" in page.content()  # the payload shown as text
            assert dialogs == []
            assert injected == {}
            assert shown >= 30  # the payload did reach the pages — as text
        finally:
            context.close()
