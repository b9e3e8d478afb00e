"""Matching every open need at once (the nightly run and `crm match --all`): needs scored in
forked worker processes that share the index, written chunk by chunk by this one."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.audit import services as audit
from crm.auth.models import User
from crm.bulk import Creator
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.matching import context, embeddings, hybrid, meaning, queries, services, vectors
from crm.matching.index import TARGETS, MatchIndex
from crm.matching.models import Suggestion, SuggestionStatus
from crm.matching.priors import POOL, Priors, industries_of
from crm.matching.suggestions import COLUMN, Found, Generated, known_of, plan
from crm.matching.thesaurus import current_analyzer
from crm.matching.vectors import VectorIndex
from crm.needs.models import Need, NeedStatus
from crm.text import embed
from crm.text.analyzer import get_analyzer
from crm.text.normal import normalise
from crm.workers import AnalysisPool, default_workers

logger = logging.getLogger(__name__)

BATCH = 1000  # needs a chunk: one commit each


def generate_all(
    user: User,
    top: int = 10,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Generated:
    """Every open need (the nightly batch and `crm match --all`), in chunks: needs are scored
    against the index in worker processes (forked, so they share the index) while this one
    writes the previous chunk: its existing suggestions in one query, new ones inserted in
    bulk with the same audit entries a save writes, then a commit, so a long run keeps what
    it has done. Safe to run again: it adds only what is new and never touches a decided
    suggestion."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以生成匹配。")
    rejected = {
        need_id: count
        for need_id, count in db.session.execute(
            sa.select(Suggestion.need_id, sa.func.count())
            .where(Suggestion.status == SuggestionStatus.REJECTED)
            .group_by(Suggestion.need_id)
        )
    }
    rows = db.session.execute(
        sa.select(Need.id, Need.title, Need.description, Need.enterprise_id)
        .where(Need.status == NeedStatus.OPEN, Need.deleted_at.is_(None))
        .order_by(Need.id)
    ).all()
    industries = industries_of(row.enterprise_id for row in rows)
    needs = [
        (need_id, title, description, rejected.get(need_id, 0), industries[enterprise_id])
        for need_id, title, description, enterprise_id in rows
    ]
    chunks = [needs[start : start + BATCH] for start in range(0, len(needs), BATCH)]
    total, done = Generated(), 0
    batch = Batch(services.current_index(), Priors.load())
    _meaning_side(batch, rows)
    with audit.acting_as(user.id), _scorers(batch, len(chunks), workers) as run:
        for scored in run(functools.partial(_score, top=top), chunks):
            total += _write_chunk(scored, top)
            db.session.commit()
            done += len(scored)
            if progress is not None:
                progress(done, len(needs))
    logger.info("Batch matching of %d open needs by %s: %s", len(needs), user.username, total)
    return total


Scored = list[tuple[int, list[Found]]]


@dataclass
class Batch:
    """What every scoring worker needs, inherited when it is forked."""

    index: MatchIndex
    priors: Priors
    vectors: VectorIndex | None = None  # None: keyword-only
    query_vectors: dict[int, np.ndarray] = field(default_factory=dict)  # by need
    context: dict[int, frozenset[str]] = field(default_factory=dict)  # product words by need
    word_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # product words


def _meaning_side(batch: Batch, rows: list[Any]) -> None:
    """Everything the workers need for the meaning side, made here: they never call the
    model (OpenMP does not survive a fork), and vectors come from what was stored."""
    county = context.county_products()
    firms = {row.enterprise_id for row in rows}
    own: dict[int, frozenset[str]] = {}
    for start in range(0, len(firms), 1000):
        chunk = list(firms)[start : start + 1000]
        for firm in db.session.scalars(
            sa.select(Enterprise)
            .where(Enterprise.id.in_(chunk))
            .options(selectinload(Enterprise.industries))
        ):
            own[firm.id] = context.of_enterprise(firm)
    batch.context = {row.id: county | own.get(row.enterprise_id, frozenset()) for row in rows}
    if not embed.available():
        return
    index = vectors.get_vectors(db.session.connection(), saved=services.saved_vectors_path())
    if not index.size:
        return
    batch.vectors = index
    batch.query_vectors = embeddings.need_vectors(rows)
    said = set()  # only the product words some need says need a vector (as analysed: normal)
    for row in rows:
        text = normalise(f"{row.title or ''} {row.description or ''}")
        said |= {word for word in batch.context.get(row.id, ()) if word in text}
    words = sorted(said)
    batch.word_vectors = dict(zip(words, embed.embed(words, query=True), strict=True))


_batch: Batch | None = None


