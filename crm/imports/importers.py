"""One importer per kind of sheet: parse a row, find the record it means, create or update.

A row is matched on its natural key (USCC, then name for enterprises; name + institution for
researchers; enterprise + title for needs; title + institution for achievements; organisation +
name for contacts), so importing the same file twice changes nothing. Blank cells never erase
what is stored. New records go through `bulk.Creator`; changes to existing ones through the ORM,
so the audit and search hooks see them like any edit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import bulk, policy
from crm.auth.models import User
from crm.db import Choice
from crm.dedup import services as dedup
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseAlias,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_industry,
)
from crm.enterprises.services import EMAIL
from crm.extensions import db
from crm.imports import labels, linking, values
from crm.imports.columns import SHEETS, Sheet
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionAlias,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.institutions.services import parse_aliases
from crm.needs.models import Need
from crm.text.normal import core_name, half_width, institution_key, normalise, person_name
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
    units: dict[str, Decimal] = field(default_factory=dict)  # money key → 万元 per unit
    renumbered: int = 0  # names that had a list number (`1.`, `（一）`) taken off
    year: int | None = None  # the year of figures whose header names none
    above_scale_year: int | None = None  # a 规上 list: its firms are 规上 in this year
    #: an officer's answers to “is this the same firm?”: name → enterprise id, or 0 for new
    decisions: dict[str, int] = field(default_factory=dict)
    #: questions the preview asks: name as written → [(enterprise id, name, score)]
    questions: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)

    def note(self, row: int | None, column: str | None, message: str, level: str) -> None:
        self.issues.append(Issue(row, self.headers.get(column or "", column), message, level))


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
            self.warn(key, exc.message)
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
            self.warn(key, f"“{value}”不是可选值（{allowed}），未填入，原文已放入备注。")
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


# ---- the importers -----------------------------------------------------------------------------


class Importer:
    sheet: Sheet

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seen: dict[Any, int] = {}  # key → first row, to skip repeats within the file

    def prepare(self) -> None:
        """Load what rows are matched against."""

    def handle(self, row: Row) -> str:
        """created / updated / unchanged / skipped; raises RowError."""
        raise NotImplementedError

    def finish(self) -> None:
        """Write what is still buffered."""

    def first_time(self, key: Any, row: Row) -> bool:
        if key in self.seen:
            row.detail = f"与第 {self.seen[key]} 行重复"
            self.ctx.note(row.number, None, f"与第 {self.seen[key]} 行重复，已跳过。", "warning")
            return False
        self.seen[key] = row.number
        return True

    @staticmethod
    def changes(record: Any, wanted: dict[str, Any]) -> dict[str, Any]:
        """The non-blank values that differ from the stored ones."""
        return {k: v for k, v in wanted.items() if v is not None and getattr(record, k) != v}

    def changed(self, row: Row, keys: Any) -> None:
        """Name the changed fields in the row's outcome, as the file's headers name them."""
        row.detail = "、".join(dict.fromkeys(self.ctx.headers.get(k, k) for k in keys))


class InstitutionLinks:
    """Resolves 所在单位 / 完成单位 cells, creating unknown institutions (reported once)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index = linking.institution_index()

    def resolve(self, row: int, name: str | None, key: str) -> int | None:
        if not name:
            return None
        link = self.index.find(name)
        if link.how == "none":  # 浙江大学 机械工程学院: a school of a known university
            link = self.index.prefix(name)
        if link.how in ("fuzzy", "prefix"):
            linking.remember_alias(InstitutionAlias, "institution_id", link.record_id, name)
            self.ctx.note(
                row,
                key,
                f"“{name}”对应到已有单位“{link.matched_name}”，已记为它的别名，请核对。",
                "note",
            )
        if link.record_id is not None:
            self.index.exact[self.index.key(name)] = link.record_id
            return link.record_id
        inst = linking.create_institution(name)
        self.index.add(inst.id, inst.name)
        self.ctx.counts["institutions_created"] += 1
        message = f"新建单位“{inst.name}”（类型暂为“其他”）。"
        if link.how == "ambiguous":
            message += f"它与{'、'.join(link.candidates)}都相近，请在“查重合并”中核对。"
        self.ctx.note(row, key, message, "warning" if link.how == "ambiguous" else "note")
        return inst.id


