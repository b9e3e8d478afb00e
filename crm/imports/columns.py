"""The spreadsheet layouts officers use: headers in Chinese (with English aliases) per kind.

One definition serves the importer (which header means which field), the downloadable
templates, the README and the exports (an export re-imports as it is).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as officers write it; the template's header
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    note: str = ""  # shown in the README and the template's second sheet
    personal: bool = False  # personal data: masked in a viewer's export
    exported: bool = True  # in the export and the template's header (else import only)
    yearly: bool = False  # a figure of one year: the year comes from the header or the page
    money: bool = False  # an amount in 万元 (or in the unit its header names)


@dataclass(frozen=True)
class Sheet:
    kind: str
    label: str
    columns: tuple[Column, ...]
    #: at least one of these keys must be mapped (a needs sheet: 需求名称 or 需求描述)
    one_of: tuple[str, ...] = ()

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    @property
    def exported(self) -> list[Column]:
        return [c for c in self.columns if c.exported]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


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
                    (
                        "乡镇",
                        "乡镇街道",
                        "所在乡镇",
                        "所属镇街",
                        "镇街",
                        "镇乡街道",
                        "镇",
                        "街道",
                        "所在镇",
                        "town",
                    ),
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
                Column(
                    "revenue",
                    "营业收入（万元）",
                    ("营业收入", "主营业务收入", "销售收入", "营收", "revenue"),
                    exported=False,
                    yearly=True,
                    money=True,
                    note="某一年的数字，年份写在表头里（如“2025年营业收入（万元）”）或在导入页选择",
                ),
                Column(
                    "rnd_spend",
                    "研发投入（万元）",
                    (
                        "研发投入",
                        "研发费用",
                        "研发经费",
                        "R&D经费",
                        "科技活动经费支出",
                        "研发经费支出",
                    ),
                    exported=False,
                    yearly=True,
                    money=True,
                ),
                Column(
                    "industrial_output",
                    "工业总产值（万元）",
                    ("工业总产值", "总产值"),
                    exported=False,
                    yearly=True,
                    money=True,
                ),
                Column(
                    "hitech_output",
                    "高新技术产品产值（万元）",
                    ("高新技术产品产值", "高新技术产业产值", "高新产品产值"),
                    exported=False,
                    yearly=True,
                    money=True,
                ),
                Column(
                    "hitech",
                    "是否高新技术企业",
                    ("高新技术企业", "是否高新", "国家高新技术企业", "国家高新"),
                    exported=False,
                    note="是 / 否；“是”而系统中没有记录的，补记一条国家级高新技术企业认定",
                ),
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
                Column("name", "姓名", ("专家姓名", "名字", "专家", "name"), True, "陈某某"),
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
                    ("需求", "需求标题", "项目名称", "技术需求名称", "title"),
                    example="真丝领带起皱问题",
                    note="没有这一列时，取需求描述的第一句（不超过 30 字）",
                ),
                Column(
                    "description",
                    "需求描述",
                    ("描述", "需求内容", "具体需求", "description"),
                    example="洗后容易起皱，希望找到抗皱整理工艺",
                ),
                Column(
                    "budget",
                    "预算（万元）",
                    ("预算", "拟投入", "预算万元", "拟投入资金", "budget"),
                    example="20",
                    money=True,
                    note="数字；“约30”“面议”之类保留在描述里并提醒",
                ),
                Column(
                    "contact",
                    "联系人",
                    ("联系人姓名", "企业联系人", "contact"),
                    exported=False,
                    note="按姓名对应到企业已有的联系人，没有则新建",
                ),
                Column(
                    "phone",
                    "联系电话",
                    ("电话", "手机", "联系方式", "phone", "mobile"),
                    personal=True,
                    exported=False,
                ),
            ),
            one_of=("title", "description"),
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


#: headers every office list has that hold nothing to import (a row counter)
IGNORED_HEADERS = frozenset({"序号", "编号", "序", "no", "no.", "行号"})
IGNORE = ""  # a mapping's value for a column the officer chose not to import

_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
SIMILARITY_CUTOFF = 80.0
_DERIVED = re.compile(r"率|比重|占比|增长|增速|增幅|同比|环比|%|排名|名次|序列")


def header_key(text: str) -> str:
    """How a header is compared: half-width, no spaces, brackets, stars or colons, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\s*:：()（）\[\]【】]", "", text)
    return text.lower()