def _score(needs: list[tuple[int, str, str | None, int, frozenset[int]]], top: int) -> Scored:
    """Candidates of each need (top, plus as many as it has rejected), explained, with the
    records' prior for its industries. Top-level, so worker processes run it."""
    batch, analyzer = _batch, get_analyzer()  # the parent loaded its thesaurus
    pools: dict[int, list[int]] = {}
    if batch.vectors is not None:
        with_vector = [n[0] for n in needs if n[0] in batch.query_vectors]
        if with_vector:
            found = batch.vectors.pools(np.vstack([batch.query_vectors[i] for i in with_vector]))
            pools = dict(zip(with_vector, found, strict=True))
    out = []
    for need_id, title, description, rejected, industries in needs:
        query = queries.weigh_context(
            queries.build_query(title, description, analyzer=analyzer),
            batch.context.get(need_id, frozenset()),
        )
        query = queries.widen(query, batch.index)
        adjust = None if batch.priors.empty else functools.partial(batch.priors.adjust, industries)
        query_vector = batch.query_vectors.get(need_id)
        if batch.vectors is None or query_vector is None:
            found = [
                ((kind, i), score, queries.explain(parts, query), adjustments, None)
                for kind, i, score, parts, adjustments in services.rank(
                    batch.index, query, top + rejected, adjust=adjust
                )
            ]
        else:
            found = []
            for f in hybrid.rank(
                batch.index,
                query.weights,
                query.via,
                batch.vectors,
                query_vector,
                TARGETS,
                top + rejected,
                adjust,
                POOL,
                nearest=pools.get(need_id),
                context_vector=queries.product_vector(query.context, batch.word_vectors.get),
            ):
                semantic = (f.product_like,)  # the sentence is found where it is read
                found.append(
                    (
                        (f.kind, f.id),
                        f.score,
                        queries.explain(f.parts, query),
                        f.adjustments,
                        semantic,
                    )
                )
        out.append(
            (
                need_id,
                [
                    (key, score, why, [a.as_dict() for a in adjustments], semantic)
                    for key, score, why, adjustments, semantic in found
                ],
            )
        )
    return out


@contextlib.contextmanager
def _scorers(
    batch: Batch, chunks: int, workers: int | None
) -> Iterator[Callable[..., Iterator[Scored]]]:
    """`map` over chunks: in forked workers when there are several chunks and cores, so
    scoring runs beside the writing; in this process otherwise."""
    global _batch
    _batch = batch
    current_analyzer()  # the database's thesaurus, for workers and this process alike
    workers = default_workers() if workers is None else workers
    if chunks < 2 or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield map
        return
    get_analyzer().tokens("预热")  # jieba loaded once, inherited by the workers
    _ = batch.index.by_document  # the explanations' layout: made once, shared by the workers
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool.imap  # in order, a chunk at a time


def _sentences(scored: Scored) -> Scored:
    """Each fused candidate's closest sentence, for the whole chunk at once: texts and their
    vectors read together from the stored rows, compared with each need's vector."""
    rows = meaning.stored_sentences(
        {key for _, found in scored for key, _, _, _, semantic in found if semantic is not None}
    )
    query_vectors = _batch.query_vectors if _batch is not None else {}
    out = []
    for need_id, found in scored:
        query_vector = query_vectors.get(need_id)
        explained = []
        for key, score, why, prior, semantic in found:
            closest = (
                meaning.closest_in(rows.get(key), query_vector)
                if semantic is not None and query_vector is not None
                else None
            )
            product_like = semantic[0] if semantic is not None else 0.0
            explained.append(
                (
                    key,
                    score,
                    why,
                    prior,
                    hybrid.as_dict(closest, product_like),
                    semantic is not None,
                )
            )
        out.append((need_id, explained))
    return out


def _write_chunk(scored: Scored, top: int) -> Generated:
    scored = _sentences(scored)
    known = known_of([need_id for need_id, _ in scored])
    result = Generated()
    creator = Creator(Suggestion, AnalysisPool(0))
    as_json = db.session.connection().dialect.name == "postgresql"  # COPY takes it as text
    refresh: dict[int, Found] = {}
    for need_id, found in scored:
        mine = known[need_id]
        for action, candidate in plan(found, mine, top):
            key, score, explanation, adjustments, semantic, fused = candidate
            if action == "add":
                creator.add(
                    {
                        "need_id": need_id,
                        "score": score,
                        "matched_terms": json.dumps(explanation) if as_json else explanation,
                        "adjustments": json.dumps(adjustments) if as_json else adjustments,
                        "semantic": json.dumps(semantic) if as_json else semantic,
                        "fused": fused,
                        "status": SuggestionStatus.NEW.value,
                        **{c: None for c in COLUMN.values()},
                        COLUMN[key[0]]: key[1],
                    }
                )
                result.added += 1
            elif action == "refresh":
                refresh[mine[key].id] = candidate
                result.refreshed += 1
            else:
                result.kept += 1
    creator.finish()
    for suggestion in db.session.scalars(
        sa.select(Suggestion).where(Suggestion.id.in_(list(refresh)))
    ):  # few: scores move only when the records or the thesaurus changed
        (
            _,
            suggestion.score,
            suggestion.matched_terms,
            suggestion.adjustments,
            suggestion.semantic,
            suggestion.fused,
        ) = refresh[suggestion.id]
    db.session.flush()
    return result
