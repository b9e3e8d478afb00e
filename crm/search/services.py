"""One search box: ranked hits across the searchable kinds, with what matched.

A query is analysed like the records were (normalise, jieba tokens), plus its whole normalised
form (so an alias or a full name matches as one term) and, for latin input, pinyin: in full,
as initials, or mixed (jinchengld → jcld, checked against the name's syllables). Scores add
each matched term's field weight times a rarity factor, all in one SQL aggregate. When that
finds little, names and aliases of enterprises and institutions are compared fuzzily
(rapidfuzz) to catch near-misses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from rapidfuzz import fuzz, process

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias
from crm.matching.text import (
    core_name,
    get_analyzer,
    normalise,
    pinyin_initials_of_query,
    pinyin_matches,
    pinyin_syllables,
)
from crm.search.index import KINDS, NAME
from crm.search.models import SearchTerm

_LATIN = re.compile(r"^[a-z][a-z ]*$")
FUZZY_CUTOFF = 70


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
    endpoint: str | None = None

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

    @classmethod
    def parse(cls, text: str) -> Query:
        normal = normalise(text)[:200]
        tokens = list(dict.fromkeys(get_analyzer().tokens(normal)))
        pinyin: set[str] = set()
        compact = normal.replace(" ", "")
        if _LATIN.match(normal) and len(compact) >= 2:
            pinyin = {"py:" + compact, "pyi:" + compact}
            pinyin |= {"pyi:" + i for i in pinyin_initials_of_query(compact) if len(i) >= 2}
        return cls(text, normal, tokens, pinyin)

    @property
    def terms(self) -> set[str]:
        return {t[:64] for t in {self.normal, *self.tokens, *self.pinyin} if t}


def _rarity(terms: set[str]) -> dict[str, float]:
    """Rare terms count more: 1 / log2(2 + number of records with the term)."""
    rows = db.session.execute(
        sa.select(SearchTerm.term, sa.func.count())
        .where(SearchTerm.term.in_(terms))
        .group_by(SearchTerm.term)
    )
    return {term: 1.0 / math.log2(2 + df) for term, df in rows}


def _ranked(query: Query, limit: int) -> list[tuple[str, int, float, list[str]]]:
    rarity = _rarity(query.terms)
    if not rarity:
        return []
    factor = sa.case(
        {term: sa.literal(r, sa.Float) for term, r in rarity.items()},
        value=SearchTerm.term,
        else_=sa.literal(0.0, sa.Float),
    )
    score = sa.func.sum(SearchTerm.weight * factor) + sa.func.count() * 0.5
    top = db.session.execute(
        sa.select(SearchTerm.kind, SearchTerm.record_id, score.label("score"))
        .where(SearchTerm.term.in_(list(rarity)))
        .group_by(SearchTerm.kind, SearchTerm.record_id)
        .order_by(sa.desc("score"), SearchTerm.kind, SearchTerm.record_id)
        .limit(limit * 3)
    ).all()
    if not top:
        return []
    keys = [(k, r) for k, r, _ in top]
    matched: dict[tuple[str, int], list[str]] = {}
    for kind, record_id, term in db.session.execute(
        sa.select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.term).where(
            sa.tuple_(SearchTerm.kind, SearchTerm.record_id).in_(keys),
            SearchTerm.term.in_(list(rarity)),
        )
    ):
        matched.setdefault((kind, record_id), []).append(term)
    return [(k, r, float(s), sorted(matched.get((k, r), []))) for k, r, s in top]


def _names() -> list[tuple[str, str, int]]:
    """(core name or alias, kind, id) of every enterprise and institution, for fuzzy matching."""
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
    for kind, record_id, score, terms in _fuzzy(query, limit):
        if (kind, record_id) in merged:  # a near-miss of the name adds to what matched
            k, r, s, t = merged[(kind, record_id)]
            merged[(kind, record_id)] = (k, r, s + score, t + terms)
        else:
            merged[(kind, record_id)] = (kind, record_id, score, terms)
    hits = _load(query, list(merged.values()))
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
            sa.select(model).where(model.id.in_(list(wanted)), model.deleted_at.is_(None))
        )
        for record in records:
            score, terms = wanted[record.id]
            title = kind.title(record)
            if _pinyin_only(terms) and not pinyin_matches(
                query.normal.replace(" ", ""), pinyin_syllables(core_name(title))
            ):
                continue  # same initials, but not what was typed
            hits.append(
                Hit(
                    kind=kind_name,
                    id=record.id,
                    title=title,
                    score=score,
                    terms=[t for t in terms if not t.startswith(("py:", "pyi:"))],
                    subtitle=_subtitle(kind_name, record),
                    snippet=_snippet(kind, record, query),
                    label=kind.label,
                    endpoint=kind.endpoint,
                )
            )
    return hits


def _pinyin_only(terms: list[str]) -> bool:
    return bool(terms) and all(t.startswith("pyi:") for t in terms)


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
    texts = [normalise(t) for t, _w in kind.fields(record) if t]
    for text in texts[1:] or texts:
        for token in sorted(query.tokens, key=len, reverse=True):
            pos = text.find(token)
            if pos >= 0:
                start = max(0, pos - width // 3)
                return ("…" if start else "") + text[start : start + width]
    return texts[1][:width] if len(texts) > 1 else ""


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
