"""技术需求: list, register and edit (with optimistic locking)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.needs.models import Need, NeedStatus
from crm.queries import get_live
from crm.search.names import named

if TYPE_CHECKING:
    from crm.visits.models import Visit

logger = logging.getLogger(__name__)


@dataclass
class NeedData:
    title: str
    description: str | None = None
    budget: Decimal | None = None
    status: NeedStatus = NeedStatus.OPEN


def get_need(need_id: int) -> Need:
    return get_live(Need, need_id, message="技术需求不存在或已被删除。")  # or its firm


def _apply(need: Need, data: NeedData) -> None:
    title = data.title.strip()
    if not title:
        raise ValidationError("请填写需求名称。", field="title")
    if data.budget is not None and data.budget < 0:
        raise ValidationError("预算不能为负数。", field="budget")
    need.title = title
    need.description = (data.description or "").strip() or None
    need.budget = data.budget
    need.status = NeedStatus(data.status)


def create_need(
    user: User, enterprise: Enterprise, data: NeedData, visit: Visit | None = None
) -> Need:
    """Register a need of an enterprise the officer may edit (found on `visit`, if given)."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise), "您只能为本人或本科室负责的企业登记需求。"
    )
    need = Need(enterprise=enterprise, visit=visit)
    _apply(need, data)
    db.session.add(need)
    db.session.flush()
    logger.info("Need %r registered by %s", need, user.username)
    return need


def update_need(user: User, need: Need, data: NeedData, expected_version: int) -> Need:
    """Save an edit made on `expected_version`; a newer version raises Conflict."""
    policy.authorize(
        policy.can_edit_enterprise(user, need.enterprise), "您只能修改本人或本科室负责企业的需求。"
    )
    if need.version != expected_version:
        raise Conflict()
    _apply(need, data)
    db.session.flush()
    logger.info("Need %r updated by %s", need, user.username)
    return need


def list_query(status: str | None, q: str | None) -> sa.Select[tuple[Need]]:
    """Needs of enterprises that are not deleted, newest first."""
    stmt = (
        sa.select(Need)
        .join(Enterprise, Need.enterprise_id == Enterprise.id)
        .where(Need.deleted_at.is_(None), Enterprise.deleted_at.is_(None))
        .options(selectinload(Need.enterprise))
        .order_by(Need.created_at.desc(), Need.id.desc())
    )
    if status in {s.value for s in NeedStatus}:
        stmt = stmt.where(Need.status == NeedStatus(status))
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Need.title.ilike(pattern),
                Enterprise.name.ilike(pattern),
                Enterprise.id.in_(named("enterprise", q)),
            )
        )
    return stmt
