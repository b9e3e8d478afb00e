"""Reading .csv: strict decoding (UTF-8, GBK/GB18030 as WPS saves it, UTF-16) and the delimiter
that splits the lines evenly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from crm.imports.table import ImportFileError, Score, Table, cell_text, find_table


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


def open_csv(path: Path, max_rows: int, score: Score) -> Table:
    data = path.read_bytes()
    text, encoding = decode(data)
    if "\x00" in text[:65536]:
        raise ImportFileError("这不是文本表格文件，请上传 .xlsx 或 .csv 文件。")
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    cells = ((n, [cell_text(v) for v in row]) for n, row in enumerate(reader, 1))
    try:
        table = find_table(cells, score, [], max_rows, None, ImportFileError)
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误：{exc}") from exc
    table.format, table.encoding = "csv", encoding
    return table
