"""Writing small sheets for import tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc as std_uscc


def valid_uscc(first17: str) -> str:
    """A 统一社会信用代码 with the right check character."""
    return first17 + std_uscc.calc_check_digit(first17)


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    """A CSV file as Excel writes it (BOM, CRLF), for upload or disk."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(csv_bytes(rows, encoding))
    return path


def read_xlsx(data: bytes) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return rows


RESEARCHERS = [
    ["姓名", "所在单位", "职称", "研究方向", "个人简介"],
    ["陈思远", "港理工", "教授", "纺织品功能整理；抗皱免烫整理", "长期从事真丝织物抗皱整理研究"],
    ["刘海峰", "浙江理工", "副教授", "数码印花；色彩管理", "主持省部级项目3项"],
    ["周雪梅", "东海新材料研究院", "研究员", "硅藻土提纯；矿物加工", None],
]


def upload(client: Any, data: bytes, filename: str, kind: str = "") -> Any:
    """The upload page's 上传并预览 with this file (the kind left to the headers by default)."""
    from tests.conftest import csrf_token

    return client.post(
        "/imports/preview",
        data={
            "csrf_token": csrf_token(client, "/imports/"),
            "kind": kind,
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )
