"""Matching a need (or any text) to researchers, achievements and institutions, explained.

A query (`crm.matching.queries`: tokenised like the records were, expanded through the
industry thesaurus) is scored against the in-memory index, and each candidate comes back with
the terms that matched and what each contributed. One service for the web, the CLI and the
batch.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.matching import context, embeddings, hybrid, meaning
from crm.matching import vectors as vectors_
from crm.matching.cache import get_index
from crm.matching.index import ADOPTERS, TARGETS, MatchIndex
from crm.matching.priors import POOL, Adjustment, Priors, industries_of
from crm.matching.queries import (
    MatchedTerm,
    Query,
    build_query,
    matched_terms,
    product_vector,
    weigh_context,
    widen,
)
from crm.needs.models import Need, NeedStatus
from crm.text import embed


@dataclass
class Candidate:
    kind: str
    id: int
    name: str
    institution: str | None
    score: float
    matched: list[MatchedTerm] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)  # the records' prior
    semantic: dict[str, Any] | None = None  # 语义相近: the closest sentence (hybrid.as_dict)
    fused: bool = False  # scored by keywords and meaning (0–1.2) rather than BM25 alone

    def as_dict(self) -> dict[str, Any]:
        """The CLI's JSON contract (`semantic` added by issue 18; null when keyword-only)."""
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "institution": self.institution,
            "score": round(self.score, 4),
            "matched_terms": [m.term for m in self.matched],
            "semantic": self.semantic,
        }


