"""The table inside a file: its header row found below titles (scored by how many known headers
it holds, two-row headers joined), and its data rows without footers, subtotals, section
lines or a repeated header; merged cells filled in. Shared by the .xlsx and .csv readers."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from crm.errors import ValidationError
from crm.spreadsheets import unguard


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
    titles: list[str] = field(default_factory=list)  # every line above it (title, subtitle)
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


def cell_text(value: Any) -> str | None:
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


def find_table(
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
        titles=title_lines,
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
                raise too_many(max_rows)
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


def too_many(max_rows: int) -> ImportFileError:
    return ImportFileError(f"文件超过 {max_rows:,} 行的上限，请拆分成多个文件导入。")
