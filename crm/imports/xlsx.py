"""Reading .xlsx: refused if it is a zip bomb; the sheet chosen (named, else the first visible one
with a table); merged ranges read from the sheet's XML and filled; formulas without stored
results explained."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from crm.imports.table import (
    LOOK_FOR_HEADER,
    Cells,
    ImportFileError,
    Score,
    SheetInfo,
    Table,
    cell_text,
    find_table,
    too_many,
)

logger = logging.getLogger(__name__)

MAX_UNZIPPED_BYTES = 400 * 1024 * 1024  # what a 10 MB .xlsx can honestly expand to
MAX_ZIP_RATIO = 200  # real sheets compress 5–20×; bombs 1000× and more


def count_rows(path: Path, part: str) -> int:
    count, tail = 0, b""
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
        while block := fh.read(1 << 20):
            text = tail + block
            count += len(re.findall(rb"<(?:\w+:)?row[\s>]", text))
            tail = text[-8:] if not text.endswith(b">") else b""
    return count


def check_zip(path: Path) -> None:
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


_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+[0-9]+):([A-Z]+[0-9]+)\"")


def _merged_ranges(path: Path, part: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged range of a sheet,
    1-based. Read-only openpyxl does not report them; they sit after the rows in the sheet's
    XML, so the part is scanned for them (a regular expression over bytes, no parsing)."""
    ranges = []
    try:
        with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
            tail = b""
            while block := fh.read(1 << 20):
                text = tail + block
                for first, last in _MERGE.findall(text):
                    (c1, r1), (c2, r2) = (
                        coordinate_to_tuple_text(first),
                        coordinate_to_tuple_text(last),
                    )
                    ranges.append((r1, c1, r2, c2))
                tail = text[-200:] if not text.endswith(b">") else b""
    except KeyError:
        return []
    return sorted(set(ranges))


def coordinate_to_tuple_text(ref: bytes) -> tuple[int, int]:
    """b"C12" → (column 3, row 12)."""
    letters = ref.rstrip(b"0123456789")
    return column_index_from_string(letters.decode()), int(ref[len(letters) :])


def open_xlsx(path: Path, max_rows: int, wanted: str | None, score: Score) -> Table:
    check_zip(path)
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

    sheets = [SheetInfo(ws.title, ws.sheet_state != "visible") for ws in wb.worksheets]
    notes: list[tuple[int | None, str]] = []
    if wanted is not None:
        candidates = [ws for ws in wb.worksheets if ws.title == wanted]
        if not candidates:
            close()
            names = "、".join(f"“{s.name}”" for s in sheets)
            raise ImportFileError(f"文件中没有名为“{wanted}”的工作表（有：{names}）。")
    else:
        candidates = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
        hidden = [s.name for s in sheets if s.hidden]
        if hidden:
            notes.append((None, f"跳过了隐藏的工作表：{'、'.join(hidden)}。"))
    failures: list[ImportFileError] = []
    for ws in candidates:
        max_row = ws.max_row or 0
        if max_row > max_rows + LOOK_FOR_HEADER:  # the sheet's own dimension says so
            close()
            raise too_many(max_rows)
        merges = _merged_ranges(path, ws._worksheet_path)  # noqa: SLF001 — not public
        ws.reset_dimensions()  # some writers state a wrong size; read what is there
        cells = _filled(_xlsx_cells(ws, path.name), merges)
        try:  # the workbook stays open: a sheet without a table sends us to the next one
            table = find_table(cells, score, merges, max_rows, None, ImportFileError)
        except ImportFileError as exc:
            failures.append(exc)
            continue
        table.rows, table.close = _closing(table.rows, close), close
        table.format, table.sheet, table.sheets = "xlsx", ws.title, sheets
        table.notes[:0] = notes
        skipped = candidates[: candidates.index(ws)]
        if skipped:
            table.notes.insert(
                0,
                (
                    None,
                    f"工作表{'、'.join(f'“{s.title}”' for s in skipped)}中没有找到表头，"
                    f"读取的是“{ws.title}”。",
                ),
            )
        return table
    close()
    hidden = [s.name for s in sheets if s.hidden]
    where = (
        f"（隐藏的工作表{'、'.join(f'“{h}”' for h in hidden)}没有读取：要导入它，请在 Excel 或 "
        "WPS 中取消隐藏，或用 --sheet 指定）"
        if hidden and wanted is None
        else ""
    )
    if not candidates:
        raise ImportFileError(f"工作簿中没有可见的工作表{where}。")
    first = failures[0]
    if len(candidates) > 1:
        first = ImportFileError(
            f"{len(candidates)} 个工作表中都没有找到表头。第一个工作表：{first.message}"
        )
    raise _with_formula_hint(path, ImportFileError(first.message + where))


def _closing(
    rows: Iterator[tuple[int, Cells]], close: Callable[[], None]
) -> Iterator[tuple[int, Cells]]:
    try:
        yield from rows
    finally:
        close()


def _with_formula_hint(path: Path, exc: ImportFileError) -> ImportFileError:
    if _has_formulas(path):
        return ImportFileError(
            "表格中的公式没有计算结果，请在 Excel 中打开并保存"
            "（或复制后“选择性粘贴 → 数值”）再导入。"
        )
    return exc


def _xlsx_cells(ws: Any, name: str) -> Iterator[tuple[int, Cells]]:
    """Rows as text; XML trouble met halfway (defusedxml refusing entities, a truncated part)
    becomes the same clear error as at opening."""
    try:
        for n, row in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), 1):
            yield n, [cell_text(v) for v in row]
    except ImportFileError:
        raise
    except Exception as exc:
        logger.warning("Reading %s failed halfway: %r", name, exc)
        raise ImportFileError("文件已损坏或不是有效的 .xlsx 文件。") from exc


def _has_formulas(path: Path) -> bool:
    try:
        fh = path.open("rb")
        wb = load_workbook(fh, read_only=True, data_only=False)
    except Exception:  # the file is what it is; the caller's error stands
        return False
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows(max_row=200):
                if any(getattr(c, "data_type", None) == "f" for c in row):
                    return True
        return False
    finally:
        wb.close()
        fh.close()


def _filled(
    cells: Iterator[tuple[int, Cells]], merges: list[tuple[int, int, int, int]]
) -> Iterator[tuple[int, Cells]]:
    """Every cell of a merged range gets the value of its first cell (Excel keeps the value
    only there): a town merged down over its firms, a header merged across its children."""
    if not merges:
        yield from cells
        return
    starts: dict[int, list[tuple[int, int, int, int]]] = {}
    for m in merges:
        starts.setdefault(m[0], []).append(m)
    active: list[tuple[tuple[int, int, int, int], str | None]] = []
    for number, values in cells:
        for m in starts.get(number, ()):
            active.append((m, values[m[1] - 1] if m[1] - 1 < len(values) else None))
        active = [(m, v) for m, v in active if m[2] >= number]
        for (_, c1, _, c2), value in active:
            if value is None:
                continue
            if len(values) < c2:
                values = values + [None] * (c2 - len(values))
            for c in range(c1 - 1, c2):
                values[c] = value
        yield number, values
