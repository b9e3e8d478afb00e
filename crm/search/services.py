"""One search box: ranked hits across the searchable kinds, with what matched.

A query is analysed like the records were (normalise, jieba tokens), plus its whole normalised
form (so an alias or a full name matches as one term) and, for latin input, pinyin: in full,
as initials, or mixed (jinchengld → jcld, checked against the name's syllables). Scores add
each matched term's field weight times a rarity factor, all in one SQL aggregate.

Names are also found as officers type them: part of a name, from its start or from inside it,
in characters (锦程, 领带服饰), full pinyin (jincheng, lingdai), initials (jcld) or mixed
(锦cld). The index holds each name's keys from every character on (`crm.text.terms`), so these
are prefix ranges on the postings index, checked afterwards against the name's syllables; a key
from a name's start weighs more than one from inside it. When all that finds little, names and
aliases of enterprises and institutions are compared fuzzily (rapidfuzz) to catch near-misses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from rapidfuzz import fuzz, process
from sqlalchemy.orm import selectinload

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, InstitutionAlias, Researcher
from crm.needs.models import Need
from crm.search.index import KINDS
from crm.text.analyzer import get_analyzer
from crm.text.models import SearchTerm
from crm.text.normal import core_name, normalise
from crm.text.pinyin import (
    HAN_CHARS,
    initials_of_mixed,
    name_pieces,
    pinyin_initials_of_query,
    spells,
)
from crm.text.terms import INSIDE, MAX_TERM, NAME, PINYIN

_LATIN = re.compile(r"^[a-z][a-z ]*$")
_CJK_ONLY = re.compile(f"^[{HAN_CHARS}]+$")
_MIXED = re.compile(f"^[{HAN_CHARS}a-z]+$")
FUZZY_CUTOFF = 70
POSTINGS_CAP = 500
DF_CAP = 5000
NAME_KEYS = PINYIN  # py:, pyi:, nx:, in:
NAMED = [k.name for k in KINDS.values() if k.named]  # the kinds with name keys
NAMED_CAP = 2000  # a list filter's name lookup, per key


def _load_options(kind: str) -> tuple[Any, ...]:
    """What each kind's subtitle and snippet read, loaded with the records (no query per hit)."""
    return {
        "enterprise": (
            selectinload(Enterprise.town),
            selectinload(Enterprise.industries),
            selectinload(Enterprise.aliases),
        ),
        "institution": (selectinload(Institution.aliases),),
        "researcher": (selectinload(Researcher.institution),),
        "need": (selectinload(Need.enterprise),),
        "achievement": (selectinload(Achievement.institution),),
    }.get(kind, ())


@dataclass
class Hit:
    kind: str
    id: int
    title: str
    score: float
    terms: list[str] = field(default_factory=list)
    subtitle: str = ""
    snippet: str = ""
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 3),
            "terms": self.terms,
            "subtitle": self.subtitle,
        }


@dataclass
class Query:
    text: str
    normal: str
    tokens: list[str]
    pinyin: set[str]
    prefixes: list[str] = field(default_factory=list)  # name keys that start with these

    @classmethod
    def parse(cls, text: str) -> Query:
        normal = normalise(text)[:200]
        tokens = list(dict.fromkeys(get_analyzer().tokens(normal)))
        pinyin: set[str] = set()
        prefixes: list[str] = []
        compact = normal.replace(" ", "")[:40]
        if _LATIN.match(normal) and len(compact) >= 2:
            variants = {i for i in pinyin_initials_of_query(compact) if len(i) >= 2}
            pinyin = {"py:" + compact, "pyi:" + compact} | {"pyi:" + i for i in variants}
            # a range for the reading with the most whole syllables (chengl → cl, not c·h·e·g·l)
            # and for the letters as typed: each other reading only narrows one of these
            fewest = min(map(len, variants), default=0)
            prefixes = ["py:" + compact, "pyi:" + compact]
            prefixes += ["pyi:" + i for i in variants if len(i) == fewest]
        elif _CJK_ONLY.match(compact):  # 锦程, 领带服饰: part of a name as written
            prefixes = ["nx:" + compact]
        elif _MIXED.match(compact):  # 锦cld: characters and pinyin in one word
            prefixes = ["pyi:" + i for i in initials_of_mixed(compact) if len(i) >= 2]
        prefixes = sorted({p[:MAX_TERM] for p in prefixes})
        # a prefix another one starts adds nothing to that one's range: pyi:wz covers pyi:wzhi
        prefixes = [p for p in prefixes if not any(p != o and p.startswith(o) for o in prefixes)]
        return cls(text, normal, tokens, pinyin, prefixes)

    @property
    def spelled(self) -> str:
        """What a name's pieces must spell for a hit found by its name keys alone."""
        return self.normal.replace(" ", "")

    @property
    def terms(self) -> set[str]:
        return {t[:64] for t in {self.normal, *self.tokens, *self.pinyin} if t}


