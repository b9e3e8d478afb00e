"""Enterprises: matched on USCC, then name; their industries, contacts, yearly figures (营业收入,
研发投入, 规上 by year) and a 高新 recognition when the file gives its year."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import bulk, policy
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_industry,
)
from crm.extensions import db
from crm.imports import labels, values
from crm.imports.importers.base import Importer, flag_similar
from crm.imports.importers.rows import Row, RowError, with_extras
from crm.sheets import SHEETS
from crm.text.normal import core_name, normalise

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
