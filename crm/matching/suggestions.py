"""Suggestions on a need: generate them, and record what the officer decided.

Generating never duplicates a suggestion and never touches one an officer has acted on; a
rejected pair is never suggested again for that need. Accepting creates a cooperation lead
(stage 意向, origin 匹配推荐) linked to the suggestion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.db import utcnow
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.institutions.models import Achievement, Researcher
from crm.matching import services
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus

logger = logging.getLogger(__name__)

REJECT_REASONS = {
    "off_topic": "研究方向不对口",
    "not_now": "企业暂不需要",
    "expert_declined": "专家无意向或没空",
    "has_partner": "企业已有合作方",
    "too_costly": "费用谈不拢",
    "other": "其他",
}
BATCH = 200
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


def generate(user: User, need: Need, top: int = 10) -> Generated:
    """Match the need and keep the best candidates as suggestions."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以生成匹配。")
    existing = {
        (kind, getattr(s, column)): s
        for s in db.session.scalars(sa.select(Suggestion).where(Suggestion.need_id == need.id))
        for kind, column in COLUMN.items()
        if getattr(s, column) is not None
    }
    rejected = {key for key, s in existing.items() if s.status == SuggestionStatus.REJECTED}
    found = services.match_need(need, top=top + len(rejected))
    result = Generated()
    for candidate in found:
        key = (candidate.kind, candidate.id)
        if key in rejected:
            continue
        explanation = [m.as_dict() for m in candidate.matched]
        suggestion = existing.get(key)
        if suggestion is None:
            db.session.add(
                Suggestion(
                    need_id=need.id,
                    score=candidate.score,
                    matched_terms=explanation,
                    **{COLUMN[candidate.kind]: candidate.id},
                )
            )
            result.added += 1
        elif suggestion.status == SuggestionStatus.NEW:
            suggestion.score, suggestion.matched_terms = candidate.score, explanation
            result.refreshed += 1
        else:
            result.kept += 1
        if result.added + result.refreshed + result.kept >= top:
            break
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
    user: User, top: int = 10, progress: Callable[[int, int], None] | None = None
) -> Generated:
    """Every open need (the nightly batch and `crm match --all`); committed per chunk so a long
    run keeps what it has done, and safe to run again: it adds only what is new."""
    ids = list(
        db.session.scalars(
            sa.select(Need.id)
            .where(Need.status == NeedStatus.OPEN, Need.deleted_at.is_(None))
            .order_by(Need.id)
        )
    )
    total = Generated()
    for start in range(0, len(ids), BATCH):
        for need in db.session.scalars(
            sa.select(Need).where(Need.id.in_(ids[start : start + BATCH]))
        ):
            total += generate(user, need, top)
        db.session.commit()
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    return total


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
    """Mark a suggestion contacted, accepted (→ a cooperation lead) or rejected (with a reason)."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以处理推荐。")
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
    today = local_today()
    lead = Cooperation(
        title=f"{need.title}（{partner_name(s)}）"[:200],
        enterprise_id=need.enterprise_id,
        researcher_id=researcher_id,
        institution_id=institution_id,
        achievement_id=s.achievement_id,
        type=CooperationType.DEVELOPMENT,
        stage=Stage.INTENT,
        stage_changed_on=today,
        officer_id=user.id,
        origin=Origin.SUGGESTION,
        suggestion_id=s.id,
    )
    lead.history = [
        StageChange(
            to_stage=Stage.INTENT, changed_on=today, changed_by_id=user.id, note="由匹配推荐采纳"
        )
    ]
    db.session.add(lead)
    if need.status == NeedStatus.OPEN:
        need.status = NeedStatus.MATCHED
    return lead
