"""The shared directory: institutions (by name and alias), researchers (name + institution) and
achievements (title + institution)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm import bulk
from crm.extensions import db
from crm.imports import linking, values
from crm.imports.importers.base import Importer, InstitutionLinks, flag_similar, person_key
from crm.imports.importers.rows import Row, with_extras
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
from crm.sheets import SHEETS
from crm.text.normal import institution_key, normalise


class InstitutionImporter(Importer):
    extras_to = "简介"
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
    extras_to = "个人简介"
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
            key = (person_key(r.name), r.institution_id)
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
        key = (person_key(name), inst_id)
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


class AchievementImporter(Importer):
    extras_to = "成果简介"
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
            self.people.setdefault((person_key(name), inst), rid)
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
            wanted["researcher_id"] = self.people.get((person_key(person), inst_id))
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