def _rarity(terms: set[str]) -> dict[str, float]:
    """Rare terms count more: 1 / log2(2 + records with the term), counted up to DF_CAP."""
    t = SearchTerm.__table__
    counts = [
        sa.select(sa.literal(term).label("term"), sa.func.count().label("df")).select_from(
            sa.select(t.c.record_id).where(t.c.term == term).limit(DF_CAP).subquery()
        )
        for term in sorted(terms)
    ]
    if not counts:
        return {}
    rows = db.session.execute(sa.union_all(*counts))
    return {term: 1.0 / math.log2(2 + df) for term, df in rows if df}


def _ranked(query: Query, limit: int) -> list[tuple[str, int, float, list[str]]]:
    """Score records by their matching terms; the work is bounded by POSTINGS_CAP per term.

    Candidates are each term's heaviest postings (all of them for a rare term); only those are
    scored, with every query term. A term found in half the county adds little to the ranking
    and would otherwise make a query scan tens of thousands of rows.
    """
    rarity = _rarity(query.terms)
    if not rarity:
        return []
    t = SearchTerm.__table__
    postings = [
        sa.select(t.c.kind, t.c.record_id)
        .where(t.c.term == term)
        .order_by(t.c.weight.desc())
        .limit(POSTINGS_CAP)
        .subquery()
        for term in rarity
    ]
    candidates = sa.union(*(sa.select(p.c.kind, p.c.record_id) for p in postings)).subquery()
    factor = sa.case(
        {term: sa.literal(r, sa.Float) for term, r in rarity.items()},
        value=t.c.term,
        else_=sa.literal(0.0, sa.Float),
    )
    score = sa.func.sum(t.c.weight * factor) + sa.func.count() * 0.5
    rows = db.session.execute(
        sa.select(
            t.c.kind,
            t.c.record_id,
            score.label("score"),
            sa.func.group_concat(t.c.term, "\x1f")
            if db.engine.dialect.name == "sqlite"
            else sa.func.string_agg(t.c.term, "\x1f"),
        )
        .join(
            candidates,
            sa.and_(candidates.c.kind == t.c.kind, candidates.c.record_id == t.c.record_id),
        )
        .where(t.c.term.in_(list(rarity)))
        .group_by(t.c.kind, t.c.record_id)
        .order_by(sa.desc("score"), t.c.kind, t.c.record_id)
        .limit(limit * 3)
    ).all()
    return [(k, r, float(s), sorted(terms.split("\x1f"))) for k, r, s, terms in rows]


def named(kind_name: str, text: str) -> list[int]:
    """Ids of records of one kind whose name or alias the text names the way search reads it:
    a part of it in characters, pinyin or initials (at most NAMED_CAP per key). What list
    filters add to their plain `LIKE`, so 锦程, jincheng and jcld filter a list as they search."""
    query = Query.parse(text or "")
    found = {r: t for _k, r, _s, t in _by_prefix(query, [kind_name], NAMED_CAP)}
    if not found:
        return []
    kind = KINDS[kind_name]
    model = kind.model
    typed = [r for r, t in found.items() if _keys_only(t)]
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


def _by_prefix(
    query: Query, kinds: list[str] | None = None, cap: int | None = None
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
            .limit(cap or POSTINGS_CAP)
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


_names_cache: dict[str, Any] = {"stamp": None, "names": []}


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


def _names() -> list[tuple[str, str, int]]:
    """(core name or alias, kind, id) of every enterprise and institution, for fuzzy matching.

    Kept per process until the stamp changes, so a query does not normalise 10,000 names.
    """
    stamp = _names_stamp()
    if _names_cache["stamp"] != stamp:
        _names_cache.update(stamp=stamp, names=_load_names())
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


def _fuzzy(query: Query, limit: int) -> list[tuple[str, int, float, list[str]]]:
    if len(query.normal) < 2 or query.pinyin:
        return []
    names = _names()
    best = process.extract(
        query.normal,
        [n for n, _, _ in names],
        scorer=fuzz.WRatio,
        score_cutoff=FUZZY_CUTOFF,
        limit=limit,
    )
    out: dict[tuple[str, int], tuple[str, int, float, list[str]]] = {}
    for _name, similarity, index in best:
        _, kind, record_id = names[index]
        hit = (kind, record_id, NAME * similarity / 100, [f"≈{names[index][0]}"])
        if (kind, record_id) not in out or out[(kind, record_id)][2] < hit[2]:
            out[(kind, record_id)] = hit
    return list(out.values())


def search(text: str, limit: int = 20) -> list[Hit]:
    """The best records for a query, best first; deleted records are never found."""
    query = Query.parse(text or "")
    if not query.normal:
        return []
    merged = {(k, r): (k, r, s, t) for k, r, s, t in _ranked(query, limit)}
    for kind, record_id, score, terms in _by_prefix(query) + _fuzzy(query, limit):
        if (kind, record_id) in merged:  # a near-miss of the name adds to what matched
            k, r, s, t = merged[(kind, record_id)]
            merged[(kind, record_id)] = (k, r, s + score, t + terms)
        else:
            merged[(kind, record_id)] = (kind, record_id, score, terms)
    best = sorted(merged.values(), key=lambda c: -c[2])
    # hits by name keys alone are checked against the name afterwards: keep spare ones
    hits = _load(query, best[: limit * 3 if query.prefixes else limit])
    hits.sort(key=lambda h: (-h.score, h.kind, h.id))
    return hits[:limit]


def _load(query: Query, candidates: list[tuple[str, int, float, list[str]]]) -> list[Hit]:
    by_kind: dict[str, dict[int, tuple[float, list[str]]]] = {}
    for kind, record_id, score, terms in candidates:
        by_kind.setdefault(kind, {})[record_id] = (score, terms)
    hits: list[Hit] = []
    for kind_name, wanted in by_kind.items():
        kind = KINDS[kind_name]
        model = kind.model
        records = db.session.scalars(
            sa.select(model)
            .where(model.id.in_(list(wanted)), model.deleted_at.is_(None))
            .options(*_load_options(kind_name))
        )
        for record in records:
            score, terms = wanted[record.id]
            title = kind.title(record)
            if _keys_only(terms) and not _spelled(query, kind, record):
                continue  # same initials, but not what was typed
            hits.append(
                Hit(
                    kind=kind_name,
                    id=record.id,
                    title=title,
                    score=score,
                    terms=_shown_terms(query, terms),
                    subtitle=_subtitle(kind_name, record),
                    snippet=_snippet(kind, record, query),
                    label=kind.label,
                )
            )
    return hits


def _keys_only(terms: list[str]) -> bool:
    """Found by pinyin keys alone (a written part of a name, nx:, is what was typed)."""
    return bool(terms) and all(t.removeprefix(INSIDE).startswith(("py:", "pyi:")) for t in terms)


def _spelled(query: Query, kind: Any, record: Any) -> bool:
    """Does the query spell consecutive pieces of the record's name (or one of its aliases)?"""
    return _spells_any(
        query, kind, [kind.title(record)] + [a.alias for a in getattr(record, "aliases", ())]
    )


def _spells_any(query: Query, kind: Any, names: list[str]) -> bool:
    return any(spells(query.spelled, name_pieces(kind.keyed(n))) for n in names)


def _shown_terms(query: Query, terms: list[str]) -> list[str]:
    """What matched, as a person reads it: a part of a name as typed, never a pinyin key."""
    shown = [t for t in terms if not t.startswith(NAME_KEYS)]
    if any(t.removeprefix(INSIDE).startswith("nx:") for t in terms) and query.spelled not in shown:
        shown.append(query.spelled)
    return shown


def _subtitle(kind: str, record: Any) -> str:
    if kind == "enterprise":
        parts = [record.town.name if record.town else ""] + [i.name for i in record.industries]
    elif kind == "researcher":
        parts = [record.institution.name if record.institution else "", record.title or ""]
    elif kind == "need":
        parts = [record.enterprise.name, record.status.label]
    elif kind == "achievement":
        parts = [record.institution.name if record.institution else ""]
    else:
        parts = [record.kind.label, record.region or ""]
    return " · ".join(p for p in parts if p)


def _snippet(kind: Any, record: Any, query: Query, width: int = 60) -> str:
    """The start of the first field (after the title) that contains a query token."""
    texts = [_as_written(t) for t, _w in kind.fields(record) if t][1:]  # not the title again
    for normal, shown in texts:
        for token in sorted(query.tokens, key=len, reverse=True):
            pos = normal.find(token)
            if pos >= 0:
                start = max(0, pos - width // 3)
                return ("…" if start else "") + shown[start : start + width]
    return texts[0][1][:width] if texts else ""


def _as_written(text: str) -> tuple[str, str]:
    """(normalised text to find a token in, text to show): the text as written (a USCC in
    upper case, 香港理工大學 as typed) where normalising kept its length, else the normal one."""
    normal = normalise(text)
    return normal, text if len(text) == len(normal) else normal


def highlight(text: str, terms: list[str]) -> Markup:
    """Escape `text` and wrap each occurrence of a term in <mark>."""
    words = sorted({t for t in terms if t and not t.startswith("≈")}, key=len, reverse=True)
    if not text or not words:
        return escape(text or "")
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
