"""The spreadsheet layouts officers use: headers in Chinese (with English aliases) per kind.

One definition serves the importer (which header means which field), the downloadable
templates, the README and the exports (an export re-imports as it is).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as officers write it; the template's header
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    note: str = ""  # shown in the README and the template's second sheet
    personal: bool = False  # personal data: masked in a viewer's export


@dataclass(frozen=True)
class Sheet:
    kind: str
    label: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def header_key(text: str) -> str:
    """How a header is compared: half-width, no spaces, brackets, stars or colons, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\s*:：()（）\[\]【】]", "", text)
    return text.lower()


SHEETS: dict[str, Sheet] = {
    s.kind: s
    for s in (
        Sheet(
            "enterprises",
            "企业",
            (
                Column(
                    "name",
                    "企业名称",
                    ("名称", "企业", "单位名称", "company", "name"),
                    True,
                    "嵊州市锦程领带有限公司",
                ),
                Column(
                    "uscc",
                    "统一社会信用代码",
                    ("信用代码", "社会信用代码", "uscc", "credit code"),
                    example="91330683MA2BXXXXXX",
                    note="18 位，校验位会被核对；有则按它识别同一企业",
                ),
                Column(
                    "town",
                    "所属乡镇",
                    ("乡镇", "乡镇街道", "所在乡镇", "town"),
                    example="经济开发区",
                    note="嵊州市的乡镇街道名称",
                ),
                Column(
                    "industries",
                    "所属行业",
                    ("行业", "industry", "industries"),
                    example="领带服装",
                    note="多个行业用“、”或逗号分隔",
                ),
                Column(
                    "main_products",
                    "主营产品",
                    ("产品", "主要产品", "products"),
                    example="真丝提花领带",
                ),
                Column("contact", "联系人", ("联系人姓名", "contact"), example="王先生"),
                Column(
                    "phone",
                    "联系电话",
                    ("电话", "手机", "联系方式", "phone", "mobile"),
                    example="0575-83000000",
                    personal=True,
                ),
                Column("address", "地址", ("企业地址", "address")),
                Column(
                    "above_scale",
                    "规上企业",
                    ("是否规上", "规模以上", "above scale"),
                    example="是",
                    note="是 / 否",
                ),
                Column("notes", "备注", ("说明", "notes")),
            ),
        ),
        Sheet(
            "institutions",
            "高校院所",
            (
                Column(
                    "name",
                    "单位名称",
                    ("名称", "机构名称", "院校名称", "institution", "name"),
                    True,
                    "香港理工大学",
                ),
                Column(
                    "kind",
                    "类型",
                    ("单位类型", "机构类型", "kind", "type"),
                    example="高等院校",
                    note="高等院校 / 中科院院所 / 科研院所 / 技术转移中心 / 其他",
                ),
                Column("region", "所在地区", ("地区", "所在地", "region"), example="香港"),
                Column(
                    "description",
                    "简介",
                    ("单位简介", "description"),
                    example="纺织及服装学系在功能整理方面积累深厚",
                ),
                Column(
                    "aliases",
                    "别名",
                    ("简称", "又名", "aliases"),
                    example="港理工、PolyU",
                    note="多个别名用“、”或逗号分隔",
                ),
            ),
        ),
        Sheet(
            "researchers",
            "专家",
            (
                Column("name", "姓名", ("专家姓名", "名字", "name"), True, "陈某某"),
                Column(
                    "institution",
                    "所在单位",
                    ("单位", "工作单位", "institution"),
                    example="港理工",
                    note="按名称、别名或相近名称对应到已有单位；找不到则新建并报告",
                ),
                Column("title", "职称", ("title",), example="教授"),
                Column(
                    "research_directions",
                    "研究方向",
                    ("方向", "研究领域", "专业领域", "research directions"),
                    example="纺织品功能整理；抗皱免烫整理",
                ),
                Column(
                    "bio",
                    "个人简介",
                    ("简介", "专家简介", "bio"),
                    example="长期从事真丝织物抗皱整理研究",
                ),
                Column("team", "团队", ("所在团队", "team")),
            ),
        ),
        Sheet(
            "needs",
            "技术需求",
            (
                Column(
                    "enterprise",
                    "企业名称",
                    ("企业", "需求企业", "单位名称", "company"),
                    True,
                    "嵊州市锦程领带有限公司",
                    note="按信用代码、名称或相近名称对应到已有企业",
                ),
                Column("uscc", "统一社会信用代码", ("信用代码", "uscc")),
                Column(
                    "title",
                    "需求名称",
                    ("需求", "需求标题", "项目名称", "title"),
                    True,
                    "真丝领带起皱问题",
                ),
                Column(
                    "description",
                    "需求描述",
                    ("描述", "需求内容", "具体需求", "description"),
                    example="洗后容易起皱，希望找到抗皱整理工艺",
                ),
                Column(
                    "budget", "预算（万元）", ("预算", "拟投入", "预算万元", "budget"), example="20"
                ),
            ),
        ),
        Sheet(
            "achievements",
            "科技成果",
            (
                Column(
                    "title",
                    "成果名称",
                    ("名称", "成果", "项目名称", "title"),
                    True,
                    "真丝织物无甲醛抗皱整理技术",
                ),
                Column(
                    "institution",
                    "完成单位",
                    ("单位", "所属单位", "institution"),
                    example="香港理工大学",
                ),
                Column(
                    "researcher",
                    "完成人",
                    ("负责人", "发明人", "researcher"),
                    example="陈某某",
                    note="按姓名在完成单位的专家中查找",
                ),
                Column(
                    "description",
                    "成果简介",
                    ("简介", "成果描述", "description"),
                    example="采用多元羧酸交联，整理后织物折皱回复角提高 40%",
                ),
                Column(
                    "maturity",
                    "成熟度",
                    ("成果成熟度", "maturity"),
                    example="中试",
                    note="实验室阶段 / 小试 / 中试 / 可产业化",
                ),
                Column(
                    "transfer_mode",
                    "转化方式",
                    ("合作方式", "transfer mode"),
                    example="许可",
                    note="转让 / 许可 / 作价入股 / 合作开发 / 面议",
                ),
            ),
        ),
        Sheet(
            "contacts",
            "联系人",
            (
                Column(
                    "organisation",
                    "所在单位",
                    ("单位名称", "企业名称", "单位", "企业", "organisation", "company"),
                    True,
                    "嵊州市锦程领带有限公司",
                    note="企业或高校院所的名称",
                ),
                Column("name", "姓名", ("联系人", "name"), True, "王某某"),
                Column("position", "职务", ("职位", "position"), example="技术副总"),
                Column(
                    "phone",
                    "联系电话",
                    ("电话", "手机", "phone", "mobile"),
                    example="0575-83000000",
                    personal=True,
                ),
                Column("email", "电子邮箱", ("邮箱", "email", "e-mail"), personal=True),
            ),
        ),
    )
}

