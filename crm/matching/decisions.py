"""What the officer decides on a suggestion: 已联系, 采纳 (which opens a cooperation lead at 意向,
origin 匹配推荐) or 否决 with a reason; and how a suggestion's partner is named."""

from __future__ import annotations

import logging
from typing import Any

from crm import policy
from crm.auth.models import User
from crm.cooperation.models import Cooperation, CooperationType, Origin
from crm.cooperation.services import open_lead
from crm.db import utcnow
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import NeedStatus

logger = logging.getLogger(__name__)

REJECT_REASONS = {
    "off_topic": "研究方向不对口",
    "not_now": "企业暂不需要",
    "expert_declined": "专家无意向或没空",
    "has_partner": "企业已有合作方",
    "too_costly": "费用谈不拢",
    "other": "其他",
}


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