NEW: Any = object()  # an enterprise created from an earlier row of the same file
YEAR_FIELDS = ("revenue", "rnd_spend", "industrial_output", "hitech_output")


class EnterpriseImporter(Importer):
    sheet = SHEETS["enterprises"]
    # on an update, 规上 goes through the year it belongs to (`_update_years`): an old year's
    # list must not change the current flag
    FIELDS = ("name", "uscc", "town_id", "main_products", "address", "notes")

    def prepare(self) -> None:
        self.by_uscc: dict[str, Enterprise] = {}
        self.by_name: dict[str, Enterprise] = {}
        # what a row is compared with, loaded once for all firms (not a query per row)
        loaded = sa.select(Enterprise).options(
            selectinload(Enterprise.contacts),
            selectinload(Enterprise.industries),
            selectinload(Enterprise.years),
            selectinload(Enterprise.recognitions),
        )
        for ent in db.session.scalars(loaded):
            if ent.uscc:
                self.by_uscc[ent.uscc] = ent
            if ent.deleted_at is None:
                self.by_name.setdefault(core_name(ent.name), ent)
        self.towns = labels.towns()
        self.industries = labels.industries()
        self.creator = bulk.Creator(Enterprise, self.ctx.pool)
        self.contacts = bulk.Creator(Contact, self.ctx.pool)
        self.links: list[dict[str, int]] = []
        self.years: list[tuple[int, dict[int, dict[str, Any]]]] = []  # (enterprise, figures)
        self.existing = [(e.name, e.uscc) for e in self.by_name.values()]
        self.created: list[tuple[int, str, str | None]] = []  # row, name, USCC
        self.unrecorded_hitech: list[str] = []

    def _figures(self, row: Row) -> dict[int, dict[str, Any]]:
        """Yearly figures by year: {2025: {"revenue": …, "above_scale": True}}."""
        by_year: dict[int, dict[str, Any]] = {}
        for key in row.values:
            base, _, year_text = key.partition("@")
            if base not in YEAR_FIELDS:
                continue
            amount = row.money_wan(key)
            if amount is not None:
                year = int(year_text) if year_text else self.ctx.year
                if year is not None:
                    by_year.setdefault(year, {})[base] = amount
        return by_year

    def _parse(self, row: Row) -> dict[str, Any]:
        name = row.organisation("name", 120, required="企业名称不能为空。")
        uscc = row.uscc()
        town_id, notes_extra = None, []
        if town := row.get("town"):
            found = self.towns.resolve(town)
            town_id = found.target_id
            if found.keep_as_note or town_id is None:
                notes_extra.append(f"所属乡镇：{town}")
        industry_ids = []
        for part in labels.split_labels(row.get("industries")):
            found = self.industries.resolve_all(part)
            industry_ids += [f.target_id for f in found if f.target_id is not None]
            if any(f.target_id is None for f in found):
                notes_extra.append(f"行业：{part}")
        above = row.tolerant("above_scale", values.yes_no, raw=True)
        figures = self._figures(row)
        year = self.ctx.above_scale_year
        if above is None and year is not None:
            above = True
        if above is not None:
            target = year or self.ctx.year
            if target is not None:
                figures.setdefault(target, {})["above_scale"] = above
        hitech = row.raw("hitech")
        contact, phone = row.name("contact", 64), row.phones("phone")
        if phone and not contact:  # no one to hang it on: the firm's notes keep it
            row.extras.append(f"{self.ctx.headers.get('phone', '联系电话')}：{phone}")
        row.extras = notes_extra + row.extras
        row.check()
        row.label = name or ""
        return {
            "name": name,
            "uscc": uscc,
            "town_id": town_id,
            "industry_ids": list(dict.fromkeys(industry_ids)),
            "main_products": row.text("main_products", 2000),
            "address": row.text("address", 200),
            "is_above_scale": above,
            "notes": row.text("notes", 5000),
            "contact": contact,
            "phone": phone if contact else None,
            "figures": figures,
            "hitech": hitech,
        }

    def handle(self, row: Row) -> str:
        data = self._parse(row)
        ent = self.by_uscc.get(data["uscc"]) if data["uscc"] else None
        data["by_name"] = ent is None
        if ent is None:
            ent = self.by_name.get(core_name(data["name"]))
            if ent not in (None, NEW) and ent.uscc and data["uscc"] and ent.uscc != data["uscc"]:
                raise RowError("uscc", f"已有同名企业“{ent.name}”，但信用代码不同，请核对。")
            if ent not in (None, NEW) and normalise(ent.name) != normalise(data["name"]):
                self.ctx.note(
                    row.number,
                    "name",
                    f"“{data['name']}”按名称对应到已有企业“{ent.name}”。",
                    "note",
                )
        key = data["uscc"] or core_name(data["name"])
        if not self.first_time(key, row):
            return "skipped"
        self._hitech(row, ent if ent not in (None, NEW) else None, data)
        if ent is None:
            self.created.append((row.number, data["name"], data["uscc"]))
            return self._create(row, data)
        return self._update(row, ent, data)

    def _hitech(self, row: Row, ent: Enterprise | None, data: dict[str, Any]) -> None:
        """是否高新技术企业: a recognition is recorded only with the date or year the cell
        gives (`是（2023年认定）`); a bare 是 for a firm without one is listed for the officer —
        an invented date would count as a new recognition in the bureau's targets."""
        cell = data["hitech"]
        data["recognition"] = None
        dated = values.date_in(cell) or values.year_in(cell)  # `2022-12-24`, `2023`: a yes
        if cell and values.is_blank(cell) and not dated:
            return
        try:
            said = values.yes_no(cell) if cell else None
        except values.BadValue:
            said = None
            if not dated:
                row.warn("hitech", f"“{cell}”请填“是”或“否”（可带认定年份），未处理。")
        if not cell or said is False or (said is not True and not dated):
            return
        has = ent is not None and any(
            r.kind == RecognitionKind.HITECH_NATIONAL for r in ent.recognitions
        )
        if has:
            return
        granted = values.date_in(cell)
        if granted is None and (year := values.year_in(cell)) is not None:
            granted = date(year, 1, 1)
        if granted is None:
            self.unrecorded_hitech.append(data["name"])
            return
        data["recognition"] = granted

    def _create(self, row: Row, data: dict[str, Any]) -> str:
        user = self.ctx.user
        values_ = {k: data[k] for k in ("name", "uscc", "town_id", "main_products", "address")} | {
            "notes": row.notes_with_extras(data["notes"]),
            "is_above_scale": bool(data["is_above_scale"]),
            "owner_id": user.id,
            "department_id": user.department_id,
        }
        self.by_name.setdefault(core_name(data["name"]), NEW)
        if data["uscc"]:
            self.by_uscc[data["uscc"]] = NEW

        def then(enterprise_id: int) -> None:
            self.links.extend(
                {"enterprise_id": enterprise_id, "industry_id": i} for i in data["industry_ids"]
            )
            if data["contact"]:
                self.contacts.add(
                    {
                        "enterprise_id": enterprise_id,
                        "name": data["contact"],
                        "phone": data["phone"],
                    }
                )
            if data["figures"] or data["recognition"]:
                self.years.append((enterprise_id, data["figures"], data["recognition"]))

        self.creator.add(values_, then)
        return "created"

    def _update(self, row: Row, ent: Enterprise, data: dict[str, Any]) -> str:
        if ent is NEW:  # created from an earlier row of this file under another key
            row.detail = "与本文件前面的行是同一家企业"
            self.ctx.note(row.number, None, "与本文件前面的行是同一家企业，已跳过。", "warning")
            return "skipped"
        wanted = {k: data[k] for k in self.FIELDS}
        if data["by_name"]:  # found by its name as people write it: the stored name stays
            wanted.pop("name")
        base = data["notes"] or ent.notes
        wanted["notes"] = with_extras(base, row.extras) if data["notes"] or row.extras else None
        changed = self.changes(ent, wanted)
        restore = ent.deleted_at is not None
        contact = None
        if data["contact"]:
            contact = next(
                (c for c in ent.contacts if c.name == data["contact"] and c.deleted_at is None),
                None,
            )
        new_contact = data["contact"] and contact is None
        new_phone = contact is not None and data["phone"] and contact.phone != data["phone"]
        have = {i.id for i in ent.industries}
        add_industries = [i for i in data["industry_ids"] if i not in have]
        year_changes = _year_changes(ent, data["figures"])
        if not (
            changed
            or restore
            or new_contact
            or new_phone
            or add_industries
            or year_changes
            or data["recognition"]
        ):
            return "unchanged"
        if not policy.can_edit_enterprise(self.ctx.user, ent):
            raise RowError(None, f"您无权修改企业“{ent.name}”（不是您或本科室负责的企业）。")
        for k, v in changed.items():
            setattr(ent, k, v)
        if restore:
            ent.deleted_at = None
        if add_industries:  # added to the firm's; a file never takes one away
            ent.industries += list(
                db.session.scalars(sa.select(Industry).where(Industry.id.in_(add_industries)))
            )
        if new_contact:
            db.session.add(Contact(enterprise=ent, name=data["contact"], phone=data["phone"]))
        if new_phone:
            contact.phone = data["phone"]
        _update_years(ent, year_changes, data["recognition"])
        db.session.flush()
        keys = [*changed, *(["industries"] if add_industries else [])]
        keys += ["contact"] * bool(new_contact) + ["phone"] * bool(new_phone)
        keys += [f"{k}@{y}" for y, figures in year_changes.items() for k in figures]
        self.changed(
            row, [{"town_id": "town", "is_above_scale": "above_scale"}.get(k, k) for k in keys]
        )
        if restore:
            row.detail = "从回收站恢复" + (f"；{row.detail}" if row.detail else "")
        return "updated"

    def finish(self) -> None:
        self.creator.finish()
        bulk.insert_links(enterprise_industry, self.links)
        self.contacts.finish()
        for enterprise_id, figures, granted in self.years:
            _add_years(enterprise_id, figures, granted)
        db.session.flush()
        flag_similar(self.ctx, self.created, self.existing, "企业", "name")
        for label_index, column in ((self.towns, "town"), (self.industries, "industries")):
            for label, rows in label_index.unknown.most_common():
                self.ctx.note(
                    None,
                    column,
                    f"{label_index.kind.label}“{label}”未识别：{rows} 行（已留空，原文写入备注；"
                    "管理员可在“导入 → 名称对照”中把它对应到已有项）。",
                    "warning",
                )
        if self.unrecorded_hitech:
            names = "、".join(self.unrecorded_hitech[:10])
            more = (
                f"等 {len(self.unrecorded_hitech)} 家" if len(self.unrecorded_hitech) > 10 else ""
            )
            self.ctx.note(
                None,
                "hitech",
                f"{names}{more}写明是高新技术企业，但系统中没有认定记录；表中没有认定日期，"
                "未自动补记（会计入当年新认定数），请在企业页补录认定日期和证书号。",
                "warning",
            )


