"""One search box: ranked hits across the searchable kinds, with what matched.

A query is read like the records were (`crm.search.query`): normalised, jieba tokens, its whole
normalised form (so an alias or a full name matches as one term) and, for latin input, pinyin.
Scores add each matched term's field weight times a rarity factor, all in one SQL aggregate.
Names typed in part (锦程, jincheng, jcld, 锦cld) and near-misses of a name are found by
`crm.search.names` and merged in; a hit found by pinyin keys alone must spell what was typed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.needs.models import Need
from crm.search import names
from crm.search.index import KINDS
from crm.search.query import Query
from crm.text.models import SearchTerm
from crm.text.normal import normalise
from crm.text.terms import INSIDE, PINYIN

POSTINGS_CAP = 500
DF_CAP = 5000
NAME_KEYS = PINYIN  # py:, pyi:, nx:, in:


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


def search(text: str, limit: int = 20) -> list[Hit]:
    """The best records for a query, best first; deleted records are never found."""
    query = Query.parse(text or "")
    if not query.normal:
        return []
    merged = {(k, r): (k, r, s, t) for k, r, s, t in _ranked(query, limit)}
    by_name = names.by_prefix(query, POSTINGS_CAP) + names.fuzzy(query, limit)
    for kind, record_id, score, terms in by_name:
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
            if names.keys_only(terms) and not names.spelled(query, kind, record):
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
