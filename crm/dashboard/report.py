"""The report leadership receives: an .xlsx of a year (or a month of it) — targets against
actuals, per department, new cooperation, visits and needs — laid out for printing.

Targets are annual: their actuals are the year's so far. With a month, the cooperation,
visit and need sheets cover that month only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from crm.audit import services as audit
from crm.auth.models import Department, User
from crm.clock import local_today
from crm.cooperation import board
from crm.cooperation.models import Cooperation, Stage
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.money import wan_cell
from crm.needs.models import Need
from crm.spreadsheets import as_text, clean, row_height
from crm.targets import services as targets
from crm.visits.models import Visit

HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE = Font(bold=True, size=14)
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


@dataclass(frozen=True)
class Period:
    year: int
    month: int | None = None

    @property
    def label(self) -> str:
        return f"{self.year} 年" + (f" {self.month} 月" if self.month else "")

    @property
    def days(self) -> tuple[date, date]:
        if self.month is None:
            return date(self.year, 1, 1), date(self.year + 1, 1, 1)
        end = date(self.year + (self.month == 12), self.month % 12 + 1, 1)
        return date(self.year, self.month, 1), end

    def moments(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        start, end = self.days
        return (
            datetime(start.year, start.month, start.day, tzinfo=zone),
            datetime(end.year, end.month, end.day, tzinfo=zone),
        )


def build(period: Period) -> Workbook:
    book = Workbook()
    _targets_sheet(book.active, period)
    _departments_sheet(book.create_sheet(), period)
    _cooperation_sheet(book.create_sheet(), period)
    _visits_sheet(book.create_sheet(), period)
    _needs_sheet(book.create_sheet(), period)
    return book


def write(user: User, period: Period, out: IO[bytes]) -> None:
    """Write the report and note it in the audit trail (the caller commits)."""
    build(period).save(out)
    audit.record_event("export", "report", 0, user.id, format="xlsx", filters=period.label)


def _sheet(ws: Worksheet, title: str, heading: str, headers: list[str], widths: list[int]) -> None:
    """Title row with the date the report was made, header row (bold, filled, repeated on
    every printed page), widths, frozen panes, landscape A4 fitted to the page width, page
    numbers in the footer."""
    made = local_today()
    ws.title = title
    ws.append([f"{heading}　　制表日期：{made:%Y-%m-%d}"])
    ws["A1"].font = TITLE
    ws.append(headers)
    for col, (width, cell) in enumerate(zip(widths, ws[2], strict=True), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
        cell.font, cell.fill, cell.border = HEADER, HEADER_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "B3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.left.text = f"嵊州市科学技术局 · {title}"
    ws.oddHeader.right.text = f"制表日期：{made:%Y-%m-%d}"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def _rows(ws: Worksheet, rows: list[list[Any]]) -> None:
    """Data rows: text as text (never a formula), boxed, wrapped, and each row as tall as
    its longest wrapped text needs (Excel and LibreOffice do not grow rows of a file written
    by a program)."""
    widths = [
        ws.column_dimensions[get_column_letter(i)].width or 10 for i in range(1, ws.max_column + 1)
    ]
    for row in rows:
        ws.append([clean(v) for v in row])
        for cell in ws[ws.max_row]:
            as_text(cell)
            cell.border = BOX
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        height = row_height([clean(v) for v in row], widths)
        if height is not None:
            ws.row_dimensions[ws.max_row].height = height


def _rate(actual: Decimal | None, target: Decimal | None) -> float | None:
    """Done ÷ target as a fraction, shown as a percentage rounded to one decimal (14 of 3 is
    466.7%, not a truncated 466%)."""
    if actual is None or not target:
        return None
    return float(Decimal(actual) / Decimal(target))


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _targets_sheet(ws: Worksheet, period: Period) -> None:
    overview = targets.overview(period.year)
    _sheet(
        ws,
        "目标完成",
        f"{period.year} 年度目标完成情况（完成数由记录统计，截至制表日）",
        ["指标", "单位", "目标", "完成", "完成率", "计入规则"],
        [44, 6, 10, 10, 10, 60],
    )
    _rows(
        ws,
        [
            [
                r.metric.label,
                r.metric.unit,
                _number(r.target),
                _number(r.actual),
                _rate(r.actual, r.target),
                r.source or "暂无可统计的记录来源",
            ]
            for r in overview.rows
        ],
    )
    for cell in ws["E"][2:]:
        cell.number_format = "0.0%"


def _departments_sheet(ws: Worksheet, period: Period) -> None:
    _sheet(
        ws,
        "分科室",
        f"{period.year} 年度目标分解到科室的完成情况",
        ["科室", "指标", "单位", "分解目标", "完成", "完成率"],
        [20, 44, 6, 10, 10, 10],
    )
    rows = []
    departments = db.session.scalars(
        sa.select(Department).where(Department.active.is_(True)).order_by(Department.name)
    )
    for department in departments:
        for r in targets.overview(period.year, department.id).rows:
            if r.target is not None:
                percent = _rate(r.actual, r.target)
                rows.append(
                    [
                        department.name,
                        r.metric.label,
                        r.metric.unit,
                        _number(r.target),
                        _number(r.actual),
                        percent,
                    ]
                )
    _rows(ws, rows)
    for cell in ws["F"][2:]:
        cell.number_format = "0.0%"


def _cooperation_sheet(ws: Worksheet, period: Period) -> None:
    start, end = period.days
    _sheet(
        ws,
        "新增合作",
        f"{period.label}签约的产学研合作",
        [
            "签约日期",
            "合作",
            "企业",
            "合作方",
            "类型",
            "金额（万元）",
            "当前阶段",
            "合同登记号",
            "联络员",
        ],
        [12, 36, 28, 30, 12, 12, 10, 20, 10],
    )
    records = db.session.scalars(
        sa.select(Cooperation)
        .where(
            Cooperation.deleted_at.is_(None),
            Cooperation.signed_on >= start,
            Cooperation.signed_on < end,
        )
        .options(*board.card_loads())
        .order_by(Cooperation.signed_on, Cooperation.id)
    )
    rows = []
    for c in records:
        partner = " · ".join(
            p
            for p in (
                (c.researcher.name if c.researcher else ""),
                (c.institution.name if c.institution else ""),
            )
            if p
        )
        rows.append(
            [
                c.signed_on,
                c.title,
                c.enterprise.name,
                partner,
                c.type.label,
                wan_cell(c.amount),
                c.stage.label + ("（已终止）" if c.stage == Stage.TERMINATED else ""),
                c.contract_no,
                c.officer.display_name if c.officer else None,
            ]
        )
    _rows(ws, rows)
    for cell in ws["A"][2:]:
        cell.number_format = "yyyy-mm-dd"
    for cell in ws["F"][2:]:
        cell.number_format = "#,##0.00"


def _visits_sheet(ws: Worksheet, period: Period) -> None:
    start, end = period.days
    since, until = period.moments()
    _sheet(
        ws,
        "走访与需求",
        f"{period.label}各联络员走访和登记需求",
        ["联络员", "走访次数", "走访企业数", "登记需求"],
        [16, 12, 12, 12],
    )
    visits = {
        name: (n, firms)
        for name, n, firms in db.session.execute(
            sa.select(
                User.display_name,
                sa.func.count(Visit.id),
                sa.func.count(sa.distinct(Visit.enterprise_id)),
            )
            .join(User, Visit.officer_id == User.id)
            .where(Visit.deleted_at.is_(None), Visit.visited_on >= start, Visit.visited_on < end)
            .group_by(User.display_name)
        )
    }
    needs = dict(
        db.session.execute(
            sa.select(User.display_name, sa.func.count(Need.id))
            .join(User, Need.created_by_id == User.id)
            .where(Need.deleted_at.is_(None), Need.created_at >= since, Need.created_at < until)
            .group_by(User.display_name)
        ).all()
    )
    names = sorted(set(visits) | set(needs), key=lambda n: -visits.get(n, (0, 0))[0])
    rows = [[n, visits.get(n, (0, 0))[0], visits.get(n, (0, 0))[1], needs.get(n, 0)] for n in names]
    rows.append(["合计", sum(r[1] for r in rows), None, sum(r[3] for r in rows)])
    _rows(ws, rows)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)


def _needs_sheet(ws: Worksheet, period: Period) -> None:
    since, until = period.moments()
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    _sheet(
        ws,
        "需求清单",
        f"{period.label}登记的技术需求",
        ["登记日期", "企业", "需求", "状态", "预算（万元）"],
        [12, 30, 44, 10, 12],
    )
    rows = [
        [
            need.created_at.astimezone(zone).date(),
            ent_name,
            need.title,
            need.status.label,
            wan_cell(need.budget),
        ]
        for need, ent_name in db.session.execute(
            sa.select(Need, Enterprise.name)
            .join(Enterprise, Need.enterprise_id == Enterprise.id)
            .where(Need.deleted_at.is_(None), Need.created_at >= since, Need.created_at < until)
            .order_by(Need.created_at, Need.id)
        )
    ]
    _rows(ws, rows)
    for cell in ws["A"][2:]:
        cell.number_format = "yyyy-mm-dd"
