"""Towns and industries as officers write them: by name, alias, containment, or not at all.

A label resolves in this order: the admins' alias list (`LabelAlias`: a town or industry, or
"keep in the notes"), the exact name or code, the name without its 镇/乡/街道, then
containment when it names one record only (厨具 → 厨具/集成灶, 领带 → 领带服装, 嵊州市甘霖镇 →
甘霖镇) — but not a label that ends a longer name (新材料 is not 硅藻土新材料: that is one kind
of it). A label nothing explains leaves the field blank and is counted, so the
import reports it once with its number of rows rather than skipping those rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.enterprises.models import Industry, Town
from crm.extensions import db
from crm.imports.models import LabelAlias, LabelKind
from crm.text.normal import normalise

_TOWN_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡)$")
_REGION = re.compile(r"^(浙江省|绍兴市|嵊州市)+")


@dataclass
class Resolved:
    target_id: int | None
    keep_as_note: bool = False  # an alias says: no record, keep the label in the notes


@dataclass
class LabelIndex:
    kind: LabelKind
    exact: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    aliases: dict[str, int | None] = field(default_factory=dict)
    unknown: Counter[str] = field(default_factory=Counter)

    def key(self, label: str) -> str:
        text = _REGION.sub("", normalise(label).replace(" ", ""))
        return _TOWN_SUFFIX.sub("", text) if self.kind == LabelKind.TOWN else text

    def resolve(self, label: str, count: bool = True) -> Resolved:
        raw = normalise(label).replace(" ", "")
        if raw in self.aliases:
            target = self.aliases[raw]
            return Resolved(target, keep_as_note=target is None)
        k = self.key(label)
        if not k:
            return Resolved(None)
        if k in self.exact:
            return Resolved(self.exact[k])
        if len(k) >= 2:
            # 领带 in 领带服装, 甘霖镇 in 嵊州市甘霖镇; not 新材料 in 硅藻土新材料: a name that ends
            # with the label is a narrower kind of it, not what the label means
            hits = {
                rid
                for name, rid in self.exact.items()
                if len(name) >= 2 and ((k in name and not name.endswith(k)) or name in k)
            }
            if len(hits) == 1:
                return Resolved(hits.pop())
        if count:
            self.unknown[label.strip()] += 1
        return Resolved(None)

    def resolve_all(self, label: str) -> list[Resolved]:
        """A label, or when it is unknown as a whole, its parts (`电机/机械`, `厨具 电机`,
        `电机|厨具`: 厨具/集成灶 is one industry, so `/` is tried whole first)."""
        whole = self.resolve(label, count=False)
        if whole.target_id is not None or whole.keep_as_note:
            return [whole]
        parts = [p for p in re.split(r"[/／|｜\s]+", label) if p]
        if len(parts) > 1:
            return [(self.resolve(p), p)[0] for p in parts]
        return [self.resolve(label)]


def towns() -> LabelIndex:
    return _index(LabelKind.TOWN, [(t.id, t.name, ()) for t in db.session.scalars(sa.select(Town))])


def industries() -> LabelIndex:
    """Industries by name, code and each part of a name (厨具/集成灶: 厨具 and 集成灶)."""
    return _index(
        LabelKind.INDUSTRY,
        [
            (i.id, i.name, (i.code, *(p for p in re.split(r"[/／、]", i.name) if len(p) >= 2)))
            for i in db.session.scalars(sa.select(Industry))
        ],
    )


def _index(kind: LabelKind, records: list[tuple[int, str, tuple[str, ...]]]) -> LabelIndex:
    index = LabelIndex(kind)
    for rid, name, others in records:
        index.names[rid] = name
        index.exact.setdefault(index.key(name), rid)
        index.exact.setdefault(normalise(name), rid)
        for other in others:
            index.exact.setdefault(index.key(other), rid)
    _aliases(index)
    return index


def _aliases(index: LabelIndex) -> None:
    for alias in db.session.scalars(sa.select(LabelAlias).where(LabelAlias.kind == index.kind)):
        index.aliases[normalise(alias.label).replace(" ", "")] = alias.target_id


def split_labels(text: str | None) -> list[str]:
    """`领带、服装` / `电机,机械` / `电机；机械` → the labels."""
    if not text:
        return []
    return [p.strip() for p in re.split(r"[、,，;；\n]+", text) if p.strip()]


def alias_targets() -> list[tuple[str, str]]:
    """The choices of the admins' alias page: every town and industry, or the notes."""
    choices = [
        ("note-town", "乡镇：不对应任何乡镇，原文保留在备注"),
        ("note-industry", "行业：不对应任何行业，原文保留在备注"),
    ]
    choices += [
        (f"town-{t.id}", f"乡镇：{t.name}")
        for t in db.session.scalars(sa.select(Town).order_by(Town.code))
    ]
    choices += [
        (f"industry-{i.id}", f"行业：{i.name}")
        for i in db.session.scalars(sa.select(Industry).order_by(Industry.sort_order, Industry.id))
    ]
    return choices


def save_alias(label: str, target: str) -> LabelAlias:
    """Add or change an alias (the caller commits); `target` is one of `alias_targets`."""
    label = " ".join(label.split())[:60]
    name, _, raw = target.partition("-")
    if name == "note":
        kind, target_id = LabelKind(raw), None
    else:
        kind, target_id = LabelKind(name), int(raw)
    alias = db.session.scalar(
        sa.select(LabelAlias).where(LabelAlias.kind == kind, LabelAlias.label == label)
    )
    if alias is None:
        alias = LabelAlias(kind=kind, label=label)
        db.session.add(alias)
    alias.target_id = target_id
    db.session.flush()
    return alias


def aliases() -> list[tuple[LabelAlias, str]]:
    """Every alias with what it means, for the admins' page."""
    towns = dict(db.session.execute(sa.select(Town.id, Town.name)).all())
    inds = dict(db.session.execute(sa.select(Industry.id, Industry.name)).all())
    out = []
    for alias in db.session.scalars(
        sa.select(LabelAlias).order_by(LabelAlias.kind, LabelAlias.label)
    ):
        names = towns if alias.kind == LabelKind.TOWN else inds
        meaning = names.get(alias.target_id, "") if alias.target_id else "原文保留在备注"
        out.append((alias, meaning))
    return out
