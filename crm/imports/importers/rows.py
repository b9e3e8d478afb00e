"""A row of an import as the importers see it: its cells read by kind, every problem at once
(`RowError`), warnings and notes for the report (`Issue`), and the run's `Context`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from crm.auth.models import User
from crm.db import Choice
from crm.imports import values
from crm.text.normal import half_width, person_name
from crm.workers import AnalysisPool


class RowError(Exception):
    """A row cannot be imported; `problems` lists every reason at once: (column key, message)."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.problems: list[tuple[str | None, str]] = [(column, message)]

    @classmethod
    def of(cls, problems: list[tuple[str | None, str]]) -> RowError:
        error = cls(*problems[0])
        error.problems = list(problems)
        return error


@dataclass
class Issue:
    row: int | None
    column: str | None  # the header as the file names it
    message: str
    level: str = "error"  # error: row skipped / warning: imported, please check / note

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "level": self.level,
        }


@dataclass
class Outcome:
    """What happened to one row, for the preview: created / updated / unchanged / skipped."""

    row: int
    outcome: str
    label: str  # the record as the row names it
    detail: str = ""  # the changed fields, or why it was skipped


@dataclass
class Context:
    user: User
    pool: AnalysisPool
    dedup_threshold: float = 85.0
    issues: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    headers: dict[str, str] = field(default_factory=dict)  # field key → the file's header
    #: field key → the field's own name, for a field the file has no column for (需求名称)
    labels: dict[str, str] = field(default_factory=dict)
    extras_to: str = "备注"  # the field a row's unstorable values are kept in (the importer's)
    units: dict[str, Decimal] = field(default_factory=dict)  # money key → 万元 per unit
    renumbered: int = 0  # names that had a list number (`1.`, `（一）`) taken off
    year: int | None = None  # the year of figures whose header names none
    above_scale_year: int | None = None  # a 规上 list: its firms are 规上 in this year
    #: an officer's answers to “is this the same firm?”: name → enterprise id, or 0 for new
    decisions: dict[str, int] = field(default_factory=dict)
    #: questions the preview asks: name as written → [(enterprise id, name, score)]
    questions: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    filename: str = ""
    titles: list[str] = field(default_factory=list)  # the lines above the header
    # a published project list: what the officer chose (None: from the title and columns)
    list_stage: str | None = None
    programme_id: int | None = None
    listed_on: date | None = None

    def note(self, row: int | None, column: str | None, message: str, level: str) -> None:
        key = column or ""
        self.issues.append(
            Issue(row, self.headers.get(key) or self.labels.get(key, column), message, level)
        )


EXTRA = "extra:"  # the key of a column whose field another column already feeds


