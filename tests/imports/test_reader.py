"""Reading uploaded files: encodings, and every hostile or useless file refused clearly."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import Workbook

from crm.imports import reader
from crm.imports.reader import open_table
from crm.imports.table import ImportFileError
from tests.imports.helpers import RESEARCHERS, write_csv, write_xlsx


def rows_of(table: reader.Table) -> list[list[str | None]]:
    return [cells for _, cells in table.rows]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_every_encoding_reads_the_same(tmp_path, encoding):
    table = open_table(write_csv(tmp_path / "r.csv", RESEARCHERS, encoding), 1000)
    assert table.headers == RESEARCHERS[0]
    assert rows_of(table) == [[v or None for v in row] for row in RESEARCHERS[1:]]


def test_undecodable_csv_is_refused_not_replaced(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("姓名,所在单位\n王,".encode() + b"\x80\xff\n")
    with pytest.raises(ImportFileError, match="无法识别文件编码"):
        open_table(path, 1000)


def test_excel_unicode_text_is_read(tmp_path):
    """Excel's 另存为“Unicode 文本”: UTF-16 with a byte-order mark, tab-separated."""
    path = tmp_path / "unicode.txt"
    path.write_bytes(
        "\r\n".join("\t".join(v or "" for v in r) for r in RESEARCHERS).encode("utf-16")
    )
    table = open_table(path, 10)
    assert table.headers == RESEARCHERS[0] and len(rows_of(table)) == 3


def test_xlsx_rows_keep_excel_row_numbers_and_skip_blank_rows(tmp_path):
    path = write_xlsx(
        tmp_path / "r.xlsx", [RESEARCHERS[0], [], RESEARCHERS[1], [None, None], RESEARCHERS[2]]
    )
    table = open_table(path, 1000)
    assert [n for n, _ in table.rows] == [3, 5]


def test_numbers_typed_as_numbers_come_back_as_text(tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", [["企业名称", "联系电话"], ["某公司", 13800008000]])
    assert rows_of(open_table(path, 10)) == [["某公司", "13800008000"]]


def test_export_guard_apostrophe_is_removed(tmp_path):
    path = write_csv(
        tmp_path / "g.csv", [["姓名", "联系电话"], ["王", "'+86 138 0000 8000"], ["李", "'abc"]]
    )
    assert rows_of(open_table(path, 10)) == [["王", "+86 138 0000 8000"], ["李", "'abc"]]


def test_renamed_executable_is_refused(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    with pytest.raises(ImportFileError, match="不是表格文件"):
        open_table(path, 10)


def test_old_xls_is_refused_with_advice(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200)
    with pytest.raises(ImportFileError, match="另存为 .xlsx"):
        open_table(path, 10)


def test_binary_with_csv_name_is_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"\x01\x02\x00\x00garbage" * 50)
    with pytest.raises(ImportFileError, match="不是文本表格文件"):
        open_table(path, 10)


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ImportFileError, match="不是 Excel"):
        open_table(path, 10)


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * (50 * 1024 * 1024) + "</a>")
    assert path.stat().st_size < 200_000
    with pytest.raises(ImportFileError, match="压缩炸弹"):
        open_table(path, 10)


def test_xml_entity_expansion_is_refused(tmp_path):
    """A billion-laughs worksheet: defusedxml refuses the entities; we report a damaged file."""
    path = write_xlsx(tmp_path / "ok.xlsx", [["姓名"], ["王"]])
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    bomb = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            body = laughs if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item, body)
    with pytest.raises(ImportFileError):
        rows_of(open_table(bomb, 10))


def test_empty_file_and_header_only_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="空的"):
        open_table(empty, 10)
    with pytest.raises(ImportFileError, match="只有表头"):
        open_table(write_csv(tmp_path / "h.csv", [RESEARCHERS[0]]), 10)
    blank_xlsx = write_xlsx(tmp_path / "blank.xlsx", [])
    with pytest.raises(ImportFileError, match="没有数据"):
        open_table(blank_xlsx, 10)


def test_formula_only_sheet_is_explained(tmp_path):
    path = tmp_path / "formulas.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "所在单位"])
    ws.append(['=CONCAT("王","五")', "=A1"])
    wb.save(path)  # openpyxl stores no computed values: Excel would, on saving
    with pytest.raises(ImportFileError, match="公式没有计算结果"):
        open_table(path, 10)  # the first rows are read at once, for the mapping page


def test_too_many_rows_is_refused_at_the_limit(tmp_path):
    rows = [RESEARCHERS[0]] + [[f"专家{i}", "某大学"] for i in range(60)]
    table = open_table(write_csv(tmp_path / "big.csv", rows), 20)
    seen = 0
    with pytest.raises(ImportFileError, match="20 行的上限"):
        for _ in table.rows:
            seen += 1
    assert seen == 20
    xlsx = write_xlsx(tmp_path / "big.xlsx", rows)
    with pytest.raises(ImportFileError, match="上限"):
        open_table(xlsx, 20)  # the sheet's dimension says so: refused before reading rows


def test_a_narrow_merge_in_the_data_is_data_and_a_merged_line_is_not(tmp_path):
    """A name merged over two columns of a three-column list is a firm; a note merged across
    the table is not."""
    wb = Workbook()
    ws = wb.active
    ws.append(["企业名称", None, "所属乡镇"])
    ws.merge_cells("A1:B1")
    ws.append(["嵊州市合并名称有限公司", None, "甘霖镇"])
    ws.merge_cells("A2:B2")
    ws.append(["以上企业由各乡镇推荐，排名不分先后"])
    ws.merge_cells("A3:C3")
    path = tmp_path / "narrow.xlsx"
    wb.save(path)
    table = open_table(path, 10)
    assert rows_of(table) == [["嵊州市合并名称有限公司", "嵊州市合并名称有限公司", "甘霖镇"]]
    assert any("排名不分先后" in message for _, message in table.notes)


def test_a_title_above_a_csv_header_is_skipped(tmp_path):
    path = write_csv(
        tmp_path / "t.csv", [["2026年专家名单"], ["填报日期：2026年3月"], *RESEARCHERS]
    )
    table = open_table(path, 10)
    assert table.header_row == 3 and table.headers == RESEARCHERS[0]
    assert table.title == "2026年专家名单" and len(rows_of(table)) == 3
