"""Reading an uploaded spreadsheet safely: .xlsx (openpyxl, read-only) or .csv.

The file's content decides what it is, never its name. Checks, each with a message an officer
understands: not a spreadsheet (an .exe renamed .xlsx, an old .xls), a zip bomb, too many rows
(refused as soon as the limit is passed, before the rest is read), an empty or header-only
sheet, a sheet of formulas without stored results, a CSV in an encoding we cannot decode
strictly (UTF-8, UTF-8 with BOM, GBK/GB18030 are accepted; nothing is decoded with
`errors="replace"`). XML is parsed by defusedxml (openpyxl uses it when installed).
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from crm.errors import ValidationError

logger = logging.getLogger(__name__)

MAX_UNZIPPED_BYTES = 400 * 1024 * 1024  # what a 10 MB .xlsx can honestly expand to
MAX_ZIP_RATIO = 200  # real sheets compress 5–20×; bombs 1000× and more
# Our exports prefix these with an apostrophe so Excel does not run them as formulas.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(ValidationError):
    """The file as a whole cannot be read; nothing is written."""


@dataclass
class Table:
    """A sheet's header and its rows; `rows` yields (row number as Excel shows it, cells)."""

    headers: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str | None]]]
    format: str  # "xlsx" / "csv"
    encoding: str | None = None


def unescape(value: str) -> str:
    """Undo our export's formula guard: `'+86 138…` → `+86 138…`."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # phone numbers and codes typed as numbers
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = unescape(str(value)).strip()  # our export's guard first: `'` + "\r" is a blank
    return text or None


def open_table(path: Path, max_rows: int) -> Table:
    """The first sheet of the file with data, checked; raises ImportFileError."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise ImportFileError("文件是空的。")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, max_rows)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入。")
    if head.startswith((b"MZ", b"\x7fELF", b"%PDF", b"\x89PNG", b"\xff\xd8")):
        raise ImportFileError("这不是表格文件，请上传 .xlsx 或 .csv 文件。")
    return _open_csv(path, max_rows)


# ---- xlsx --------------------------------------------------------------------------------------


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise ImportFileError("文件已损坏，无法作为 .xlsx 打开。") from exc
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise ImportFileError("这不是 Excel 表格（.xlsx）文件，请上传 .xlsx 或 .csv 文件。")
    total = sum(i.file_size for i in infos)
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0)
    if total > MAX_UNZIPPED_BYTES or worst > MAX_ZIP_RATIO:
        logger.warning("Refused %s: unzips to %d bytes, ratio %.0f", path.name, total, worst)
        raise ImportFileError("文件解压后异常巨大（疑似压缩炸弹），已拒绝。")


def _open_xlsx(path: Path, max_rows: int) -> Table:
    _check_zip(path)
    # a file object, not the path: openpyxl would refuse our stored name's extension
    fh = path.open("rb")
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        fh.close()
        logger.warning("openpyxl could not open %s: %r", path.name, exc)
        raise ImportFileError("文件已损坏或不是有效的 .xlsx 文件。") from exc

    def close() -> None:
        wb.close()
        fh.close()

    ws = next((s for s in wb.worksheets if (s.max_row or 0) > 0), wb.worksheets[0])
    if ws.max_row and ws.max_row > max_rows + 1:  # the sheet's own dimension says so
        close()
        raise _too_many(max_rows)
    cells = _xlsx_cells(ws, path.name)

    def empty(message: str) -> ImportFileError:
        close()
        if _has_formulas(path):
            return ImportFileError(
                "表格中的公式没有计算结果，请在 Excel 中打开并保存"
                "（或复制后“选择性粘贴 → 数值”）再导入。"
            )
        return ImportFileError(message)

    try:
        header_row, headers = _header(cells)
    except ImportFileError as exc:
        raise empty(exc.message) from None
    return Table(headers, header_row, _limited(cells, max_rows, close, empty), "xlsx")


def _xlsx_cells(ws: Any, name: str) -> Iterator[tuple[int, list[str | None]]]:
    """Rows as text; XML trouble met halfway (defusedxml refusing entities, a truncated part)
    becomes the same clear error as at opening."""
    try:
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            yield n, [_cell_text(v) for v in row]
    except ImportFileError:
        raise
    except Exception as exc:
        logger.warning("Reading %s failed halfway: %r", name, exc)
        raise ImportFileError("文件已损坏或不是有效的 .xlsx 文件。") from exc


def _has_formulas(path: Path) -> bool:
    fh = path.open("rb")
    wb = load_workbook(fh, read_only=True, data_only=False)
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows(max_row=200):
                if any(getattr(c, "data_type", None) == "f" for c in row):
                    return True
        return False
    finally:
        wb.close()
        fh.close()


# ---- csv ---------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Strict decoding: UTF-8 (with or without BOM), then GB18030 (a superset of GBK); a file
    that starts with a UTF-16 byte-order mark (Excel's "Unicode 文本") as UTF-16."""
    candidates = ("utf-16",) if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ()
    for encoding in (*candidates, "utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        "无法识别文件编码。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再导入。"
    )


def _dialect(text: str) -> type[csv.Dialect]:
    """Excel's CSV rules with the delimiter the header line uses (comma, tab or semicolon).
    csv.Sniffer guesses quoting too, and guesses wrong on short files."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(",\t;", key=header.count) if any(d in header for d in ",\t;") else ","
    return type("Sheet", (csv.excel,), {"delimiter": delimiter})


def _open_csv(path: Path, max_rows: int) -> Table:
    data = path.read_bytes()
    text, encoding = decode(data)
    if "\x00" in text[:65536]:
        raise ImportFileError("这不是文本表格文件，请上传 .xlsx 或 .csv 文件。")
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    cells = ((n, [_cell_text(v) for v in row]) for n, row in enumerate(reader, 1))
    try:
        header_row, headers = _header(cells)
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误：{exc}") from exc
    return Table(
        headers, header_row, _limited(cells, max_rows, None, ImportFileError), "csv", encoding
    )


# ---- shared ------------------------------------------------------------------------------------


def _header(cells: Iterator[tuple[int, list[str | None]]]) -> tuple[int, list[str]]:
    """The first non-blank row is the header."""
    for number, values in cells:
        if any(values):
            return number, [v or "" for v in values]
        if number > 50:
            break
    raise ImportFileError("文件中没有数据（找不到表头）。")


def _limited(
    cells: Iterator[tuple[int, list[str | None]]],
    max_rows: int,
    close: Any,
    empty: Callable[[str], ImportFileError],
) -> Iterator[tuple[int, list[str | None]]]:
    """Non-blank rows; stops with an error at the first row past the limit, or at the end if
    there were none."""
    count = 0
    try:
        for number, values in cells:
            if not any(values):
                continue
            count += 1
            if count > max_rows:
                raise _too_many(max_rows)
            yield number, values
        if count == 0:
            raise empty("文件只有表头，没有数据行。")
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误：{exc}") from exc
    finally:
        if close is not None:
            close()


def _too_many(max_rows: int) -> ImportFileError:
    return ImportFileError(f"文件超过 {max_rows:,} 行的上限，请拆分成多个文件导入。")
