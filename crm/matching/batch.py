"""Matching every open need at once (the nightly run and `crm match --all`): needs scored in
forked worker processes that share the index, written chunk by chunk by this one."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from crm import policy
from crm.audit import services as audit
from crm.auth.models import User
from crm.bulk import Creator
from crm.extensions import db
from crm.matching import services
from crm.matching.index import MatchIndex
from crm.matching.models import Suggestion, SuggestionStatus
from crm.matching.priors import Priors, industries_of
from crm.matching.suggestions import COLUMN, Found, Generated, known_of, plan
from crm.matching.thesaurus import current_analyzer
from crm.needs.models import Need, NeedStatus
from crm.text.analyzer import get_analyzer
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


_batch: Batch | None = None


def _score(needs: list[tuple[int, str, str | None, int, frozenset[int]]], top: int) -> Scored:
    """Candidates of each need (top, plus as many as it has rejected), explained, with the
    records' prior for its industries. Top-level, so worker processes run it."""
    batch, analyzer = _batch, get_analyzer()  # the parent loaded its thesaurus
    out = []
    for need_id, title, description, rejected, industries in needs:
        query = services.widen(
            services.build_query(title, description, analyzer=analyzer), batch.index
        )
        adjust = None if batch.priors.empty else functools.partial(batch.priors.adjust, industries)
        found = services.rank(batch.index, query, top + rejected, adjust=adjust)
        out.append(
            (
                need_id,
                [
                    (
                        (kind, i),
                        score,
                        services.explain(parts, query),
                        [a.as_dict() for a in adjustments],
                    )
                    for kind, i, score, parts, adjustments in found
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
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool.imap  # in order, a chunk at a time


def _write_chunk(scored: Scored, top: int) -> Generated:
    known = known_of([need_id for need_id, _ in scored])
    result = Generated()
    creator = Creator(Suggestion, AnalysisPool(0))
    as_json = db.session.connection().dialect.name == "postgresql"  # COPY takes it as text
    refresh: dict[int, Found] = {}
    for need_id, found in scored:
        mine = known[need_id]
        for action, candidate in plan(found, mine, top):
            key, score, explanation, adjustments = candidate
            if action == "add":
                creator.add(
                    {
                        "need_id": need_id,
                        "score": score,
                        "matched_terms": json.dumps(explanation) if as_json else explanation,
                        "adjustments": json.dumps(adjustments) if as_json else adjustments,
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
        _, suggestion.score, suggestion.matched_terms, suggestion.adjustments = refresh[
            suggestion.id
        ]
    db.session.flush()
    return result
