"""Exports: the filter, the formula guard, masking, the audit entry, and the round trip."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crm.audit.models import AuditEntry
from crm.auth.models import Role
from crm.enterprises.models import Contact
from crm.exports import services as export
from crm.extensions import db
from crm.imports import services
from crm.imports.reader import open_table
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.spreadsheets import guard
from tests.conftest import AuthActions
from tests.imports.helpers import read_xlsx


def test_guard_neutralises_formula_triggers():
    for text in ["=1+1", "+86 138", "-3", "@SUM(A1)", "\tx", "\rx"]:
        assert guard(text) == "'" + text
    assert guard("普通文本") == "普通文本"
    assert guard(12) == 12


def _cell_round_trip(tmp: Path, value: str, fmt: str) -> str | None:
    lines = [["姓名", "个人简介"], ["某人", value]]
    path = tmp / f"t.{fmt}"
    if fmt == "csv":
        path.write_bytes(b"".join(export.csv_chunks(lines)))
    else:
        with export.xlsx_file(lines, "专家") as fh:
            path.write_bytes(fh.read())
    rows = [cells for _, cells in open_table(path, 10).rows]
    return rows[0][1] if len(rows[0]) > 1 else None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=60))
def test_any_text_survives_export_and_reimport(tmp_path, text):
    """Whatever an officer typed comes back as typed, up to the trimming every import does
    (a NUL dropped; in .xlsx, the control characters the format cannot hold, and line ends as XML
    reads them)."""
    expected_csv = text.replace("\x00", "").strip() or None
    assert _cell_round_trip(tmp_path, text, "csv") == expected_csv
    xml_text = ILLEGAL_CHARACTERS_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    expected_xlsx = xml_text.strip() or None
    assert _cell_round_trip(tmp_path, text, "xlsx") == expected_xlsx


def test_export_then_import_changes_nothing(tmp_path, make_user):
    admin = make_user(role=Role.ADMIN)
    inst = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.add_all(
        [
            Researcher(
                name="陈思远",
                institution=inst,
                title="教授",
                research_directions="=抗皱整理",
                bio="+86 电话在简介里",
            ),
            Researcher(name="刘海峰", institution=inst, research_directions="@数码印花"),
        ]
    )
    db.session.commit()
    for fmt in ("xlsx", "csv"):
        path = tmp_path / f"researchers.{fmt}"
        with path.open("wb") as fh:
            assert (
                export.write(
                    admin,
                    export.ExportSpec("researchers", export.everything("researchers")),
                    fmt,
                    fh,
                )
                == 2
            )
        report = services.run_import(admin, path, path.name)
        db.session.commit()
        assert report.kind == "researchers"
        assert report.counts == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0}
    person = db.session.scalars(sa.select(Researcher).where(Researcher.name == "陈思远")).one()
    assert person.research_directions == "=抗皱整理" and person.version == 1


def _contact_enterprise(make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    ent = make_enterprise(
        name="嵊州市锦程领带有限公司", owner_id=owner.id, department_id=owner.department_id
    )
    db.session.add(Contact(enterprise_id=ent.id, name="王先生", phone="13800008000"))
    make_enterprise(name="嵊州市好运电机有限公司")
    db.session.commit()
    return owner, ent


def test_list_export_follows_the_filter_masks_for_viewers_and_is_audited(
    app, client, make_user, make_enterprise
):
    owner, ent = _contact_enterprise(make_user, make_enterprise)
    viewer = make_user(role=Role.VIEWER)
    AuthActions(client).login(viewer.username)
    response = client.get("/enterprises/", query_string={"q": "锦程", "format": "xlsx"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = read_xlsx(response.data)
    assert rows[0][:7] == [
        "企业名称",
        "统一社会信用代码",
        "所属乡镇",
        "所属行业",
        "主营产品",
        "联系人",
        "联系电话",
    ]
    assert [r[0] for r in rows[1:]] == ["嵊州市锦程领带有限公司"]  # the filter, not everything
    assert rows[1][6] == "138****8000"  # masked as on screen
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.user_id == viewer.id and entry.table_name == "enterprise"
    assert entry.changes["rows"] == [None, 1] and entry.changes["filters"] == [None, {"q": "锦程"}]

    officer_client = app.test_client()
    AuthActions(officer_client).login(owner.username)
    response = officer_client.get("/enterprises/", query_string={"format": "csv"})
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff企业名称,")  # BOM: Excel opens it as UTF-8
    assert "13800008000" in text and "嵊州市好运电机有限公司" in text


def test_every_list_page_offers_both_formats(client, make_user):
    AuthActions(client).login(make_user().username)
    for path in [
        "/enterprises/",
        "/needs/",
        "/institutions/",
        "/researchers/",
        "/achievements/",
        "/tasks",
    ]:
        html = client.get(path).get_data(as_text=True)
        assert "format=xlsx" in html and "format=csv" in html, path
        for fmt in ("xlsx", "csv"):
            assert client.get(path, query_string={"format": fmt}).status_code == 200


def test_cli_export(runner, tmp_path, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    _contact_enterprise(make_user, make_enterprise)
    out = tmp_path / "e.csv"
    result = runner.invoke(
        args=["export", "enterprises", "--format", "csv", "-o", str(out), "--user", admin.username]
    )
    assert result.exit_code == 0, result.output
    assert "已导出 2 条" in result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(io.StringIO(out.read_text("utf-8-sig")).readlines()) == 3