def _names(found: list[tuple[Any, ...]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """Display name and institution of each found record, one query per kind."""
    out: dict[tuple[str, int], tuple[str, str | None]] = {}
    by_kind: dict[str, list[int]] = {}
    for kind, record_id, *_ in found:
        by_kind.setdefault(kind, []).append(record_id)
    if ids := by_kind.get("researcher"):
        rows = db.session.execute(
            sa.select(Researcher.id, Researcher.name, Institution.name)
            .outerjoin(Institution, Researcher.institution_id == Institution.id)
            .where(Researcher.id.in_(ids), Researcher.deleted_at.is_(None))
        )
        out.update({("researcher", i): (n, inst) for i, n, inst in rows})
    if ids := by_kind.get("achievement"):
        rows = db.session.execute(
            sa.select(Achievement.id, Achievement.title, Institution.name)
            .outerjoin(Institution, Achievement.institution_id == Institution.id)
            .where(Achievement.id.in_(ids), Achievement.deleted_at.is_(None))
        )
        out.update({("achievement", i): (n, inst) for i, n, inst in rows})
    if ids := by_kind.get("institution"):
        rows = db.session.execute(
            sa.select(Institution.id, Institution.name).where(
                Institution.id.in_(ids), Institution.deleted_at.is_(None)
            )
        )
        out.update({("institution", i): (n, None) for i, n in rows})
    return out


def saved_index_path() -> Path:
    """Where a process leaves the built index for the next one (per database)."""
    url = str(current_app.config["SQLALCHEMY_DATABASE_URI"])
    folder = Path(current_app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:12]  # a file name
    return folder / f"match-index-{name}.npz"


def saved_vectors_path() -> Path:
    """Where a process leaves the built vector index for the next one (per database)."""
    return vectors_.saved_path(
        Path(current_app.instance_path), str(current_app.config["SQLALCHEMY_DATABASE_URI"])
    )


def current_index(saved: Path | None = None) -> MatchIndex:
    """The matching index, up to date with what is committed."""
    return get_index(db.session.connection(), saved)


Ranked = tuple[str, int, float, dict[str, float], list[Adjustment]]


def rank(
    index: MatchIndex,
    query: Query,
    top: int = 10,
    kinds: tuple[str, ...] = TARGETS,
    adjust: Callable[[tuple[str, int]], list[Adjustment]] | None = None,
) -> list[Ranked]:
    """The best `top` by text score, or — with `adjust` (a need's priors) — the best
    `POOL` × top by text, reordered by text score × prior. The query as `widen` left it."""
    return index.rank(query.weights, kinds, top, adjust, POOL)


def match(
    query: Query,
    top: int = 10,
    kinds: tuple[str, ...] = TARGETS,
    saved: Path | None = None,
    adjust: Callable[[tuple[str, int]], list[Adjustment]] | None = None,
    stored: tuple[str, int] | None = None,
) -> list[Candidate]:
    """The best candidates for a query, best first, with what matched: by keywords and
    meaning fused (`crm.matching.hybrid`), or by keywords alone where there is no engine or
    no vector yet. `stored`: the need whose stored vector may stand for the query's."""
    index = current_index(saved)
    query = widen(query, index)
    vectors, query_vector = semantic_side(query, stored, saved is not None)
    if vectors is None or query_vector is None:
        found = [
            (kind, record_id, score, parts, adjustments, 0.0)
            for kind, record_id, score, parts, adjustments in rank(index, query, top, kinds, adjust)
        ]
    else:
        found = [
            (f.kind, f.id, f.score, f.parts, f.adjustments, f.product_like)
            for f in hybrid.rank(
                index,
                query.weights,
                query.via,
                vectors,
                query_vector,
                kinds,
                top,
                adjust,
                POOL,
                context_vector=product_vector(query.context),
            )
        ]
    names = _names(found)
    closest = (
        meaning.explain(query_vector, [(k, i) for k, i, *_ in found if (k, i) in names])
        if vectors is not None and query_vector is not None
        else {}
    )
    result = []
    for kind, record_id, score, parts, adjustments, product_like in found:
        if (kind, record_id) not in names:  # deleted since the index was built
            continue
        name, institution = names[(kind, record_id)]
        matched = matched_terms(parts, query)
        semantic = hybrid.as_dict(closest.get((kind, record_id)), product_like)
        result.append(
            Candidate(
                kind,
                record_id,
                name,
                institution,
                score,
                matched,
                adjustments,
                semantic,
                vectors is not None and query_vector is not None,
            )
        )
    return result


def semantic_side(
    query: Query, stored: tuple[str, int] | None = None, saved: bool = False
) -> tuple[vectors_.VectorIndex | None, np.ndarray | None]:
    """The vector index and the query's vector, or (None, None) for keyword-only matching:
    no engine on this machine, no record embedded yet, or nothing to embed. `saved`: start
    from (and leave) the index saved next to the database, as a short-lived process does."""
    if not query.text.strip() or not embed.available():
        return None, None
    folder = saved_vectors_path() if saved else None
    index = vectors_.get_vectors(db.session.connection(), saved=folder)
    if not index.size:
        return None, None
    sentences = [("需求", query.text)]
    return index, embeddings.query_vector(query.text, stored, sentences)


def match_text(
    text: str, top: int = 10, kinds: tuple[str, ...] = TARGETS, saved: Path | None = None
) -> list[Candidate]:
    """Quick match: whatever an officer typed during a visit."""
    query = weigh_context(build_query(text), context.county_products())
    return match(query, top, kinds, saved)


def match_need(
    need: Need, top: int = 10, kinds: tuple[str, ...] = TARGETS, saved: Path | None = None
) -> list[Candidate]:
    """A need's candidates: its text (its firm's product words weighed down), then what the
    records say for its industries."""
    industries = industries_of([need.enterprise_id])[need.enterprise_id]
    priors = Priors.load(industries)
    words = context.county_products() | context.of_enterprise(need.enterprise)
    query = weigh_context(build_query(need.title, need.description), words)
    adjust = None if priors.empty else functools.partial(priors.adjust, industries)
    return match(query, top, kinds, saved, adjust, stored=("need", need.id))


def _adopters_by_meaning(
    achievement: Achievement, query: Query, index: MatchIndex, top: int
) -> list[tuple[str, int, float, dict[str, float]]] | None:
    """成果推介 fused like matching, the other way round: the achievement's own vector (the
    mean of its sentences) against needs' and enterprises' query vectors. None: no engine,
    or the achievement or the askers have no vectors yet (keywords alone then)."""
    if not embed.available():
        return None
    connection = db.session.connection()
    askers = vectors_.get_vectors(connection, embeddings.QUERIES)
    own = vectors_.get_vectors(connection)._record(
        vectors_.get_vectors(connection).key("achievement", achievement.id)
    )
    if not askers.size or own is None:
        return None
    fused = hybrid.rank(index, query.weights, query.via, askers, own[0], ADOPTERS, top)
    return [(f.kind, f.id, f.score, f.parts) for f in fused]


@dataclass
class Adopter:
    """An enterprise that may want an achievement (成果推介), and why."""

    enterprise_id: int
    name: str
    score: float
    reason: str  # the need (or the products) that matched
    matched: list[MatchedTerm] = field(default_factory=list)


def adopters(achievement: Achievement, top: int = 8) -> list[Adopter]:
    """Enterprises whose open needs or main products match an achievement, best first: the
    reverse of matching a need, on the same analysis and thesaurus."""
    query = build_query(achievement.title, achievement.description, reverse=True)
    index = get_index(db.session.connection(), targets=ADOPTERS)
    found = index.score(query.weights, top=top * 4)
    meant = _adopters_by_meaning(achievement, query, index, top * 4)
    if meant is not None:
        found = meant
    need_ids = [i for kind, i, _, _ in found if kind == "need"]
    needs = {
        n.id: n
        for n in db.session.scalars(
            sa.select(Need).where(
                Need.id.in_(need_ids),
                Need.deleted_at.is_(None),
                Need.status.in_([NeedStatus.OPEN, NeedStatus.MATCHED]),
            )
        )
    }
    ent_ids = {i for kind, i, _, _ in found if kind == "enterprise"} | {
        n.enterprise_id for n in needs.values()
    }
    enterprises = {
        e.id: e
        for e in db.session.scalars(
            sa.select(Enterprise).where(Enterprise.id.in_(ent_ids), Enterprise.deleted_at.is_(None))
        )
    }
    best: dict[int, Adopter] = {}
    for kind, record_id, score, parts in found:
        if kind == "need":
            need = needs.get(record_id)
            ent = enterprises.get(need.enterprise_id) if need else None
            reason = f"需求：{need.title}" if need else ""
        else:
            ent = enterprises.get(record_id)
            reason = f"主营：{ent.main_products}" if ent and ent.main_products else "企业信息"
        if ent is None or (ent.id in best and best[ent.id].score >= score):
            continue
        best[ent.id] = Adopter(ent.id, ent.name, score, reason, matched_terms(parts, query))
    return sorted(best.values(), key=lambda a: -a.score)[:top]
