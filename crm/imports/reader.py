"""Reading an uploaded spreadsheet safely: .xlsx (openpyxl, read-only) or .csv.

The file's content decides what it is, never its name. Checks, each with a message an officer
understands: not a spreadsheet (an .exe renamed .xlsx, an old .xls), a zip bomb, too many rows
(refused as soon as the limit is passed, before the rest is read), an empty or header-only
sheet, a sheet of formulas without stored results, a CSV in an encoding we cannot decode
strictly (UTF-8, UTF-8 with BOM, GBK/GB18030 are accepted; nothing is decoded with
`errors="replace"`). XML is parsed by defusedxml (openpyxl uses it when installed).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from crm.imports.csvfile import open_csv
from crm.imports.table import ImportFileError, Score, Table
from crm.imports.xlsx import check_zip, count_rows, open_xlsx


def open_table(
    path: Path, max_rows: int, *, sheet: str | None = None, score: Score | None = None
) -> Table:
    """The table of the file, checked; raises ImportFileError. For a workbook: the sheet named
    `sheet`, else the first visible sheet that holds a table (hidden sheets are skipped).
    `score` tells how much a row looks like a header (default: the importer's known headers)."""
    if score is None:
        from crm.imports.headers import header_score as score
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise ImportFileError("文件是空的。")
    if head.startswith(b"PK\x03\x04"):
        return open_xlsx(path, max_rows, sheet, score)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "这是旧版 Excel（.xls）文件，请另存为 .xlsx 后再导入："
            "Excel 中点“文件 → 另存为”，保存类型选“Excel 工作簿(*.xlsx)”；"
            "WPS 中点“文件 → 另存为”，文件类型选“Microsoft Excel 文件(*.xlsx)”。"
        )
    if head.startswith((b"MZ", b"\x7fELF", b"%PDF", b"\x89PNG", b"\xff\xd8")):
        raise ImportFileError("这不是表格文件，请上传 .xlsx 或 .csv 文件。")
    return open_csv(path, max_rows, score)


def estimate_rows(path: Path) -> int:
    """About how many rows the file has, without reading it: the biggest visible sheet's
    stated size for a workbook, the line count for a CSV (0 when it cannot tell)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        try:
            check_zip(path)
            with path.open("rb") as fh:
                wb = load_workbook(fh, read_only=True, data_only=True)
                try:
                    sheets = [
                        (ws.max_row or 0, ws._worksheet_path)  # noqa: SLF001 — not public
                        for ws in wb.worksheets
                        if ws.sheet_state == "visible"
                    ]
                finally:
                    wb.close()
            # the biggest visible sheet (a 填表说明 sheet may come first); some writers state
            # no size (openpyxl's write-only mode): their rows' tags are counted
            return max(
                (stated if stated > 1 else count_rows(path, part) for stated, part in sheets),
                default=0,
            )
        except Exception:  # the real reading reports what is wrong with the file
            return 0
    return path.read_bytes().count(b"\n") if head else 0
