"""Deleting marks a record; nothing is lost, and an admin can bring it back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.db import utcnow
from crm.enterprises.models import Contact, Enterprise
from crm.errors import NotFound, ValidationError
from crm.extensions import db
from crm.institutions.models import Achievement, Branch, Institution, Researcher
from crm.needs.models import Need
from crm.projects.models import Project
from crm.queries import touch_gone_with
from crm.visits.models import Task, Visit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trashable:
    key: str
    label: str
    model: type
    title: str  # the attribute that names a record


KINDS = {
    k.key: k
    for k in (
        Trashable("enterprise", "企业", Enterprise, "name"),
        Trashable("institution", "高校院所", Institution, "name"),
        Trashable("researcher", "专家", Researcher, "name"),
        Trashable("achievement", "科技成果", Achievement, "title"),
        Trashable("need", "技术需求", Need, "title"),
        Trashable("visit", "走访", Visit, "visited_on"),
        Trashable("task", "待办", Task, "title"),
        Trashable("contact", "联系人", Contact, "name"),
        Trashable("project", "科技项目", Project, "title"),
        Trashable("branch", "院校分支", Branch, "name"),
    )
}


def get(kind: str, record_id: int) -> tuple[Trashable, Any]:
    spec = KINDS.get(kind)
    record = db.session.get(spec.model, record_id) if spec else None
    if spec is None or record is None:
        raise NotFound("记录不存在。")
    return spec, record


def delete(user: User, kind: str, record_id: int) -> Any:
    """Move a record to the recycle bin."""
    spec, record = get(kind, record_id)
    policy.authorize(policy.can_delete(user, kind, record), "您不能删除这条记录。")
    if record.deleted_at is not None:
        raise ValidationError("这条记录已经删除了。")
    record.deleted_at = now = utcnow()
    db.session.flush()
    touch_gone_with(record, now)  # a sync sees a firm's needs and visits go with it
    logger.info("%r moved to the recycle bin by %s", record, user.username)
    return record


def restore(user: User, kind: str, record_id: int) -> Any:
    """Bring a record back from the recycle bin (admins)."""
    policy.authorize(policy.is_admin(user), "只有管理员可以恢复记录。")
    spec, record = get(kind, record_id)
    if record.deleted_at is None:
        raise ValidationError("这条记录没有被删除。")
    record.deleted_at = None
    db.session.flush()
    touch_gone_with(record, utcnow())  # … and come back with it
    logger.info("%r restored by %s", record, user.username)
    return record


def deleted(kind: str) -> sa.Select[Any]:
    """What is in the recycle bin for one kind, latest deletion first."""
    model = KINDS[kind].model
    return sa.select(model).where(model.deleted_at.is_not(None)).order_by(model.deleted_at.desc())
