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
import itertools
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from crm.errors import ValidationError
from crm.spreadsheets import unguard

logger = logging.getLogger(__name__)

MAX_UNZIPPED_BYTES = 400 * 1024 * 1024  # what a 10 MB .xlsx can honestly expand to
MAX_ZIP_RATIO = 200  # real sheets compress 5–20×; bombs 1000× and more
# Our exports prefix these with an apostrophe so Excel does not run them as formulas.


class ImportFileError(ValidationError):
    """The file as a whole cannot be read; nothing is written."""


@dataclass
class SheetInfo:
    name: str
    hidden: bool


@dataclass
class Table:
    """The table found in a file: its header, where it was found, and its rows.

    `rows` yields (row number as Excel shows it, cells) with merged cells filled in and
    footer lines (合计, 备注, 填表人 …) left out; what was filled or left out is added to
    `notes` as the rows are read (row number or None, message)."""

    headers: list[str]
    header_row: int  # the (first) header row, as Excel numbers it
    rows: Iterator[tuple[int, list[str | None]]]
    format: str  # "xlsx" / "csv"
    encoding: str | None = None
    sheet: str | None = None  # the worksheet read (xlsx)
    sheets: list[SheetInfo] = field(default_factory=list)
    header_rows: int = 1  # 2 for a header with merged parents over children
    title: str | None = None  # text above the header (“2026年嵊州市规模以上工业企业名单”)
    notes: list[tuple[int | None, str]] = field(default_factory=list)
    sample: list[list[str | None]] = field(default_factory=list)  # the first data rows
    close: Callable[[], None] = lambda: None  # the file, when the rows are not read to the end

    @property
    def where(self) -> str:
        """“工作表“企业名单”第 3 行是表头” — said on every preview."""
        place = f"工作表“{self.sheet}”" if self.sheet else "文件"
        rows = (
            f"第 {self.header_row}–{self.header_row + 1} 行"
            if self.header_rows == 2
            else f"第 {self.header_row} 行"
        )
        return f"{place}{rows}是表头"


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
    text = unguard(str(value)).strip()  # our export's guard first: `'` + "\r" is a blank
    return text or None


Cells = list[str | None]
Score = Callable[[Cells], int]
LOOK_FOR_HEADER = 30  # rows searched for the header
SAMPLE_ROWS = 5
FOOTER = re.compile(
    r"^\s*(合\s*计|小\s*计|总\s*计|共\s*计|备\s*注|说\s*明|注|填表人|填报人|审核人|审核|"
    r"制表人?|统计人|单位负责人|负责人|联系电话|联系人|填表日期|填报日期|报送日期|制表日期|日期)"
    r"\s*(?:[:：\d（(]|$)"
)
TOTALS = re.compile(r"^\s*(合\s*计|小\s*计|总\s*计|共\s*计|其\s*中)\s*(?:[:：\d（(]|$)")
SUBTOTAL = re.compile(r"(合\s*计|小\s*计|总\s*计)\s*[:：]?\s*$")  # 甘霖镇 小计, 电机行业小计
SECTION = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十]+[)）]|以下|以上)"
)


def _repeats_header(values: Cells, headers: list[str]) -> bool:
    """A row that is the header again (a second list pasted under the first)."""
    named = [(v, h) for v, h in zip(values, headers, strict=False) if h]
    same = sum(1 for v, h in named if v and " ".join(v.split()) == h)
    return len(named) >= 2 and same >= max(2, len(named) // 2)


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
        return _open_xlsx(path, max_rows, sheet, score)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "这是旧版 Excel（.xls）文件，请另存为 .xlsx 后再导入："
            "Excel 中点“文件 → 另存为”，保存类型选“Excel 工作簿(*.xlsx)”；"
            "WPS 中点“文件 → 另存为”，文件类型选“Microsoft Excel 文件(*.xlsx)”。"
        )
    if head.startswith((b"MZ", b"\x7fELF", b"%PDF", b"\x89PNG", b"\xff\xd8")):
        raise ImportFileError("这不是表格文件，请上传 .xlsx 或 .csv 文件。")
    return _open_csv(path, max_rows, score)


