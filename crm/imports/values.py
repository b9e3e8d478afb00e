"""Reading the values officers type into cells, tolerantly and without losing anything.

Each reader returns the value, or raises `BadValue` with a message in Chinese; what a value
carries beyond the field (a second phone number, an extension, “约800”) comes back as `extra`
text for the record's notes, so nothing typed is silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum.cn import uscc as std_uscc

from crm.enterprises.services import PHONE, clean_uscc
from crm.errors import ValidationError
from crm.money import to_yuan
from crm.text.normal import INVISIBLE, half_width

_DASHES = re.compile(r"[‐‑‒–—―－﹣−～~]")
_PHONE_SPLIT = re.compile(r"\s*(?:[、,，;；/|]|或|\s{2,}|\n)\s*")
_EXTENSION = re.compile(r"^(.*?)\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
_AREA_BRACKETS = re.compile(r"^[(（]\s*(\+?\d{2,5})\s*[)）]\s*")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_VAGUE = re.compile(r"约|左右|以上|以下|大概|上下|面议|待定|不详|未知|若干|[~～]|\d\s*-\s*\d|至")
_UNITS = re.compile(r"(万元|万|元|人民币|rmb)$", re.IGNORECASE)
_YES = {"是", "y", "yes", "true", "1", "√", "✓", "有", "规上", "是的"}
_NO = {"否", "n", "no", "false", "0", "×", "✗", "无", "不是", "非规上", "-", "/"}


#: what offices write in a cell that has nothing to say
PLACEHOLDERS = frozenset(
    {
        "-",
        "--",
        "—",
        "——",
        "－",
        "/",
        "\\",
        "无",
        "暂无",
        "没有",
        "空",
        "n/a",
        "na",
        "null",
        "none",
        "不详",
        "×",
    }
)


def is_blank(text: str | None) -> bool:
    """Empty, or a placeholder (—, /, 暂无 …); cheap for the long cells most are."""
    if text is None:
        return True
    value = text.strip()
    if len(value) > 4:
        return False
    return not value or half_width(value).lower() in PLACEHOLDERS


_ENUMERATION = re.compile(
    r"^\s*(?:[(（]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．]|"
    r"\d{1,4}\s*[、.．)）](?!\d)|[①-⑳])\s*"
)


def organisation_name(text: str | None) -> tuple[str | None, bool]:
    """A firm's or an institution's name without what lists put before it (`1.`, `（一）`,
    `2、`, `⑤`) or pasted into it (zero-width spaces); and whether a number was taken off."""
    if not text:
        return None, False
    name = INVISIBLE.sub("", text).strip()
    stripped = _ENUMERATION.sub("", name, count=1).strip()
    return (stripped or name), bool(stripped) and stripped != name


class BadValue(ValueError):
    def __init__(self, message: str, extra: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # the text as typed, for the notes


@dataclass
class Phones:
    phone: str | None
    extra: str | None  # other numbers and extensions, for the notes


def phones(text: str | None) -> Phones:
    """`(0575)83219876`, `0575—83451234`, `0575-83123456转8001`, `13857500007、0575-83771234`,
    full-width digits: the first number as the phone, the rest (and any extension) as extra
    text. Raises BadValue for a cell with no usable number in it."""
    if is_blank(text):
        return Phones(None, None)
    value = _DASHES.sub("-", half_width(text)).strip()
    numbers, rest = [], []
    for part in _PHONE_SPLIT.split(value):
        part = part.strip()
        if not part:
            continue
        part = _AREA_BRACKETS.sub(r"\1-", part)
        extension = None
        if found := _EXTENSION.match(part):
            part, extension = found.group(1).strip(), found.group(2)
        part = re.sub(r"\s*-\s*", "-", part).strip("-")
        if part and PHONE.match(part) and sum(ch.isdigit() for ch in part) >= 5:
            if not numbers and extension is None:
                numbers.append(part)
            elif not numbers:
                numbers.append(part)
                rest.append(f"分机 {extension}")
            else:
                rest.append(part + (f" 转 {extension}" if extension else ""))
        else:
            rest.append(part + (f" 转 {extension}" if extension else ""))
    if not numbers:
        raise BadValue(f"电话“{text}”中没有可用的号码，已放入备注。", extra=text)
    phone = numbers[0][:32]
    extra = f"其他电话：{'；'.join(rest)}" if rest else None
    return Phones(phone, extra)


def number(text: str | None) -> Decimal | None:
    """`1,234.5`, `１２３４`, `800万元` → a Decimal. A vague figure (`约800`, `面议`,
    `30-50`) raises BadValue whose extra keeps it as typed."""
    if is_blank(text):
        return None
    value = half_width(text).strip().replace(",", "").replace(" ", "")
    value = _UNITS.sub("", value)
    if not value:
        return None
    if _NUMBER.match(value):
        amount = Decimal(value)
        if amount < 0:
            raise BadValue(f"“{text}”是负数，已放入备注。", extra=text)
        return amount
    if _VAGUE.search(value):
        raise BadValue(f"“{text}”不是确切的数字，未填入，原文已放入备注。", extra=text)
    try:
        Decimal(value)
    except InvalidOperation:
        pass
    raise BadValue(f"“{text}”不是数字，未填入，原文已放入备注。", extra=text)


#: a money header's unit → how many 万元 one of it is (`工业总产值（亿元）`, `（元）`)
UNITS = {
    "亿元": Decimal(10000),
    "亿": Decimal(10000),
    "万元": Decimal(1),
    "万": Decimal(1),
    "千元": Decimal("0.1"),
    "元": Decimal("0.0001"),
}
_UNIT_IN_HEADER = re.compile(
    r"[（(]\s*(亿元|亿|万元|万|千元|元)\s*[)）]|单位\s*[:：]\s*(亿元|万元|千元|元)"
)


def unit_of(header: str) -> tuple[str, Decimal] | None:
    """The money unit a header names, with its size in 万元; None when it names none."""
    found = _UNIT_IN_HEADER.search(header or "")
    if not found:
        return None
    unit = found.group(1) or found.group(2)
    return unit, UNITS[unit]


def wan_to_yuan(amount: Decimal | None) -> Decimal | None:
    """A figure in 万元 as the yuan we store, to the cent."""
    if amount is None:
        return None
    if not amount.is_finite() or amount > Decimal("1e10"):
        raise BadValue("金额大得不合理，请核对单位（万元）。")
    return to_yuan(amount)


def yes_no(text: str | None) -> bool | None:
    if text is None or half_width(text).strip().lower() in PLACEHOLDERS - {"无", "×"}:
        return None
    v = half_width(text).strip().lower()
    if v in _YES:
        return True
    if v in _NO or not v:
        return False
    if v.startswith("是"):
        return True
    if v.startswith(("否", "不", "非", "未", "无")) or any(
        word in v for word in ("未通过", "未认定", "过期", "失效", "撤销", "取消")
    ):  # 否（2025年申报中）, 2022年未通过, 2019年认定已过期
        return False
    raise BadValue(f"“{text}”请填“是”或“否”，未填入。")


def year_in(text: str | None) -> int | None:
    """A year a cell names (`是（2023年认定）`, `2023-12-08`) or None."""
    found = re.search(r"((?:19|20)\d{2})", half_width(text or ""))
    return int(found.group(1)) if found else None


def date_in(text: str | None) -> date | None:
    found = re.search(r"((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})", half_width(text or ""))
    if not found:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


_EXCEL_NUMBER = re.compile(r"^\d\.\d+e\+?\d+$", re.IGNORECASE)


def uscc(text: str | None) -> str | None:
    """A 统一社会信用代码, checked; full-width and lower-case forms accepted. A code that
    Excel stored as a number (all digits, or `9.13306839935182E+17`) gets a message that says
    how to keep it whole."""
    if not text:
        return None
    value = re.sub(r"\s", "", half_width(text)).upper()
    if _EXCEL_NUMBER.match(value) or (value.isdigit() and len(value) >= 15):
        if value.isdigit() and len(value) == 18 and std_uscc.is_valid(value):
            return value
        raise BadValue(
            f"信用代码“{text}”被 Excel 存成了数字，末尾几位已经丢失。"
            "请把这一列的单元格格式设置为“文本”，重新填写代码后再导入。"
        )
    try:
        return clean_uscc(value)
    except ValidationError as exc:
        raise BadValue(f"信用代码“{text}”：{exc.message}") from None


def derive_title(description: str, limit: int = 30) -> str:
    """A need's title from its description: the first clause, at most `limit` characters
    (`领带面料洗了以后容易起皱，想找…` → 领带面料洗了以后容易起皱)."""
    text = re.sub(r"\s+", " ", half_width(description)).strip()
    first = re.split(r"[,，。；;！!？?\n]", text, maxsplit=1)[0].strip() or text
    if len(first) <= limit:
        return first
    return first[: limit - 1] + "…"
