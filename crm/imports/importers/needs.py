"""Needs: matched on enterprise + title; a meeting's list without 需求名称 gets titles from the
description, and the firm's contact comes along."""

from __future__ import annotations

import sqlalchemy as sa

from crm import bulk, policy
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseAlias,
)
from crm.extensions import db
from crm.imports import linking, values
from crm.imports.importers.base import Importer
from crm.imports.importers.rows import Row, RowError, with_extras
from crm.needs.models import Need
from crm.sheets import SHEETS
from crm.text.normal import normalise


class NeedImporter(Importer):
    sheet = SHEETS["needs"]
    extras_to = "需求描述"

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
