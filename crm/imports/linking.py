"""Resolving a name typed in a spreadsheet to a record: exact, alias, then fuzzy.

`港理工` → 香港理工大学 (an alias or, failing that, the characters in order inside the
name); `嵊州市锦程领带有限公司` → 锦程领带 by its core name. A fuzzy link is reported so a
person can check it; an ambiguous one is never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from crm.enterprises.models import Enterprise, EnterpriseAlias
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind
from crm.text.normal import core_name, institution_key

FUZZY_CUTOFF = 85.0


@dataclass
class Link:
    record_id: int | None
    how: str  # exact / fuzzy / created / ambiguous / none
    matched_name: str | None = None
    candidates: tuple[str, ...] = ()


def in_order(short: str, long: str) -> bool:
    """Every character of `short` appears in `long`, in order (港理工 in 香港理工大学)."""
    it = iter(long)
    return all(ch in it for ch in short)


class NameIndex:
    """Names (and aliases) of one kind of record: exact lookup and a fuzzy fallback."""

    def __init__(self, key: Callable[[str], str]) -> None:
        self.key = key
        self.exact: dict[str, int] = {}
        self.names: dict[int, str] = {}  # display name
        self._choices: list[str] | None = None
        self._owners: list[int] = []

    def add(self, record_id: int, name: str, display: bool = True) -> None:
        k = self.key(name)
        if k:
            self.exact.setdefault(k, record_id)
        if display:
            self.names[record_id] = name
        self._choices = None

    def find(self, text: str) -> Link:
        k = self.key(text)
        if k in self.exact:
            rid = self.exact[k]
            return Link(rid, "exact", self.names.get(rid))
        if self._choices is None:
            self._choices = list(self.exact)
            self._owners = [self.exact[c] for c in self._choices]
        hits = process.extract(
            k, self._choices, scorer=fuzz.WRatio, score_cutoff=FUZZY_CUTOFF, limit=5
        )
        # only an abbreviation (the typed characters, in order, inside a longer name) links on
        # its own: 第77研究院 is not 第7研究院, however alike they score
        good = [
            (self._owners[i], score)
            for choice, score, i in hits
            if len(k) >= 2 and len(k) <= 0.8 * len(choice) and in_order(k, choice)
        ]
        if not good:
            return Link(None, "none")
        best = max(score for _, score in good)
        owners = list(dict.fromkeys(rid for rid, score in good if score >= best - 2))
        if len(owners) > 1:
            return Link(None, "ambiguous", candidates=tuple(self.names[o] for o in owners))
        return Link(owners[0], "fuzzy", self.names.get(owners[0]))

    def prefix(self, text: str) -> Link:
        """The one record whose name (or alias) `text` starts with, the rest naming a part of
        it: 浙江大学 机械工程学院 → 浙江大学 (the longest such name; at least four characters)."""
        k = self.key(text)
        heads = [name for name in self.exact if len(name) >= 4 and k.startswith(name)]
        if not heads or len(k) - len(max(heads, key=len)) < 2:
            return Link(None, "none")
        head = max(heads, key=len)
        rid = self.exact[head]
        return Link(rid, "prefix", self.names.get(rid))

    def near(self, text: str, cutoff: float) -> list[tuple[int, str, float]]:
        """Records whose names come close to `text` without being it — a typo, an
        abbreviation: (id, name, score), best first, for a person to choose among."""
        k = self.key(text)
        if not k:
            return []
        if self._choices is None:
            self._choices = list(self.exact)
            self._owners = [self.exact[c] for c in self._choices]
        found: dict[int, float] = {}
        for _, score, i in process.extract(
            k, self._choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=3
        ):
            found[self._owners[i]] = max(found.get(self._owners[i], 0), score)
        if len(k) >= 4:  # one character off a core name of four (越峰电机 for 越丰电机): 75 points
            for choice, _, i in process.extract(
                k, self._choices, scorer=Levenshtein.distance, score_cutoff=1, limit=3
            ):
                found.setdefault(self._owners[i], fuzz.ratio(k, choice))
        link = self.find(text)
        if link.how == "fuzzy" and link.record_id is not None:
            found.setdefault(link.record_id, FUZZY_CUTOFF)
        for name in link.candidates:
            rid = next((r for r, n in self.names.items() if n == name), None)
            if rid is not None:
                found.setdefault(rid, FUZZY_CUTOFF)
        best = sorted(found.items(), key=lambda item: -item[1])[:3]
        return [(rid, self.names.get(rid, ""), score) for rid, score in best]


def institution_index() -> NameIndex:
    idx = NameIndex(institution_key)
    rows = db.session.execute(
        sa.select(Institution.id, Institution.name).where(Institution.deleted_at.is_(None))
    )
    for rid, name in rows:
        idx.add(rid, name)
    aliases = db.session.execute(
        sa.select(InstitutionAlias.institution_id, InstitutionAlias.alias)
        .join(Institution)
        .where(Institution.deleted_at.is_(None))
    )
    for rid, alias in aliases:
        idx.add(rid, alias, display=False)
    return idx


def create_institution(name: str) -> Institution:
    """An institution named in a sheet that we did not know; its type is left as 其他. One of
    that name in the recycle bin (a reverted import, say) is brought back instead: names are
    unique, and the old record keeps its history."""
    name = name.strip()[:120]
    inst = db.session.scalar(sa.select(Institution).where(Institution.name == name))
    if inst is not None:
        inst.deleted_at = None
    else:
        inst = Institution(name=name, kind=InstitutionKind.OTHER)
        db.session.add(inst)
    db.session.flush()
    return inst


def remember_alias(model: type, owner: str, record_id: int | None, name: str) -> None:
    """Keep a name an officer wrote as an alias of the record it was linked to, so the next
    import finds it at once (and re-importing the same file changes nothing)."""
    name = name.strip()[:120]
    if record_id is None or not name:
        return
    if db.session.scalar(sa.select(model).where(model.alias == name)) is None:  # type: ignore[attr-defined]
        db.session.add(model(alias=name, **{owner: record_id}))
        db.session.flush()


def enterprise_index() -> tuple[NameIndex, dict[str, int]]:
    """Enterprises by core name (嵊州市锦程领带有限公司 → 锦程领带), and by USCC."""
    idx = NameIndex(core_name)
    by_uscc: dict[str, int] = {}
    rows = db.session.execute(
        sa.select(Enterprise.id, Enterprise.name, Enterprise.uscc).where(
            Enterprise.deleted_at.is_(None)
        )
    )
    for rid, name, uscc in rows:
        idx.add(rid, name)
        if uscc:
            by_uscc[uscc] = rid
    aliases = db.session.execute(
        sa.select(EnterpriseAlias.enterprise_id, EnterpriseAlias.alias)
        .join(Enterprise)
        .where(Enterprise.deleted_at.is_(None))
    )
    for rid, alias in aliases:
        idx.add(rid, alias, display=False)
    return idx, by_uscc
