"""Suggestions on a need: generate them, and record what the officer decided.

Generating never duplicates a suggestion and never touches one an officer has acted on; a
rejected pair is never suggested again for that need. Accepting creates a cooperation lead
(stage 意向, origin 匹配推荐) linked to the suggestion.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.audit import services as audit
from crm.auth.models import User
from crm.bulk import Creator
from crm.cooperation.models import Cooperation, CooperationType, Origin
from crm.cooperation.services import open_lead
from crm.db import utcnow
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.institutions.models import Achievement, Researcher
from crm.matching import services
from crm.matching.index import MatchIndex
from crm.matching.models import Suggestion, SuggestionStatus
from crm.matching.priors import Priors, industries_of
from crm.matching.thesaurus import current_analyzer
from crm.needs.models import Need, NeedStatus
from crm.text.analyzer import get_analyzer
from crm.workers import AnalysisPool, default_workers

logger = logging.getLogger(__name__)

REJECT_REASONS = {
    "off_topic": "研究方向不对口",
    "not_now": "企业暂不需要",
    "expert_declined": "专家无意向或没空",
    "has_partner": "企业已有合作方",
    "too_costly": "费用谈不拢",
    "other": "其他",
}
BATCH = 1000  # needs a chunk: one commit each
MOVED = 0.01  # an undecided suggestion is rewritten when its score moves by more than this
COLUMN = {
    "researcher": "researcher_id",
    "achievement": "achievement_id",
    "institution": "institution_id",
}


@dataclass
class Generated:
    added: int = 0
    refreshed: int = 0
    kept: int = 0  # decided ones left as they were

    def __iadd__(self, other: Generated) -> Generated:
        self.added += other.added
        self.refreshed += other.refreshed
        self.kept += other.kept
        return self


def _with_candidates() -> tuple[Any, ...]:
    """What a suggestion list shows: the candidate and its institution, loaded with it."""
    return (
        selectinload(Suggestion.researcher).selectinload(Researcher.institution),
        selectinload(Suggestion.achievement).selectinload(Achievement.institution),
        selectinload(Suggestion.institution),
    )


def for_need(need: Need) -> list[Suggestion]:
    """A need's suggestions, open ones by score first, decided ones after."""
    return list(
        db.session.scalars(
            sa.select(Suggestion)
            .where(Suggestion.need_id == need.id)
            .options(*_with_candidates())
            .order_by(
                (Suggestion.status == SuggestionStatus.REJECTED),
                Suggestion.score.desc(),
                Suggestion.id,
            )
        )
    )


Key = tuple[str, int]  # (candidate kind, candidate id)


@dataclass
class Known:
    """What a need already has for one candidate."""

    id: int
    status: SuggestionStatus
    score: float


def _known(need_ids: list[int]) -> dict[int, dict[Key, Known]]:
    """The suggestions these needs have, by need and candidate: one query."""
    out: dict[int, dict[Key, Known]] = {i: {} for i in need_ids}
    rows = db.session.execute(
        sa.select(
            Suggestion.id,
            Suggestion.need_id,
            Suggestion.researcher_id,
            Suggestion.achievement_id,
            Suggestion.institution_id,
            Suggestion.status,
            Suggestion.score,
        ).where(Suggestion.need_id.in_(need_ids))
    )
    for sid, need_id, researcher, achievement, institution, status, score in rows:
        kind, record_id = next(
            (k, v)
            for k, v in zip(COLUMN, (researcher, achievement, institution), strict=True)
            if v is not None
        )
        out[need_id][(kind, record_id)] = Known(sid, status, score)
    return out


Found = tuple[Key, float, list[dict[str, Any]], list[dict[str, Any]]]  # + why, + prior


def _plan(found: list[Found], known: dict[Key, Known], top: int) -> Iterator[tuple[str, Found]]:
    """What to do with each candidate, best first, until `top` are shown: "add" a new one,
    "refresh" an undecided one whose score moved, "keep" a decided or unchanged one. A
    rejected pair is skipped: never suggested again."""
    shown = 0
    for candidate in found:
        key, score = candidate[0], candidate[1]
        current = known.get(key)
        if current is not None and current.status == SuggestionStatus.REJECTED:
            continue
        if current is None:
            yield "add", candidate
        elif current.status == SuggestionStatus.NEW and abs(current.score - score) > MOVED * score:
            yield "refresh", candidate
        else:
            yield "keep", candidate
        shown += 1
        if shown >= top:
            return