def estimate_rows(path: Path) -> int:
    """About how many rows the file has, without reading it: the biggest visible sheet's
    stated size for a workbook, the line count for a CSV (0 when it cannot tell)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        try:
            _check_zip(path)
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
                (stated if stated > 1 else _count_rows(path, part) for stated, part in sheets),
                default=0,
            )
        except Exception:  # the real reading reports what is wrong with the file
            return 0
    return path.read_bytes().count(b"\n") if head else 0


def _count_rows(path: Path, part: str) -> int:
    count, tail = 0, b""
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
        while block := fh.read(1 << 20):
            text = tail + block
            count += len(re.findall(rb"<(?:\w+:)?row[\s>]", text))
            tail = text[-8:] if not text.endswith(b">") else b""
    return count


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


def _open_xlsx(path: Path, max_rows: int, wanted: str | None, score: Score) -> Table:
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
            raise _too_many(max_rows)
        merges = _merged_ranges(path, ws._worksheet_path)  # noqa: SLF001 — not public
        ws.reset_dimensions()  # some writers state a wrong size; read what is there
        cells = _filled(_xlsx_cells(ws, path.name), merges)
        try:  # the workbook stays open: a sheet without a table sends us to the next one
            table = _find_table(cells, score, merges, max_rows, None, ImportFileError)
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
            yield n, [_cell_text(v) for v in row]
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
    """Excel's CSV rules with the delimiter (comma, tab or semicolon) that splits the first
    lines into the same number of fields most often — not the one that merely occurs most: a
    semicolon inside cells (“纺织；印染”) must not win over the commas between them. A title
    line above the header has none. csv.Sniffer guesses quoting too, and guesses wrong on
    short files."""
    head = "\n".join(text.lstrip("\r\n").split("\n", 20)[:20])

    def fit(delimiter: str) -> tuple[int, int]:
        dialect = type("Probe", (csv.excel,), {"delimiter": delimiter})
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(head), dialect) if any(r)]
        except csv.Error:
            return (0, 0)
        wide = [w for w in widths if w > 1]
        if not wide:
            return (0, 0)
        common = max(set(wide), key=wide.count)
        return (wide.count(common), common)

    delimiter = max(",\t;", key=fit)
    return type("Sheet", (csv.excel,), {"delimiter": delimiter if fit(delimiter)[0] else ","})


def _open_csv(path: Path, max_rows: int, score: Score) -> Table:
    data = path.read_bytes()
    text, encoding = decode(data)
    if "\x00" in text[:65536]:
        raise ImportFileError("这不是文本表格文件，请上传 .xlsx 或 .csv 文件。")
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    cells = ((n, [_cell_text(v) for v in row]) for n, row in enumerate(reader, 1))
    try:
        table = _find_table(cells, score, [], max_rows, None, ImportFileError)
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误：{exc}") from exc
    table.format, table.encoding = "csv", encoding
    return table


# ---- shared ------------------------------------------------------------------------------------


def _find_table(
    cells: Iterator[tuple[int, Cells]],
    score: Score,
    merges: list[tuple[int, int, int, int]],
    max_rows: int,
    close: Callable[[], None] | None,
    empty: Callable[[str], ImportFileError],
) -> Table:
    """The header is the row among the first LOOK_FOR_HEADER that looks most like one (title
    and date rows above it score nothing); a row of sub-headers under merged parents joins it."""
    head: list[tuple[int, Cells]] = []
    for number, values in cells:
        head.append((number, values))
        if number >= LOOK_FOR_HEADER:
            break
    filled = [(n, v) for n, v in head if any(v)]
    if not filled:
        raise empty("文件中没有数据（找不到表头）。")
    scores = [score(v) for _, v in filled]
    best = max(scores)
    if best == 0:
        looked = "；".join(f"第 {n} 行“{'、'.join(c for c in v if c)[:40]}”" for n, v in filled[:6])
        from crm.sheets import SHEETS

        expected = "；".join(
            f"{s.label}：{'、'.join(c.header for c in s.columns[:4])}" for s in SHEETS.values()
        )
        raise empty(
            f"在前 {LOOK_FOR_HEADER} 行中找不到表头。看过的行：{looked}。"
            f"表头应包含这样的列名——{expected}。"
        )
    at = scores.index(best)
    header_row = filled[at][0]
    headers = [" ".join((v or "").split()) for v in filled[at][1]]  # “企业\n名称” → 企业 名称
    title_lines = [" ".join(dict.fromkeys(c for c in v if c)) for n, v in filled[:at]]
    notes: list[tuple[int | None, str]] = []
    if title_lines:
        notes.append(
            (
                None,
                f"第 {filled[0][0]}–{header_row - 1} 行是标题（“{title_lines[0][:40]}”），已跳过。"
                if header_row - 1 > filled[0][0]
                else f"第 {filled[0][0]} 行是标题（“{title_lines[0][:40]}”），已跳过。",
            )
        )
    header_rows = 1
    below = next(((n, v) for n, v in head if n > header_row), None)
    if below is not None and below[0] == header_row + 1:
        combined = _sub_headers(headers, below[1], merges, header_row, score)
        if combined is not None:
            headers, header_rows = combined, 2
    rest = ((n, v) for n, v in head if n >= header_row + header_rows)
    width = max((i + 1 for i, h in enumerate(headers) if h), default=0)
    table = Table(
        headers,
        header_row,
        iter(()),
        "",
        header_rows=header_rows,
        title=title_lines[0] if title_lines else None,
        notes=notes,
    )
    rows = _data_rows(itertools.chain(rest, cells), table, merges, width, max_rows, close, empty)
    # the first rows are read now, for the mapping page's samples; the rest stream
    first = list(itertools.islice(rows, SAMPLE_ROWS))
    table.sample = [v for _, v in first]
    table.rows = itertools.chain(first, rows)
    return table


def _sub_headers(
    headers: list[str],
    below: Cells,
    merges: list[tuple[int, int, int, int]],
    header_row: int,
    score: Score,
) -> list[str] | None:
    """A second header row: cells under a parent merged across them (联系人 over 姓名 / 手机),
    or under a blank continuing the parent on its left (a CSV of such a sheet)."""
    spanned: set[int] = set()
    for r1, c1, r2, c2 in merges:
        if r1 <= header_row <= r2 and c2 > c1:
            spanned.update(range(c1 - 1, c2))
    for i, h in enumerate(headers):
        if not h and i > 0 and (headers[i - 1] or i - 1 in spanned):
            spanned.add(i)
    children = {i: v for i, v in enumerate(below) if v and i in spanned}
    if not children or score([children[i] for i in children]) == 0:
        return None
    combined = list(headers) + [""] * max(0, len(below) - len(headers))
    parent = ""
    for i in range(len(combined)):
        if combined[i]:
            parent = combined[i]
        if i in children:
            child = children[i]
            joined = f"{parent}{child}" if parent and parent != child else child
            combined[i] = joined if score([joined]) else child
    return combined


def _data_rows(
    cells: Iterator[tuple[int, Cells]],
    table: Table,
    merges: list[tuple[int, int, int, int]],
    width: int,
    max_rows: int,
    close: Callable[[], None] | None,
    empty: Callable[[str], ImportFileError],
) -> Iterator[tuple[int, Cells]]:
    """Non-blank rows that are data: footer lines and whole-row merged text are noted and
    left out; merged ranges filled down are noted once per column. Stops with an error at the
    first row past the limit, or at the end if there were none."""
    whole_rows = {
        r
        for r1, c1, r2, c2 in merges
        for r in range(r1, r2 + 1)
        if c2 - c1 + 1 >= max(width - 1, 3) and c1 <= 2
    }
    header_end = table.header_row + table.header_rows - 1
    down: dict[int, list[tuple[int, int]]] = {}
    for r1, c1, r2, c2 in merges:
        if r1 > header_end and r2 > r1:
            for c in range(c1, c2 + 1):
                down.setdefault(c - 1, []).append((r1, r2))
    count = 0
    try:
        for number, values in cells:
            if not any(values):
                continue
            text = [v for v in values if v]
            one_text = number in whole_rows and len(set(text)) == 1
            if one_text or _is_footer(text):
                table.notes.append((number, f"“{text[0][:30]}”是合计、备注或说明行，已跳过。"))
                continue
            if _repeats_header(values, table.headers):
                table.notes.append((number, "这一行重复了表头（两张表接在一起），已跳过。"))
                continue
            count += 1
            if count > max_rows:
                raise _too_many(max_rows)
            yield number, values
        if count == 0:
            raise empty("文件只有表头，没有数据行。")
        for column, spans in sorted(down.items()):
            header = table.headers[column] if column < len(table.headers) else ""
            spans = [s for s in spans if s[0] > header_end]
            if header and spans:
                rows = sum(r2 - r1 + 1 for r1, r2 in spans)
                first = "、".join(f"第 {r1}–{r2} 行" for r1, r2 in spans[:3])
                more = "等" if len(spans) > 3 else ""
                table.notes.append(
                    (
                        None,
                        f"【{header}】有 {len(spans)} 处合并单元格（{first}{more}，共 {rows} 行），"
                        "已把合并单元格的内容填到每一行。",
                    )
                )
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误：{exc}") from exc
    finally:
        if close is not None:
            close()


def _is_footer(text: list[str]) -> bool:
    """合计 / 小计 / 其中 in the first filled cells (“甘霖镇 小计”, “电机行业小计” too); a line
    of 备注：, 填表人：, 审核人：… (every filled cell one of those, or at most two cells
    starting with one); a section line alone in its row (“二、领带行业”, “以下为新增企业”)."""
    if any(TOTALS.match(v) or SUBTOTAL.search(v) for v in text[:3]):
        return True
    if all(FOOTER.match(v) for v in text):
        return True
    if len(text) <= 2 and FOOTER.match(text[0]):
        return True
    return len(set(text)) == 1 and bool(SECTION.match(text[0]))


def _too_many(max_rows: int) -> ImportFileError:
    return ImportFileError(f"文件超过 {max_rows:,} 行的上限，请拆分成多个文件导入。")