class Row:
    """One row's cells by field key, with what the importer found wrong with them: problems
    with key fields skip the row (all of them reported together), others are warnings and
    the row is kept without that value. Text that belongs nowhere else goes to `extras`."""

    def __init__(self, ctx: Context, number: int, cells: dict[str, str | None]) -> None:
        self.ctx = ctx
        self.number = number
        self.values = cells
        self.problems: list[tuple[str | None, str]] = []
        self.extras: list[str] = []
        self.label = ""
        self.detail = ""
        for key in [k for k in cells if k.startswith(EXTRA)]:  # a second column of a field
            cell = cells.pop(key)
            if cell and not values.is_blank(cell):
                self.extras.append(f"{key[len(EXTRA) :]}：{cell.strip()}")

    def get(self, key: str) -> str | None:
        """The cell's text; a placeholder (—, /, 暂无, 无) is a blank and never erases what is
        stored. Yes/no cells keep 无 / × (they mean 否): see `raw`."""
        value = self.raw(key)
        return None if value is None or values.is_blank(value) else value

    def raw(self, key: str) -> str | None:
        value = self.values.get(key)
        return value.strip() or None if value is not None else None

    def warn(self, key: str | None, message: str) -> None:
        self.ctx.note(self.number, key, message, "warning")

    def fail(self, key: str | None, message: str) -> None:
        self.problems.append((key, message))

    def check(self) -> None:
        if self.problems:
            raise RowError.of(self.problems)

    def text(
        self, key: str, limit: int | None = None, *, required: str | None = None
    ) -> str | None:
        """The cell as text; too long: a warning (kept without it) or, for a key, a problem."""
        value = self.get(key)
        if value is None:
            if required:
                self.fail(key, required)
            return None
        if limit is not None and len(value) > limit:
            message = f"内容过长（{len(value)} 字），最多 {limit} 字"
            if required:
                self.fail(key, message + "。")
            else:
                self.warn(key, message + "，未导入这一格。")
            return None
        return value

    def name(self, key: str, limit: int, *, required: str | None = None) -> str | None:
        """A person's name: inner spaces of Chinese names dropped (`李  梅` → 李梅)."""
        value = self.text(key, limit, required=required)
        return person_name(value)

    def organisation(self, key: str, limit: int, *, required: str | None = None) -> str | None:
        """A firm's or an institution's name, without a list's number in front (`1.`)."""
        value, renumbered = values.organisation_name(self.get(key))
        if renumbered:
            self.ctx.renumbered += 1
            self.values[key] = value
        return self.text(key, limit, required=required)

    def tolerant(self, key: str, read: Any, raw: bool = False) -> Any:
        """`read(cell)`; a BadValue is a warning, its `extra` goes to the notes."""
        value = self.raw(key) if raw else self.get(key)
        if value is None:
            return None
        try:
            return read(value)
        except values.BadValue as exc:
            message = exc.message
            if exc.extra:  # the cell's own words are kept where this kind of record keeps them
                message = message.replace("放入备注", f"放入{self.ctx.extras_to}")
            self.warn(key, message)
            if exc.extra:
                self.extras.append(f"{self.ctx.headers.get(key, key)}：{exc.extra}")
            return None

    def choice(self, key: str, enum_cls: type[Choice], synonyms: dict[str, Choice]) -> Any:
        value = self.get(key)
        if value is None:
            return None
        by_label = {m.label: m for m in enum_cls} | {m.value: m for m in enum_cls} | synonyms
        found = by_label.get(half_width(value).strip())
        if found is None:  # 小试阶段 → 小试, 技术转让 → 转让
            found = next(
                (m for label, m in by_label.items() if len(label) >= 2 and label in value), None
            )
        if found is None:
            allowed = " / ".join(m.label for m in enum_cls)
            kept = self.ctx.extras_to
            self.warn(key, f"“{value}”不是可选值（{allowed}），未填入，原文已放入{kept}。")
            self.extras.append(f"{self.ctx.headers.get(key, key)}：{value}")
        return found

    def money_wan(self, key: str) -> Decimal | None:
        """A figure in 万元 (or in the unit its header names: 亿元, 元), as yuan."""
        unit = self.ctx.units.get(key, Decimal(1))

        def read(cell: str) -> Decimal | None:
            amount = values.number(cell)
            return values.wan_to_yuan(None if amount is None else amount * unit)

        return self.tolerant(key, read)

    def phones(self, key: str) -> str | None:
        found = self.tolerant(key, values.phones)
        if found is None:
            return None
        if found.extra:
            self.extras.append(found.extra)
        return found.phone

    def uscc(self, key: str = "uscc") -> str | None:
        return self.tolerant(key, values.uscc)

    def notes_with_extras(self, notes: str | None) -> str | None:
        """The notes cell with what had no field of its own appended (once)."""
        parts = [notes] if notes else []
        parts += [e for e in self.extras if not notes or e not in notes]
        return "；".join(parts) or None


def with_extras(stored: str | None, extras: list[str]) -> str | None:
    """Stored notes with the extras not in them yet (re-importing adds nothing twice)."""
    new = [e for e in dict.fromkeys(extras) if not stored or e not in stored]
    if not new:
        return stored
    return "；".join(([stored] if stored else []) + new)