def generate(user: User, need: Need, top: int = 10) -> Generated:
    """Match the need and keep the best candidates as suggestions."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以生成匹配。")
    known = _known([need.id])[need.id]
    rejected = sum(k.status == SuggestionStatus.REJECTED for k in known.values())
    found = [
        (
            (c.kind, c.id),
            c.score,
            [m.as_dict() for m in c.matched],
            [a.as_dict() for a in c.adjustments],
        )
        for c in services.match_need(need, top=top + rejected)
    ]
    result = Generated()
    for action, (key, score, explanation, adjustments) in _plan(found, known, top):
        if action == "add":
            db.session.add(
                Suggestion(
                    need_id=need.id,
                    score=score,
                    matched_terms=explanation,
                    adjustments=adjustments,
                    **{COLUMN[key[0]]: key[1]},
                )
            )
            result.added += 1
        elif action == "refresh":
            suggestion = db.session.get(Suggestion, known[key].id)
            suggestion.score, suggestion.matched_terms = score, explanation
            suggestion.adjustments = adjustments
            result.refreshed += 1
        else:
            result.kept += 1
    db.session.flush()
    logger.info("Need %r matched by %s: %s", need, user.username, result)
    return result


def for_enterprise(enterprise_id: int, limit: int = 10) -> list[Suggestion]:
    """The best open suggestions across an enterprise's needs that are still being worked on."""
    return list(
        db.session.scalars(
            sa.select(Suggestion)
            .join(Need, Suggestion.need_id == Need.id)
            .where(
                Need.enterprise_id == enterprise_id,
                Need.deleted_at.is_(None),
                Need.status.in_([NeedStatus.OPEN, NeedStatus.MATCHED]),
                Suggestion.status.in_([SuggestionStatus.NEW, SuggestionStatus.CONTACTED]),
            )
            .options(selectinload(Suggestion.need), *_with_candidates())
            .order_by(Suggestion.score.desc(), Suggestion.id)
            .limit(limit)
        )
    )


def generate_for_enterprise(user: User, enterprise_id: int, top: int = 10) -> Generated:
    """生成匹配 for every open need of one enterprise."""
    total = Generated()
    needs = db.session.scalars(
        sa.select(Need).where(
            Need.enterprise_id == enterprise_id,
            Need.deleted_at.is_(None),
            Need.status == NeedStatus.OPEN,
        )
    )
    for need in needs:
        total += generate(user, need, top)
    return total


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
    known = _known([need_id for need_id, _ in scored])
    result = Generated()
    creator = Creator(Suggestion, AnalysisPool(0))
    as_json = db.session.connection().dialect.name == "postgresql"  # COPY takes it as text
    refresh: dict[int, Found] = {}
    for need_id, found in scored:
        mine = known[need_id]
        for action, candidate in _plan(found, mine, top):
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


def partner_name(s: Suggestion) -> str:
    target: Any = s.researcher or s.achievement or s.institution
    return getattr(target, "name", None) or getattr(target, "title", "")


def decide(
    user: User,
    suggestion: Suggestion,
    status: SuggestionStatus,
    version: int,
    reason: str | None = None,
    note: str | None = None,
) -> Cooperation | None:
    """Mark a suggestion contacted, accepted (→ a cooperation lead) or rejected (with a reason):
    by whoever may edit the need's enterprise (its lead lands in that firm's pipeline)."""
    policy.authorize(
        policy.can_decide_suggestion(user, suggestion), "您只能处理本人或本科室负责企业需求的推荐。"
    )
    if suggestion.version != version:
        raise Conflict("这条推荐已被他人处理，请刷新后再看。")
    if suggestion.status == SuggestionStatus.ACCEPTED:
        raise ValidationError("这条推荐已采纳，已转为合作意向。")
    if status == SuggestionStatus.REJECTED:
        if reason not in REJECT_REASONS:
            raise ValidationError("请选择否决原因。", field="reason")
        suggestion.reject_reason = reason
        suggestion.reject_note = (note or "").strip() or None
    suggestion.status = status
    suggestion.decided_by_id, suggestion.decided_at = user.id, utcnow()
    lead = _lead(user, suggestion) if status == SuggestionStatus.ACCEPTED else None
    db.session.flush()
    logger.info("Suggestion %s %s by %s", suggestion.id, status.value, user.username)
    return lead


def _lead(user: User, s: Suggestion) -> Cooperation:
    need = s.need
    researcher_id, institution_id = s.researcher_id, s.institution_id
    if s.achievement is not None:
        researcher_id = researcher_id or s.achievement.researcher_id
        institution_id = institution_id or s.achievement.institution_id
    elif s.researcher is not None:
        institution_id = institution_id or s.researcher.institution_id
    if researcher_id is None and institution_id is None:
        raise ValidationError("该成果没有登记完成单位或完成人，请先补全后再采纳。")
    lead = open_lead(
        user,
        need.enterprise_id,
        Origin.SUGGESTION,
        "由匹配推荐采纳",
        user.id,
        title=f"{need.title}（{partner_name(s)}）"[:200],
        researcher_id=researcher_id,
        institution_id=institution_id,
        achievement_id=s.achievement_id,
        type=CooperationType.DEVELOPMENT,
        suggestion_id=s.id,
    )
    if need.status == NeedStatus.OPEN:
        need.status = NeedStatus.MATCHED
    return lead
