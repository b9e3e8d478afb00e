"""Contact people: matched on organisation (an enterprise or an institution) + name."""

from __future__ import annotations

import sqlalchemy as sa

from crm import policy
from crm.enterprises.models import (
    Contact,
    Enterprise,
)
from crm.enterprises.services import EMAIL
from crm.extensions import db
from crm.imports import linking, values
from crm.imports.importers.base import Importer
from crm.imports.importers.rows import Row, RowError, with_extras
from crm.sheets import SHEETS
from crm.text.normal import half_width, normalise


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