KIND_CHOICES = tuple(SHEETS)

#: Lists that export but do not import (a task belongs to a visit or a person's day).
EXPORT_ONLY: dict[str, Sheet] = {
    "tasks": Sheet(
        "tasks",
        "待办",
        (
            Column("title", "待办事项"),
            Column("enterprise", "企业"),
            Column("assignee", "负责人"),
            Column("due_on", "截止日期"),
            Column("status", "状态"),
            Column("notes", "备注"),
        ),
    )
}
EXPORTS: dict[str, Sheet] = SHEETS | EXPORT_ONLY


def map_headers(sheet: Sheet, headers: list[str]) -> tuple[dict[int, Column], list[str]]:
    """Which column of the file feeds which field, and the headers nobody knows."""
    lookup: dict[str, Column] = {}
    for col in sheet.columns:
        for name in (col.header, *col.aliases):
            lookup.setdefault(header_key(name), col)
    mapping: dict[int, Column] = {}
    unknown = []
    for i, header in enumerate(headers):
        col = lookup.get(header_key(header))
        if col is not None and col not in mapping.values():
            mapping[i] = col
        elif header.strip():
            unknown.append(header.strip())
    return mapping, unknown


def infer_kind(headers: list[str]) -> str | None:
    """The kind whose required headers are all present and which explains the most headers."""
    best, best_score = None, 0
    for sheet in SHEETS.values():
        mapping, _ = map_headers(sheet, headers)
        found = set(mapping.values())
        if not all(c in found for c in sheet.required):
            continue
        # the primary (first) header counts double: 企业名称 first means enterprises
        score = len(found) + (
            1
            if sheet.columns[0] in found
            and headers
            and header_key(headers[0])
            in {header_key(n) for n in (sheet.columns[0].header, *sheet.columns[0].aliases)}
            else 0
        )
        if score > best_score:
            best, best_score = sheet.kind, score
    return best