def _year_changes(ent: Enterprise, figures: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    stored = {y.year: y for y in ent.years}
    out: dict[int, dict[str, Any]] = {}
    for year, wanted in figures.items():
        have = stored.get(year)
        diff = {k: v for k, v in wanted.items() if have is None or getattr(have, k) != v}
        if diff:
            out[year] = diff
    return out


def _add_years(
    enterprise_id: int, figures: dict[int, dict[str, Any]], granted: date | None
) -> None:
    """A new firm's figures and recognition: nothing to look up (its 规上 flag was set when it
    was created, from the same cell)."""
    db.session.add_all(
        EnterpriseYear(enterprise_id=enterprise_id, year=year, **wanted)
        for year, wanted in figures.items()
    )
    if granted is not None:
        db.session.add(_recognition(enterprise_id, granted))


def _update_years(
    ent: Enterprise, figures: dict[int, dict[str, Any]], granted: date | None
) -> None:
    """A known firm's changed figures (its years are loaded already); its 规上 flag follows only
    its newest year, so an old year's list fills that year alone."""
    stored = {y.year: y for y in ent.years}
    for year, wanted in figures.items():
        row = stored.get(year)
        if row is None:
            row = stored[year] = EnterpriseYear(enterprise_id=ent.id, year=year)
            ent.years.append(row)
        for k, v in wanted.items():
            setattr(row, k, v)
    if granted is not None:
        db.session.add(_recognition(ent.id, granted))
    latest = max(figures, default=None)
    if latest is not None and "above_scale" in figures[latest] and latest >= max(stored):
        ent.is_above_scale = figures[latest]["above_scale"]


def _recognition(enterprise_id: int, granted: date) -> Recognition:
    return Recognition(
        enterprise_id=enterprise_id,
        kind=RecognitionKind.HITECH_NATIONAL,
        granted_on=granted,
        note="由导入表中的“是否高新技术企业”补记",
    )


def flag_similar(
    ctx: Context,
    created: list[tuple[int, str, str | None]],
    existing: list[tuple[str, str | None]],
    label: str,
    column: str,
) -> None:
    """New records whose names look like one already known: listed for a person to check
    (merging is a decision, never made here). Two different valid USCCs are two firms."""
    if not created or not existing:
        return
    company = label == "企业"
    new_keys = [dedup.dedup_key(name, company) for _, name, _ in created]
    old_keys = [dedup.dedup_key(name, company) for name, _ in existing]
    for i, j, score in dedup.similar_pairs(new_keys, old_keys, ctx.dedup_threshold):
        row, name, code = created[i]
        other, other_code = existing[j]
        if code and other_code and code != other_code:
            continue
        ctx.note(
            row,
            column,
            f"“{name}”与已有{label}“{other}”很相近（{score:.0f} 分），可能是同一个，"
            "请到“查重合并”核对。",
            "warning",
        )


class InstitutionImporter(Importer):
    sheet = SHEETS["institutions"]
    KIND_SYNONYMS = {
        "高校": InstitutionKind.UNIVERSITY,
        "大学": InstitutionKind.UNIVERSITY,
        "院校": InstitutionKind.UNIVERSITY,
        "中科院": InstitutionKind.CAS_INSTITUTE,
        "院所": InstitutionKind.RESEARCH_INSTITUTE,
        "研究院": InstitutionKind.RESEARCH_INSTITUTE,
        "研究所": InstitutionKind.RESEARCH_INSTITUTE,
    }

    def prepare(self) -> None:
        self.index = linking.institution_index()
        self.existing = [(name, None) for name in self.index.names.values()]
        self.created: list[tuple[int, str, str | None]] = []

    def finish(self) -> None:
        flag_similar(self.ctx, self.created, self.existing, "单位", "name")

    def handle(self, row: Row) -> str:
        name = row.organisation("name", 120, required="单位名称不能为空。")
        kind = row.choice("kind", InstitutionKind, self.KIND_SYNONYMS)
        aliases = [a[:120] for a in parse_aliases(row.get("aliases")) if a != name]
        wanted = {
            "kind": kind,
            "region": row.text("region", 60),
            "description": row.text("description", 5000),
        }
        row.check()
        row.label = name
        if row.extras:
            wanted["description"] = with_extras(wanted["description"], row.extras)
        if not self.first_time(institution_key(name), row):
            return "skipped"
        rid = self.index.exact.get(self.index.key(name))
        for alias in aliases:
            owner = self.index.exact.get(self.index.key(alias))
            if owner is not None and owner != rid:
                row.warn(
                    "aliases",
                    f"别名“{alias}”已属于其他单位“{self.index.names.get(owner)}”，未加入。",
                )
        aliases = [a for a in aliases if self.index.exact.get(self.index.key(a)) in (None, rid)]
        if rid is None:
            self.created.append((row.number, name, None))
            inst = linking.create_institution(name)  # or brought back from the recycle bin
            for key, value in wanted.items():
                if value is not None:
                    setattr(inst, key, value)
            known = {a.alias for a in inst.aliases}
            inst.aliases.extend(InstitutionAlias(alias=a) for a in aliases if a not in known)
            db.session.flush()
            self.index.add(inst.id, name)
            for alias in aliases:
                self.index.add(inst.id, alias, display=False)
            return "created"
        inst = db.session.get(Institution, rid)
        changed = self.changes(inst, wanted)
        known = {normalise(a.alias) for a in inst.aliases} | {normalise(inst.name)}
        extra = [a for a in aliases if normalise(a) not in known]
        if not changed and not extra:
            return "unchanged"
        for k, v in changed.items():
            setattr(inst, k, v)
        inst.aliases.extend(InstitutionAlias(alias=a) for a in extra)
        db.session.flush()
        self.changed(row, [*changed, *(["aliases"] if extra else [])])
        return "updated"


class ResearcherImporter(Importer):
    sheet = SHEETS["researchers"]
    FIELDS = ("title", "research_directions", "bio", "team")

    def prepare(self) -> None:
        self.links = InstitutionLinks(self.ctx)
        self.existing: dict[tuple[str, int | None], tuple[Any, ...]] = {}
        cols = [
            Researcher.id,
            Researcher.name,
            Researcher.institution_id,
            *(getattr(Researcher, f) for f in self.FIELDS),
            Researcher.deleted_at,
        ]
        for r in db.session.execute(sa.select(*cols)):
            key = (_person_key(r.name), r.institution_id)
            if key not in self.existing or self.existing[key][-1] is not None:
                self.existing[key] = tuple(r)
        self.creator = bulk.Creator(Researcher, self.ctx.pool)

    def handle(self, row: Row) -> str:
        name = row.name("name", 64, required="姓名不能为空。")
        wanted = {
            "title": row.text("title", 64),
            "research_directions": row.text("research_directions", 5000),
            "bio": row.text("bio", 5000),
            "team": row.text("team", 120),
        }
        institution, _ = values.organisation_name(row.text("institution", 120))
        row.check()
        row.label = name
        if row.extras:  # a second phone column, an unknown 职称 … stay with the person
            wanted["bio"] = with_extras(wanted["bio"], row.extras)
        inst_id = self.links.resolve(row.number, institution, "institution")
        key = (_person_key(name), inst_id)
        if not self.first_time(key, row):
            return "skipped"
        found = self.existing.get(key)
        if found is None:
            self.creator.add({"name": name, "institution_id": inst_id, **wanted})
            return "created"
        stored = dict(zip(self.FIELDS, found[3:-1], strict=True))
        changed = {k: v for k, v in wanted.items() if v is not None and stored[k] != v}
        if not changed and found[-1] is None:
            return "unchanged"
        person = db.session.get(Researcher, found[0])
        for k, v in changed.items():
            setattr(person, k, v)
        person.deleted_at = None
        db.session.flush()
        self.changed(row, changed)
        return "updated"

    def finish(self) -> None:
        self.creator.finish()


def _person_key(name: str) -> str:
    """A person's name compared: 李  梅 (stored padded before imports cleaned it) is 李梅."""
    return normalise(person_name(name))


class NeedImporter(Importer):
    sheet = SHEETS["needs"]

    def prepare(self) -> None:
        self.names, self.by_uscc = linking.enterprise_index()
        self.existing: dict[tuple[int, str], int] = {}
        for rid, ent_id, title in db.session.execute(
            sa.select(Need.id, Need.enterprise_id, Need.title).where(Need.deleted_at.is_(None))
        ):
            self.existing[(ent_id, normalise(title))] = rid
        self.creator = bulk.Creator(Need, self.ctx.pool)
        self.allowed: dict[int, bool] = {}
        self.contacts: dict[tuple[int, str], Contact | None] = {}
        self.aliases: list[tuple[int, str]] = []  # (enterprise, name) the officer confirmed

    def _enterprise(self, row: Row, name: str, uscc: str | None) -> int:
        self.aliases.clear()
        if uscc and uscc in self.by_uscc:
            return self.by_uscc[uscc]
        decided = self.ctx.decisions.pop(name, None)
        if decided and decided in self.names.names:  # the officer said which firm it is
            self.names.exact[self.names.key(name)] = decided
            self.aliases.append((decided, name))  # remembered once the row is allowed
            self.ctx.note(
                row.number,
                "enterprise",
                f"按您的选择，“{name}”对应到“{self.names.names[decided]}”，已记为它的别名。",
                "note",
            )
            return decided
        link = self.names.find(name)
        if decided == 0 and link.how != "exact":  # the officer said: a new firm
            link = linking.Link(None, "none")
        if link.how == "exact":
            if link.matched_name and normalise(link.matched_name) != normalise(name):
                self.ctx.note(
                    row.number,
                    "enterprise",
                    f"“{name}”按名称对应到已有企业“{link.matched_name}”。",
                    "note",
                )
            return link.record_id
        if decided is None and (near := self.names.near(name, self.ctx.dedup_threshold)):
            self.ctx.questions.setdefault(name, near)
            options = "、".join(f"“{n}”（{score:.0f} 分）" for _, n, score in near)
            raise RowError(
                "enterprise",
                f"“{name}”与已有企业{options}相近，不确定是不是同一家："
                "请在预览页选择对应的企业或“新建”，或在文件中写全称、填信用代码。",
            )
        user = self.ctx.user
        ent = Enterprise(
            name=name[:120], uscc=uscc, owner_id=user.id, department_id=user.department_id
        )
        db.session.add(ent)
        db.session.flush()
        self.names.add(ent.id, ent.name)
        if uscc:
            self.by_uscc[uscc] = ent.id
        self.ctx.counts["enterprises_created"] += 1
        self.ctx.note(row.number, "enterprise", f"新建企业“{ent.name}”。", "note")
        return ent.id

    def handle(self, row: Row) -> str:
        name = row.organisation("enterprise", 120, required="企业名称不能为空。")
        description = row.text("description", 5000)
        title = row.text("title", 200)
        if title is None and description:
            title = values.derive_title(description)
            self.ctx.note(row.number, "title", f"没有需求名称，取描述的第一句：“{title}”。", "note")
        if title is None:
            row.fail("title", "需求名称和需求描述都是空的。")
        budget = row.money_wan("budget")
        uscc = row.uscc()
        contact = row.name("contact", 64)
        phone = row.phones("phone")
        row.check()
        row.label = f"{name}：{title}"
        if row.extras:  # a vague budget stays with the need, in its own words
            description = with_extras(description, row.extras)
        ent_id = self._enterprise(row, name, uscc)
        if ent_id not in self.allowed:
            ent = db.session.get(Enterprise, ent_id)
            self.allowed[ent_id] = policy.can_edit_enterprise(self.ctx.user, ent)
        if not self.allowed[ent_id]:
            raise RowError(None, "您只能为本人或本科室负责的企业登记需求。")
        for owner, alias in self.aliases:
            linking.remember_alias(EnterpriseAlias, "enterprise_id", owner, alias)
        self.aliases.clear()
        key = (ent_id, normalise(title))
        if not self.first_time(key, row):
            return "skipped"
        if contact:
            self._contact(ent_id, contact, phone)
        rid = self.existing.get(key)
        if rid is None:
            self.creator.add(
                {
                    "enterprise_id": ent_id,
                    "title": title,
                    "description": description,
                    "budget": budget,
                }
            )
            return "created"
        need = db.session.get(Need, rid)
        changed = self.changes(need, {"description": description, "budget": budget})
        if not changed:
            return "unchanged"
        for k, v in changed.items():
            setattr(need, k, v)
        db.session.flush()
        self.changed(row, changed)
        return "updated"

    def _contact(self, ent_id: int, name: str, phone: str | None) -> None:
        """联系人 on a needs sheet: the firm's contact of that name, created if new."""
        key = (ent_id, normalise(name))
        if key not in self.contacts:
            self.contacts[key] = db.session.scalar(
                sa.select(Contact).where(
                    Contact.enterprise_id == ent_id,
                    Contact.name == name,
                    Contact.deleted_at.is_(None),
                )
            )
        contact = self.contacts[key]
        if contact is None:
            contact = Contact(enterprise_id=ent_id, name=name, phone=phone)
            db.session.add(contact)
            db.session.flush()
            self.contacts[key] = contact
            self.ctx.counts["contacts_created"] += 1
        elif phone and contact.phone != phone:
            contact.phone = phone
            db.session.flush()

    def finish(self) -> None:
        self.creator.finish()


class AchievementImporter(Importer):
    sheet = SHEETS["achievements"]
    FIELDS = ("description", "researcher_id", "maturity", "transfer_mode")

    def prepare(self) -> None:
        self.links = InstitutionLinks(self.ctx)
        self.people: dict[tuple[str, int | None], int] = {}
        for rid, name, inst in db.session.execute(
            sa.select(Researcher.id, Researcher.name, Researcher.institution_id).where(
                Researcher.deleted_at.is_(None)
            )
        ):
            self.people.setdefault((_person_key(name), inst), rid)
        self.existing: dict[tuple[str, int | None], int] = {}
        for rid, title, inst in db.session.execute(
            sa.select(Achievement.id, Achievement.title, Achievement.institution_id).where(
                Achievement.deleted_at.is_(None)
            )
        ):
            self.existing[(normalise(title), inst)] = rid
        self.creator = bulk.Creator(Achievement, self.ctx.pool)

    def handle(self, row: Row) -> str:
        title = row.text("title", 200, required="成果名称不能为空。")
        wanted = {
            "description": row.text("description", 5000),
            "maturity": row.choice("maturity", Maturity, {}),
            "transfer_mode": row.choice("transfer_mode", TransferMode, {}),
        }
        institution, _ = values.organisation_name(row.text("institution", 120))
        person = row.name("researcher", 64)
        row.check()
        row.label = title
        if row.extras:
            wanted["description"] = with_extras(wanted["description"], row.extras)
        inst_id = self.links.resolve(row.number, institution, "institution")
        wanted["researcher_id"] = None  # every new row has the same columns (one insert)
        if person:
            wanted["researcher_id"] = self.people.get((_person_key(person), inst_id))
            if wanted["researcher_id"] is None:
                row.warn("researcher", f"在该单位的专家中没有找到“{person}”，未关联完成人。")
        key = (normalise(title), inst_id)
        if not self.first_time(key, row):
            return "skipped"
        rid = self.existing.get(key)
        if rid is None:
            self.creator.add({"title": title, "institution_id": inst_id, **wanted})
            return "created"
        item = db.session.get(Achievement, rid)
        changed = self.changes(item, wanted)
        if not changed:
            return "unchanged"
        for k, v in changed.items():
            setattr(item, k, v)
        db.session.flush()
        self.changed(row, changed)
        return "updated"

    def finish(self) -> None:
        self.creator.finish()


class ContactImporter(Importer):
    sheet = SHEETS["contacts"]

    def prepare(self) -> None:
        self.enterprises, self.by_uscc = linking.enterprise_index()
        self.institutions = linking.institution_index()

    def handle(self, row: Row) -> str:
        org = row.organisation("organisation", 120, required="所在单位不能为空。")
        name = row.name("name", 64, required="姓名不能为空。")
        email = row.text("email", 120)
        if email and values.is_blank(email):
            email = None
        if email and not EMAIL.match(half_width(email)):
            row.warn("email", f"电子邮箱“{email}”格式不正确，未填入。")
            email = None
        wanted = {
            "position": row.text("position", 64),
            "phone": row.phones("phone"),
            "email": half_width(email) if email else None,
        }
        row.check()
        row.label = f"{org}：{name}"
        target = self._organisation(row, org)
        if not self.first_time((target, normalise(name)), row):
            return "skipped"
        column = Contact.enterprise_id if target[0] == "enterprise" else Contact.institution_id
        contact = db.session.scalar(
            sa.select(Contact).where(
                column == target[1], Contact.name == name, Contact.deleted_at.is_(None)
            )
        )
        if target[0] == "enterprise":
            ent = db.session.get(Enterprise, target[1])
            if not policy.can_edit_enterprise(self.ctx.user, ent):
                raise RowError(None, f"您无权修改企业“{ent.name}”的联系人。")
        notes = with_extras(contact.notes if contact else None, row.extras) if row.extras else None
        if contact is None:
            db.session.add(
                Contact(name=name, notes=notes, **{f"{target[0]}_id": target[1]}, **wanted)
            )
            db.session.flush()
            return "created"
        changed = self.changes(contact, wanted | {"notes": notes})
        if not changed:
            return "unchanged"
        for k, v in changed.items():
            setattr(contact, k, v)
        db.session.flush()
        self.changed(row, changed)
        return "updated"

    def _organisation(self, row: Row, org: str) -> tuple[str, int]:
        for kind, index in (("enterprise", self.enterprises), ("institution", self.institutions)):
            if index.key(org) in index.exact:
                return kind, index.exact[index.key(org)]
        for kind, index in (("enterprise", self.enterprises), ("institution", self.institutions)):
            link = index.find(org)
            if link.how == "fuzzy" and link.record_id is not None:
                self.ctx.note(
                    row.number,
                    "organisation",
                    f"“{org}”对应到“{link.matched_name}”，请核对。",
                    "note",
                )
                return kind, link.record_id
        raise RowError("organisation", f"找不到企业或单位“{org}”，请先导入该企业或单位。")


IMPORTERS: dict[str, type[Importer]] = {
    "enterprises": EnterpriseImporter,
    "institutions": InstitutionImporter,
    "researchers": ResearcherImporter,
    "needs": NeedImporter,
    "achievements": AchievementImporter,
    "contacts": ContactImporter,
}
