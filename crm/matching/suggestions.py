"""Suggestions on a need: generate them and read them (deciding: `crm.matching.decisions`;
every open need at once: `crm.matching.batch`).

Generating never duplicates a suggestion and never touches one an officer has acted on; a
rejected pair is never suggested again for that need. Accepting creates a cooperation lead
(stage 意向, origin 匹配推荐) linked to the suggestion.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.extensions import db
from crm.institutions.models import Achievement, Researcher
from crm.matching import services
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus

logger = logging.getLogger(__name__)

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


def known_of(need_ids: list[int]) -> dict[int, dict[Key, Known]]:
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


# (candidate, score, matched terms, the records' prior, 语义相近 or None, fused)
Found = tuple[Key, float, list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None, bool]


def plan(found: list[Found], known: dict[Key, Known], top: int) -> Iterator[tuple[str, Found]]:
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
    known = known_of([need.id])[need.id]
    rejected = sum(k.status == SuggestionStatus.REJECTED for k in known.values())
    found = [
        (
            (c.kind, c.id),
            c.score,
            [m.as_dict() for m in c.matched],
            [a.as_dict() for a in c.adjustments],
            c.semantic,
            c.fused,
        )
        for c in services.match_need(need, top=top + rejected)
    ]
    result = Generated()
    for action, (key, score, explanation, adjustments, semantic, fused) in plan(found, known, top):
        if action == "add":
            db.session.add(
                Suggestion(
                    need_id=need.id,
                    score=score,
                    matched_terms=explanation,
                    adjustments=adjustments,
                    semantic=semantic,
                    fused=fused,
                    **{COLUMN[key[0]]: key[1]},
                )
            )
            result.added += 1
        elif action == "refresh":
            suggestion = db.session.get(Suggestion, known[key].id)
            suggestion.score, suggestion.matched_terms = score, explanation
            suggestion.adjustments, suggestion.semantic = adjustments, semantic
            suggestion.fused = fused
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