def plain_header(text: str) -> str:
    """The header without what qualifies it: `所属乡镇（街道）` → 所属乡镇,
    `2025年营业收入（万元）` → 营业收入, `*企业名称` → 企业名称."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _YEAR.sub("", _BRACKETED.sub("", text))
    return header_key(text)


def header_year(text: str) -> int | None:
    """The year a header names (`2025年营业收入（万元）` → 2025)."""
    found = _YEAR.search(unicodedata.normalize("NFKC", text or ""))
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Match:
    """What one column of a file feeds: a field, how it was recognised, the year it names."""

    header: str
    column: Column | None
    how: str  # exact / normalised / similar / chosen / saved / extra / ignored / unknown
    year: int | None = None
    ident: str = ""  # the header, or `电话#2` for its second column: what a mapping names

    @property
    def key(self) -> str:
        return self.ident or self.header

    @property
    def label(self) -> str:
        return {
            "exact": "表头一致",
            "normalised": "去掉括号、年份后一致",
            "similar": "名称相近，请核对",
            "chosen": "按您的选择",
            "saved": "沿用上次的选择",
            "ignored": "不导入",
            "unknown": "未识别",
            "extra": "同一字段已有一列：写入备注",
        }[self.how]


def _names(sheet: Sheet) -> dict[str, Column]:
    names: dict[str, Column] = {}
    for col in sheet.columns:
        for name in (col.header, *col.aliases):
            names.setdefault(header_key(name), col)
            names.setdefault(plain_header(name), col)
    return names


def match_header(sheet: Sheet, header: str) -> Match:
    """Exact (the header or an alias), then without brackets and year, then by similarity
    (rapidfuzz) or by holding a known name — those are marked for the officer to check."""
    text = (header or "").strip()
    if not text:
        return Match(text, None, "ignored")
    names = _names(sheet)
    year = header_year(text)
    if (col := names.get(header_key(text))) is not None:
        return Match(text, col, "exact", year)
    plain = plain_header(text)
    if plain in IGNORED_HEADERS or header_key(text) in IGNORED_HEADERS:
        return Match(text, None, "ignored")
    if (col := names.get(plain)) is not None:
        if col.money and _DERIVED.search(text):  # 营业收入（%）: a share, not an amount
            return Match(text, None, "unknown", year)
        return Match(text, col, "normalised", year)
    if len(plain) >= 2:
        if _DERIVED.search(plain):  # 营业收入增长率, 研发投入占比: about a field, not the field
            return Match(text, None, "unknown", year)
        best = process.extractOne(plain, list(names), scorer=fuzz.ratio)
        if best is not None and best[1] >= SIMILARITY_CUTOFF:
            return Match(text, names[best[0]], "similar", year)
        # a header holding a known name of three or more characters (企业联系电话), or ending
        # with one of two (办公电话, 联系人手机: the last word names the thing); not 需求 in
        # 需求类型 — two characters elsewhere in a header say too little
        held = [
            n for n in names if (len(n) >= 3 and n in plain) or (len(n) == 2 and plain.endswith(n))
        ]
        if held:
            return Match(text, names[max(held, key=len)], "similar", year)
    return Match(text, None, "unknown", year)


def map_columns(
    sheet: Sheet,
    headers: list[str],
    chosen: dict[str, str] | None = None,
    saved: dict[str, str] | None = None,
) -> list[Match]:
    """One match per column of the file. `chosen` maps a header (as written) to a field key,
    or to IGNORE, and wins over the matcher; `saved` (what was chosen for a file with these
    headers before) wins over the matcher too, labelled as such. A field fed by two columns
    keeps the first; the second is reported as unknown (it would silently overwrite)."""
    saved = {h: k for h, k in (saved or {}).items() if h not in (chosen or {})}
    chosen = (chosen or {}) | saved
    by_key = {c.key: c for c in sheet.columns}
    matches = []
    for text, ident in zip(*column_idents(headers), strict=True):
        if ident in chosen:
            key = chosen[ident]
            col = by_key.get(key)
            how = "saved" if ident in saved else "chosen"
            if col is not None:
                matches.append(Match(text, col, how, header_year(text), ident))
                continue
            if key == IGNORE:
                matches.append(Match(text, None, how, None, ident))
                continue
        found = match_header(sheet, text)
        matches.append(Match(found.header, found.column, found.how, found.year, ident))
    taken: set[tuple[str, int | None]] = set()
    yeared = {m.column.key for m in matches if m.column is not None and m.year is not None}
    for i, m in enumerate(matches):
        if m.column is None:
            continue
        slot = (m.column.key, m.year if m.column.yearly else None)
        # 办公电话 beside 手机, or 营业收入 without a year beside 2025年营业收入 (its year is not
        # known here and could be that one): kept, in the record's notes
        if slot in taken or (m.column.yearly and m.year is None and m.column.key in yeared):
            matches[i] = Match(m.header, m.column, "extra", m.year, m.ident)
        taken.add(slot)
    return matches


def column_idents(headers: list[str]) -> tuple[list[str], list[str]]:
    """The headers as shown, and as a mapping names them: a header that appears again is
    `电话#2` there, so each of two 电话 columns can be mapped on its own."""
    shown, idents, seen = [], [], {}
    for header in headers:
        text = (header or "").strip()
        seen[text] = seen.get(text, 0) + 1
        shown.append(text)
        idents.append(text if seen[text] == 1 else f"{text}#{seen[text]}")
    return shown, idents


def missing_required(sheet: Sheet, matches: list[Match]) -> list[str]:
    """Headers the file must have and does not."""
    found = {m.column.key for m in matches if m.column is not None}
    missing = [c.header for c in sheet.required if c.key not in found]
    if sheet.one_of and not found & set(sheet.one_of):
        missing.append("或".join(sheet.column(k).header for k in sheet.one_of))
    return missing


def header_score(cells: list[str | None]) -> int:
    """How much a row looks like a header: cells any kind of sheet recognises, without
    guessing (exact or normalised), plus row counters such as 序号."""
    score = 0
    for cell in cells:
        if not cell or len(cell) > 30:
            continue
        plain = plain_header(cell)
        if plain in IGNORED_HEADERS or any(
            header_key(cell) in names or plain in names for names in _ALL_NAMES
        ):
            score += 1
    return score


def infer_kind(headers: list[str]) -> str | None:
    """The kind whose required headers are all present and which explains the headers best:
    a header counts more the fewer kinds know it (研究方向 says 专家; 姓名 and 联系电话 say
    little), and a guessed match counts half."""
    matched = {
        kind: [m for m in map_columns(sheet, headers) if m.column is not None and m.how != "extra"]
        for kind, sheet in SHEETS.items()
    }
    known_by: dict[str, int] = {}
    for found in matched.values():
        for m in found:
            if m.how in ("exact", "normalised"):
                known_by[m.header] = known_by.get(m.header, 0) + 1
    best, best_score = None, 0.0
    for kind, sheet in SHEETS.items():
        found = matched[kind]
        if missing_required(sheet, [*found]):
            continue
        score = round(
            sum(
                (1.0 if m.how in ("exact", "normalised") else 0.5) / known_by.get(m.header, 1)
                for m in found
            ),
            6,
        )
        if score > best_score:  # a tie goes to the kind listed first (企业 before 联系人)
            best, best_score = kind, score
    return best


_ALL_NAMES = [_names(s) for s in SHEETS.values()]
