"""The blank template of each kind: headers (required ones marked), an example row, a sheet of
notes."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from crm.sheets import SHEETS

REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def blank_template(kind: str) -> bytes:
    """A blank .xlsx for one kind: the headers (required ones shaded), an example row, and
    a second sheet explaining every column."""
    sheet = SHEETS[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = sheet.label
    ws.append([c.header for c in sheet.columns])
    ws.append([c.example for c in sheet.columns])
    for i, col in enumerate(sheet.columns, 1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if col.required:
            cell.fill = REQUIRED_FILL
        ws.column_dimensions[cell.column_letter].width = max(12, len(col.header) * 2 + 4)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "必填", "也可写作", "说明"])
    for col in sheet.columns:
        notes.append([col.header, "是" if col.required else "", "、".join(col.aliases), col.note])
    notes.append([])
    notes.append(
        ["第 2 行是示例，导入前请删除或改成真实数据。导入时读取第一个有表头的可见工作表。"]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
