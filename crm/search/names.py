"""Names as officers type them, and near-misses of a name.

Part of a name, from its start or from inside it, in characters (锦程, 领带服饰), full pinyin
(jincheng, lingdai), initials (jcld) or mixed (锦cld). The index holds each name's keys from
every character on (`crm.text.terms`), so these are prefix ranges on the postings index,
checked afterwards against the name's syllables; a key from a name's start weighs more than one
from inside it. List filters add `named` to their plain `LIKE`; the search box
(`crm.search.services`) merges `by_prefix` with its ranked terms and, to catch near-misses,
`fuzzy`: the names and aliases of enterprises and institutions compared with rapidfuzz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias
from crm.search.index import KINDS
from crm.search.query import Query
from crm.text.models import SearchTerm
from crm.text.normal import core_name, normalise
from crm.text.pinyin import name_pieces, spells
from crm.text.terms import INSIDE, NAME

FUZZY_CUTOFF = 70
NAMED = [k.name for k in KINDS.values() if k.named]  # the kinds with name keys
NAMED_CAP = 2000  # a list filter's name lookup, per key


def named(kind_name: str, text: str) -> list[int]:
    """Ids of records of one kind whose name or alias the text names the way search reads it:
    a part of it in characters, pinyin or initials (at most NAMED_CAP per key). What list
    filters add to their plain `LIKE`, so 锦程, jincheng and jcld filter a list as they search."""
    query = Query.parse(text or "")
    found = {r: t for _k, r, _s, t in by_prefix(query, NAMED_CAP, [kind_name])}
    if not found:
        return []
    kind = KINDS[kind_name]
    model = kind.model
    typed = [r for r, t in found.items() if keys_only(t)]
    names = {
        i: [n]
        for i, n in db.session.execute(sa.select(model.id, model.name).where(model.id.in_(typed)))
    }
    if hasattr(model, "aliases"):  # an alias found by its pinyin is checked against itself
        relation = model.aliases.property
        owner = next(iter(relation.remote_side))
        for i, alias in db.session.execute(
            sa.select(owner, relation.mapper.class_.alias).where(owner.in_(typed))
        ):
            names[i].append(alias)
    wrong = {i for i, spelled in names.items() if not _spells_any(query, kind, spelled)}
    return sorted(set(found) - wrong)


def by_prefix(
    query: Query, cap: int, kinds: list[str] | None = None
) -> list[tuple[str, int, float, list[str]]]:
    """Records whose name keys start with the query's prefixes, scored by the key's weight (a
    name's start weighs more than its inside) times the prefix's rarity, like a term.

    One statement: a range of the postings index per prefix, per kind, and for a name's start
    and its inside apart, each at most `cap` rows — so 2,000 researchers named 程… do not crowd
    out the firm 程达电机, nor the inside of names the ones they start."""
    t = SearchTerm.__table__
    ranges = [
        (prefix, key, kind)
        for prefix in query.prefixes
        for key in (prefix, INSIDE + prefix)
        for kind in kinds or NAMED
        if not key.startswith(INSIDE) or KINDS[kind].infixes  # people have no inside keys
    ]
    if not ranges:
        return []
    parts = []
    for number, (_prefix, key, kind) in enumerate(ranges):
        part = (
            sa.select(sa.literal(number).label("part"), t.c.record_id, t.c.weight)
            # `kind || ''`, not `kind`: the range is read on the postings index (term first,
            # kind in it); SQLite would take the (kind, record_id, term) one for `kind =`
            # and read every term of the kind
            .where(t.c.term >= key, t.c.term < _after(key), t.c.kind.concat("") == kind)
            .limit(cap)
        )
        parts.append(sa.select(part.subquery()))
    found_in: dict[str, list[tuple[str, int, float]]] = {}
    for number, record_id, weight in db.session.execute(sa.union_all(*parts)):
        prefix, _key, kind = ranges[number]
        found_in.setdefault(prefix, []).append((kind, record_id, weight))
    found: dict[tuple[str, int], tuple[float, str]] = {}
    for prefix, rows in found_in.items():
        rarity = 1.0 / math.log2(2 + len({(k, r) for k, r, _ in rows}))
        for kind, record_id, weight in rows:
            score = weight * rarity
            if score > found.get((kind, record_id), (0.0, ""))[0]:
                found[(kind, record_id)] = (score, prefix)
    return [(k, r, score, [key]) for (k, r), (score, key) in found.items()]


def _after(prefix: str) -> str:
    """The first string after every string that starts with `prefix` (code point order, which
    is SQLite's and the `C` collation the index uses on PostgreSQL)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def keys_only(terms: list[str]) -> bool:
    """Found by pinyin keys alone (a written part of a name, nx:, is what was typed)."""
    return bool(terms) and all(t.removeprefix(INSIDE).startswith(("py:", "pyi:")) for t in terms)


def spelled(query: Query, kind: Any, record: Any) -> bool:
    """Does the query spell consecutive pieces of the record's name (or one of its aliases)?"""
    return _spells_any(
        query, kind, [kind.title(record)] + [a.alias for a in getattr(record, "aliases", ())]
    )


def _spells_any(query: Query, kind: Any, names: list[str]) -> bool:
    return any(spells(query.spelled, name_pieces(kind.keyed(n))) for n in names)


@dataclass(frozen=True)
class _Names:
    """One snapshot of the names, read together: a request never mixes two loads."""

    rows: list[tuple[str, str, int]]  # (core name or alias, kind, id)
    by_char: dict[str, list[int]]  # character → numbers of the rows whose name holds it

    def sharing(self, text: str) -> list[int]:
        """The rows that share a character with `text`: the only ones a similarity of
        characters can score above nothing (硅藻土 compares with a few dozen, not 10,000)."""
        found: set[int] = set()
        for ch in set(text):
            found.update(self.by_char.get(ch, ()))
        return sorted(found)


_names_cache: dict[str, Any] = {"stamp": None, "names": _Names([], {})}


def _names_stamp() -> tuple[Any, ...]:
    """Changes whenever an enterprise, institution or alias is added, edited or deleted."""
    stamp: tuple[Any, ...] = ()
    for model in (Enterprise, Institution, InstitutionAlias):
        stamp += tuple(
            db.session.execute(
                sa.select(sa.func.count(model.id), sa.func.max(model.updated_at))
            ).one()
        )
    return stamp


def _names() -> _Names:
    """Every enterprise's and institution's name and alias, for fuzzy matching.

    Kept per process until the stamp changes, so a query does not normalise 10,000 names.
    """
    stamp = _names_stamp()
    if _names_cache["stamp"] != stamp:
        rows = _load_names()
        by_char: dict[str, list[int]] = {}
        for number, (name, _, _) in enumerate(rows):
            for ch in set(name):
                by_char.setdefault(ch, []).append(number)
        _names_cache.update(stamp=stamp, names=_Names(rows, by_char))
    return _names_cache["names"]


def _load_names() -> list[tuple[str, str, int]]:
    rows: list[tuple[str, str, int]] = [
        (core_name(n), "enterprise", i)  # 锦程领带, as people say it
        for n, i in db.session.execute(
            sa.select(Enterprise.name, Enterprise.id).where(Enterprise.deleted_at.is_(None))
        )
    ]
    rows += [
        (normalise(n), "institution", i)
        for n, i in db.session.execute(
            sa.select(Institution.name, Institution.id).where(Institution.deleted_at.is_(None))
        )
    ]
    rows += [
        (normalise(a), "institution", i)
        for a, i in db.session.execute(
            sa.select(InstitutionAlias.alias, InstitutionAlias.institution_id)
            .join(Institution)
            .where(Institution.deleted_at.is_(None))
        )
    ]
    return rows


def fuzzy(query: Query, limit: int) -> list[tuple[str, int, float, list[str]]]:
    if len(query.normal) < 2 or query.pinyin:
        return []
    names = _names()
    sharing = names.sharing(query.normal)
    best = process.extract(
        query.normal,
        [names.rows[number][0] for number in sharing],
        scorer=fuzz.WRatio,
        score_cutoff=FUZZY_CUTOFF,
        limit=limit,
    )
    out: dict[tuple[str, int], tuple[str, int, float, list[str]]] = {}
    for _name, similarity, at in best:
        name, kind, record_id = names.rows[sharing[at]]
        hit = (kind, record_id, NAME * similarity / 100, [f"≈{name}"])
        if (kind, record_id) not in out or out[(kind, record_id)][2] < hit[2]:
            out[(kind, record_id)] = hit
    return list(out.values())
