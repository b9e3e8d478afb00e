"""Reading a file's headers: which column of which sheet each one means (by header, alias,
bracketed unit or year, or a close spelling), which kind of sheet a header row is, and
which row of a file is its header."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from crm.sheets import SHEETS, Column, Sheet

#: headers every office list has that hold nothing to import (a row counter)
IGNORED_HEADERS = frozenset({"序号", "编号", "序", "no", "no.", "行号"})
IGNORE = ""  # a mapping's value for a column the officer chose not to import

_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
SIMILARITY_CUTOFF = 80.0
_JOINERS = ("及", "和", "与", "、", "/", "／", "&", "＆")
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
        if held:  # the name it ends with first: 联系人手机 is a phone, not a contact's name —
            # unless the header joins two (企业名称及联系人): then the longest, as before
            joined = any(mark in plain for mark in _JOINERS)
            ending = [] if joined else [n for n in held if plain.endswith(n)]
            return Match(text, names[max(ending or held, key=len)], "similar", year)
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
