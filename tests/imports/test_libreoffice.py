"""Our exports and the report as LibreOffice Calc reads them (headless conversion, as an office
without Excel would open them): no visible guard in a workbook, formulas typed by people stay
text, numbers stay numbers, Chinese intact; the report has its date, page numbers, rounded
rates and whole wrapped text. Needs Debian's `libreoffice-calc-nogui` (and `poppler-utils` for
the PDF text); skipped without them."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess  # nosec B404
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.dashboard import report
from crm.enterprises.models import Contact
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.needs.models import Need
from crm.targets import services as targets
from crm.targets.metrics import METRICS
from tests.conftest import AuthActions, today

SOFFICE = shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
UTF8_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"


def convert(source: Path, target: str, tmp_path: Path) -> Path:
    """`soffice --headless --convert-to`, with a profile of its own (parallel runs)."""
    out = tmp_path / f"out-{source.stem}-{target.split(':')[0]}"
    profile = tmp_path / "lo-profile"
    args = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless"]
    if source.suffix == ".csv":
        args.append("--infilter=CSV:44,34,76,1")
    args += ["--convert-to", target, "--outdir", str(out), str(source)]
    subprocess.run(args, check=True, capture_output=True, timeout=180)  # noqa: S603 # nosec B603
    found = list(out.iterdir())
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def tricky(make_user, make_enterprise):
    """An officer's firm whose cells look like formulas, with a need that has a budget."""
    officer = make_user()
    firm = make_enterprise(
        name="嵊州市=SUM(1,2)领带有限公司",
        address="-1号楼（地下室）",
        notes="+86 的号码；@张总 说过：领带面料洗后起皱",
        owner_id=officer.id,
    )
    db.session.add(Contact(enterprise_id=firm.id, name="王建", phone="+86 139 0000 0001"))
    db.session.add(Need(enterprise_id=firm.id, title="抗皱整理", budget=Decimal("205000.00")))
    db.session.commit()
    return officer


def test_an_xlsx_export_in_libreoffice_shows_no_guard_and_keeps_types(client, tricky, tmp_path):
    AuthActions(client).login(tricky.username)
    book = tmp_path / "企业.xlsx"
    book.write_bytes(client.get("/enterprises/?format=xlsx").data)
    rows = list(csv.reader(io.StringIO(convert(book, UTF8_CSV, tmp_path).read_text("utf-8"))))
    header, firm = rows[0], rows[1]
    assert header[0] == "企业名称" and firm[0] == "嵊州市=SUM(1,2)领带有限公司"
    assert firm[header.index("地址")] == "-1号楼（地下室）"  # no apostrophe, not a formula
    assert firm[header.index("联系电话")] == "+86 139 0000 0001"
    assert firm[header.index("备注")].startswith("+86 的号码；@张总")
    ours = load_workbook(book).active
    assert ours.freeze_panes == "A2" and ours.column_dimensions["A"].width >= 20  # not cut off
    sheet = load_workbook(convert(book, "xlsx", tmp_path)).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "嵊州市=SUM(1,2)领带有限公司"

    needs = tmp_path / "需求.xlsx"
    needs.write_bytes(client.get("/needs/?format=xlsx").data)
    sheet = load_workbook(convert(needs, "xlsx", tmp_path)).active
    budget = [c for c in sheet[1] if c.value == "预算（万元）"][0].column
    cell = sheet.cell(row=2, column=budget)
    assert cell.data_type == "n" and cell.value == 20.5  # a number LibreOffice can sum


def test_a_csv_export_in_libreoffice_keeps_chinese_and_its_guard(client, tricky, tmp_path):
    AuthActions(client).login(tricky.username)
    source = tmp_path / "企业.csv"
    source.write_bytes(client.get("/enterprises/?format=csv").data)
    rows = list(csv.reader(io.StringIO(convert(source, UTF8_CSV, tmp_path).read_text("utf-8"))))
    header, firm = rows[0], rows[1]
    assert header[:3] == ["企业名称", "统一社会信用代码", "所属乡镇"]
    # in a CSV the guard is what keeps a spreadsheet from running the cell (OWASP)
    assert firm[0] == "嵊州市=SUM(1,2)领带有限公司"
    assert firm[header.index("地址")] == "'-1号楼（地下室）"


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_report_prints_with_date_page_numbers_rounded_rates_and_whole_text(
    app, make_user, make_enterprise, tmp_path, monkeypatch
):
    officer = make_user(display_name="测试联络员")
    signed = today()
    long_name = (
        "香港理工大学纺织及服装学系功能整理与智能纺织品研究中心" * 2 + "（联合实验室）末尾标记"
    )
    inst = Institution(name=long_name, kind=InstitutionKind.UNIVERSITY)
    person = Researcher(name="陈思远", institution=inst)
    db.session.add_all([inst, person])
    firm = make_enterprise(name="嵊州市锦程领带有限公司")
    db.session.add(
        Cooperation(
            title="真丝领带抗皱整理技术开发",
            enterprise_id=firm.id,
            researcher_id=person.id,
            institution=inst,
            type=CooperationType.DEVELOPMENT,
            stage=Stage.SIGNED,
            officer_id=officer.id,
            signed_on=signed,
            stage_changed_on=signed,
        )
    )
    db.session.commit()
    real = targets.overview

    def fourteen_of_three(year, department_id=None, known=None):
        found = real(year, department_id, known)
        found.rows[0] = targets.Progress(METRICS[0], "测试", Decimal(3), Decimal(14))
        return found

    monkeypatch.setattr(targets, "overview", fourteen_of_three)
    book = tmp_path / "报表.xlsx"
    with book.open("wb") as out:
        report.write(officer, report.Period(signed.year), out)
    text = subprocess.run(  # noqa: S603 # nosec B603
        [PDFTOTEXT, "-layout", str(convert(book, "pdf", tmp_path)), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "466.7%" in text and "466%" not in text.replace("466.7%", "")
    assert "制表日期" in text and "第 1 页" in text
    assert "末尾标记" in text  # the long 合作方 is printed whole, not clipped by its row
