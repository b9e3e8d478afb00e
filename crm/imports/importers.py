"""One importer per kind of sheet: parse a row, find the record it means, create or update.

A row is matched on its natural key (USCC, then name for enterprises; name + institution for
researchers; enterprise + title for needs; title + institution for achievements; organisation +
name for contacts), so importing the same file twice changes nothing. Blank cells never erase
what is stored. New records go through `bulk.Creator`; changes to existing ones through the ORM,
so the audit and search hooks see them like any edit.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.db import Choice
from crm.dedup import services as dedup
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseAlias,
    Industry,
    Town,
    enterprise_industry,
)
from crm.enterprises.services import EMAIL, PHONE, WAN, clean_uscc
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports import bulk, linking
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
from crm.matching.text import normalise
from crm.needs.models import Need

_YES = {"是", "y", "yes", "true", "1", "√", "规上"}
_NO = {"否", "n", "no", "false", "0", "×", ""}


class RowError(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass
class Issue:
    row: int | None
    column: str | None  # the header as the template names it
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
class Context:
    user: User
    analysts: bulk.Analysts
    dedup_threshold: float = 85.0
    issues: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def note(self, row: int | None, column: str | None, message: str, level: str) -> None:
        self.issues.append(Issue(row, column, message, level))


# ---- cell parsers ------------------------------------------------------------------------------


def text(values: dict[str, str | None], key: str, limit: int | None = None) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if limit is not None and len(value) > limit:
        raise RowError(key, f"内容过长（{len(value)} 字），最多 {limit} 字。")
    return value


def choice(
    values: dict[str, str | None], key: str, enum_cls: type[Choice], synonyms: dict[str, Choice]
) -> Any:
    value = values.get(key)
    if value is None:
        return None
    by_label = {m.label: m for m in enum_cls} | {m.value: m for m in enum_cls} | synonyms
    found = by_label.get(value.strip())
    if found is None:
        allowed = " / ".join(m.label for m in enum_cls)
        raise RowError(key, f"“{value}”不是可选值（{allowed}）。")
    return found


def money_wan(values: dict[str, str | None], key: str) -> Decimal | None:
    value = values.get(key)
    if value is None:
        return None
    try:
        amount = Decimal(value.replace(",", "").replace("万元", "").replace("万", "").strip())
    except InvalidOperation:
        raise RowError(key, f"“{value}”不是金额（以万元为单位的数字）。") from None
    if amount < 0 or not amount.is_finite():
        raise RowError(key, "金额不能为负数。")
    return (amount * WAN).quantize(Decimal("0.01"))


def yes_no(values: dict[str, str | None], key: str) -> bool | None:
    value = values.get(key)
    if value is None:
        return None
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise RowError(key, f"“{value}”请填“是”或“否”。")


def phone(values: dict[str, str | None], key: str) -> str | None:
    value = text(values, key, 32)
    if value and not PHONE.match(value):
        raise RowError(key, f"电话“{value}”只能包含数字、空格、“-”和开头的“+”。")
    return value


# ---- the importers -----------------------------------------------------------------------------


class Importer:
    sheet: Sheet

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seen: dict[Any, int] = {}  # key → first row, to skip repeats within the file

    def prepare(self) -> None:
        """Load what rows are matched against."""

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        """created / updated / unchanged / skipped; raises RowError."""
        raise NotImplementedError

    def finish(self) -> None:
        """Write what is still buffered."""

    def first_time(self, key: Any, row: int) -> bool:
        if key in self.seen:
            self.ctx.note(row, None, f"与第 {self.seen[key]} 行重复，已跳过。", "warning")
            return False
        self.seen[key] = row
        return True

    @staticmethod
    def changes(record: Any, wanted: dict[str, Any]) -> dict[str, Any]:
        """The non-blank values that differ from the stored ones."""
        return {k: v for k, v in wanted.items() if v is not None and getattr(record, k) != v}


class InstitutionLinks:
    """Resolves 所在单位 / 完成单位 cells, creating unknown institutions (reported once)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index = linking.institution_index()

    def resolve(self, row: int, name: str | None, header: str) -> int | None:
        if not name:
            return None
        link = self.index.find(name)
        if link.how == "fuzzy":
            linking.remember_alias(InstitutionAlias, "institution_id", link.record_id, name)
            self.ctx.note(
                row,
                header,
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
        self.ctx.note(row, header, message, "warning" if link.how == "ambiguous" else "note")
        return inst.id


NEW: Any = object()  # an enterprise created from an earlier row of the same file


class EnterpriseImporter(Importer):
    sheet = SHEETS["enterprises"]

    def prepare(self) -> None:
        self.by_uscc: dict[str, Enterprise] = {}
        self.by_name: dict[str, Enterprise] = {}
        for ent in db.session.scalars(sa.select(Enterprise)):
            if ent.uscc:
                self.by_uscc[ent.uscc] = ent
            if ent.deleted_at is None:
                self.by_name.setdefault(normalise(ent.name), ent)
        self.towns: dict[str, int] = {}
        for town in db.session.scalars(sa.select(Town)):
            self.towns[town.name] = town.id
            self.towns.setdefault(re.sub(r"(街道|镇|乡)$", "", town.name), town.id)
        self.industries: dict[str, int] = {}
        for ind in db.session.scalars(sa.select(Industry)):
            self.industries[normalise(ind.name)] = ind.id
            self.industries[normalise(ind.code)] = ind.id
        self.creator = bulk.Creator(Enterprise, self.ctx.analysts)
        self.contacts = bulk.Creator(Contact, self.ctx.analysts)
        self.links: list[dict[str, int]] = []
        self.existing = [(e.name, e.uscc) for e in self.by_name.values()]
        self.created: list[tuple[int, str, str | None]] = []  # row, name, USCC

    def _parse(self, values: dict[str, str | None]) -> dict[str, Any]:
        name = text(values, "name", 120)
        if not name:
            raise RowError("name", "企业名称不能为空。")
        try:
            uscc = clean_uscc(values.get("uscc"))
        except ValidationError as exc:
            raise RowError("uscc", exc.message) from None
        town_id = None
        if town := values.get("town"):
            town_id = self.towns.get(town.strip()) or self.towns.get(
                re.sub(r"(街道|镇|乡)$", "", town.strip())
            )
            if town_id is None:
                raise RowError("town", f"没有名为“{town}”的乡镇街道。")
        industry_ids = []
        for part in parse_aliases(values.get("industries")):
            ind = self.industries.get(normalise(part))
            if ind is None:
                raise RowError("industries", f"没有名为“{part}”的行业。")
            industry_ids.append(ind)
        return {
            "name": name,
            "uscc": uscc,
            "town_id": town_id,
            "industry_ids": industry_ids,
            "main_products": text(values, "main_products"),
            "address": text(values, "address", 200),
            "is_above_scale": yes_no(values, "above_scale"),
            "notes": text(values, "notes"),
            "contact": text(values, "contact", 64),
            "phone": phone(values, "phone"),
        }

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        data = self._parse(values)
        ent = self.by_uscc.get(data["uscc"]) if data["uscc"] else None
        if ent is None:
            ent = self.by_name.get(normalise(data["name"]))
            if ent not in (None, NEW) and ent.uscc and data["uscc"] and ent.uscc != data["uscc"]:
                raise RowError("uscc", f"已有同名企业“{ent.name}”，但信用代码不同，请核对。")
        key = data["uscc"] or normalise(data["name"])
        if not self.first_time(key, row):
            return "skipped"
        if ent is None:
            self.created.append((row, data["name"], data["uscc"]))
            return self._create(data)
        return self._update(row, ent, data)

    def _create(self, data: dict[str, Any]) -> str:
        user = self.ctx.user
        values = {
            k: data[k] for k in ("name", "uscc", "town_id", "main_products", "address", "notes")
        } | {
            "is_above_scale": bool(data["is_above_scale"]),
            "owner_id": user.id,
            "department_id": user.department_id,
        }
        self.by_name.setdefault(normalise(data["name"]), NEW)
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

        self.creator.add(values, then)
        return "created"

    def _update(self, row: int, ent: Enterprise, data: dict[str, Any]) -> str:
        if ent is NEW:  # created from an earlier row of this file under another key
            self.ctx.note(row, None, "与本文件前面的行是同一家企业，已跳过。", "warning")
            return "skipped"
        wanted = {
            k: data[k]
            for k in (
                "name",
                "uscc",
                "town_id",
                "main_products",
                "address",
                "is_above_scale",
                "notes",
            )
        }
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
        add_industries = data["industry_ids"] and not ent.industries
        if not (changed or restore or new_contact or new_phone or add_industries):
            return "unchanged"
        if not policy.can_edit_enterprise(self.ctx.user, ent):
            raise RowError(None, f"您无权修改企业“{ent.name}”（不是您或本科室负责的企业）。")
        for k, v in changed.items():
            setattr(ent, k, v)
        if restore:
            ent.deleted_at = None
        if add_industries:
            ent.industries = list(
                db.session.scalars(sa.select(Industry).where(Industry.id.in_(data["industry_ids"])))
            )
        if new_contact:
            db.session.add(Contact(enterprise=ent, name=data["contact"], phone=data["phone"]))
        if new_phone:
            contact.phone = data["phone"]
        db.session.flush()
        return "updated"

    def finish(self) -> None:
        self.creator.finish()
        bulk.insert_links(enterprise_industry, self.links)
        self.contacts.finish()
        flag_similar(self.ctx, self.created, self.existing, "企业", "企业名称")


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
        flag_similar(self.ctx, self.created, self.existing, "单位", "单位名称")

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        name = text(values, "name", 120)
        if not name:
            raise RowError("name", "单位名称不能为空。")
        kind = choice(values, "kind", InstitutionKind, self.KIND_SYNONYMS)
        aliases = [a[:120] for a in parse_aliases(values.get("aliases")) if a != name]
        wanted = {
            "kind": kind,
            "region": text(values, "region", 60),
            "description": text(values, "description"),
        }
        if not self.first_time(normalise(name), row):
            return "skipped"
        rid = self.index.exact.get(normalise(name))
        for alias in aliases:
            owner = self.index.exact.get(normalise(alias))
            if owner is not None and owner != rid:
                raise RowError(
                    "aliases", f"别名“{alias}”已属于其他单位“{self.index.names.get(owner)}”。"
                )
        if rid is None:
            self.created.append((row, name, None))
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
            key = (normalise(r.name), r.institution_id)
            if key not in self.existing or self.existing[key][-1] is not None:
                self.existing[key] = tuple(r)
        self.creator = bulk.Creator(Researcher, self.ctx.analysts)

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        name = text(values, "name", 64)
        if not name:
            raise RowError("name", "姓名不能为空。")
        wanted = {
            "title": text(values, "title", 64),
            "research_directions": text(values, "research_directions"),
            "bio": text(values, "bio"),
            "team": text(values, "team", 120),
        }
        inst_id = self.links.resolve(row, values.get("institution"), "所在单位")
        key = (normalise(name), inst_id)
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
        return "updated"

    def finish(self) -> None:
        self.creator.finish()


class NeedImporter(Importer):
    sheet = SHEETS["needs"]

    def prepare(self) -> None:
        self.names, self.by_uscc = linking.enterprise_index()
        self.existing: dict[tuple[int, str], int] = {}
        for rid, ent_id, title in db.session.execute(
            sa.select(Need.id, Need.enterprise_id, Need.title).where(Need.deleted_at.is_(None))
        ):
            self.existing[(ent_id, normalise(title))] = rid
        self.creator = bulk.Creator(Need, self.ctx.analysts)
        self.allowed: dict[int, bool] = {}

    def _enterprise(self, row: int, values: dict[str, str | None]) -> int:
        name = values.get("enterprise") or ""
        try:
            uscc = clean_uscc(values.get("uscc"))
        except ValidationError as exc:
            raise RowError("uscc", exc.message) from None
        if uscc and uscc in self.by_uscc:
            return self.by_uscc[uscc]
        link = self.names.find(name)
        if link.how == "fuzzy":
            linking.remember_alias(EnterpriseAlias, "enterprise_id", link.record_id, name)
            self.names.exact[self.names.key(name)] = link.record_id
            self.ctx.note(
                row,
                "企业名称",
                f"“{name}”对应到已有企业“{link.matched_name}”，已记为它的别名，请核对。",
                "note",
            )
        if link.record_id is not None:
            return link.record_id
        if link.how == "ambiguous":
            raise RowError(
                "enterprise",
                f"“{name}”与多家企业相近（{'、'.join(link.candidates)}），请写全称或填信用代码。",
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
        self.ctx.note(row, "企业名称", f"新建企业“{ent.name}”。", "note")
        return ent.id

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        if not values.get("enterprise"):
            raise RowError("enterprise", "企业名称不能为空。")
        title = text(values, "title", 200)
        if not title:
            raise RowError("title", "需求名称不能为空。")
        description, budget = text(values, "description"), money_wan(values, "budget")
        ent_id = self._enterprise(row, values)
        if ent_id not in self.allowed:
            ent = db.session.get(Enterprise, ent_id)
            self.allowed[ent_id] = policy.can_edit_enterprise(self.ctx.user, ent)
        if not self.allowed[ent_id]:
            raise RowError(None, "您只能为本人或本科室负责的企业登记需求。")
        key = (ent_id, normalise(title))
        if not self.first_time(key, row):
            return "skipped"
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
        return "updated"

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
            self.people.setdefault((normalise(name), inst), rid)
        self.existing: dict[tuple[str, int | None], int] = {}
        for rid, title, inst in db.session.execute(
            sa.select(Achievement.id, Achievement.title, Achievement.institution_id).where(
                Achievement.deleted_at.is_(None)
            )
        ):
            self.existing[(normalise(title), inst)] = rid
        self.creator = bulk.Creator(Achievement, self.ctx.analysts)

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        title = text(values, "title", 200)
        if not title:
            raise RowError("title", "成果名称不能为空。")
        wanted = {
            "description": text(values, "description"),
            "maturity": choice(values, "maturity", Maturity, {}),
            "transfer_mode": choice(values, "transfer_mode", TransferMode, {}),
        }
        inst_id = self.links.resolve(row, values.get("institution"), "完成单位")
        if person := values.get("researcher"):
            wanted["researcher_id"] = self.people.get((normalise(person), inst_id))
            if wanted["researcher_id"] is None:
                self.ctx.note(
                    row, "完成人", f"在该单位的专家中没有找到“{person}”，未关联完成人。", "warning"
                )
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
        return "updated"

    def finish(self) -> None:
        self.creator.finish()


class ContactImporter(Importer):
    sheet = SHEETS["contacts"]

    def prepare(self) -> None:
        self.enterprises, self.by_uscc = linking.enterprise_index()
        self.institutions = linking.institution_index()

    def handle(self, row: int, values: dict[str, str | None]) -> str:
        org, name = values.get("organisation") or "", text(values, "name", 64)
        if not name:
            raise RowError("name", "姓名不能为空。")
        if not org:
            raise RowError("organisation", "所在单位不能为空。")
        email = text(values, "email", 120)
        if email and not EMAIL.match(email):
            raise RowError("email", f"电子邮箱“{email}”格式不正确。")
        wanted = {
            "position": text(values, "position", 64),
            "phone": phone(values, "phone"),
            "email": email,
        }
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
        if contact is None:
            db.session.add(Contact(name=name, **{f"{target[0]}_id": target[1]}, **wanted))
            db.session.flush()
            return "created"
        changed = self.changes(contact, wanted)
        if not changed:
            return "unchanged"
        for k, v in changed.items():
            setattr(contact, k, v)
        db.session.flush()
        return "updated"

    def _organisation(self, row: int, org: str) -> tuple[str, int]:
        for kind, index in (("enterprise", self.enterprises), ("institution", self.institutions)):
            if index.key(org) in index.exact:
                return kind, index.exact[index.key(org)]
        for kind, index in (("enterprise", self.enterprises), ("institution", self.institutions)):
            link = index.find(org)
            if link.how == "fuzzy" and link.record_id is not None:
                self.ctx.note(
                    row, "所在单位", f"“{org}”对应到“{link.matched_name}”，请核对。", "note"
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
