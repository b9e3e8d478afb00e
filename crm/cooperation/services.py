"""Registering and editing cooperation, and opening a lead at 意向 however it came about (an
officer's registration, an accepted suggestion, an event's pairing). Moving it along is
`crm.cooperation.stages`; the board is `crm.cooperation.board`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.queries import reference

logger = logging.getLogger(__name__)


def get_cooperation(coop_id: int) -> Cooperation:
    coop = db.session.get(Cooperation, coop_id)
    if coop is None or coop.deleted_at is not None:
        raise NotFound("这条合作记录不存在或已删除。")
    return coop


@dataclass
class Details:
    """What an officer writes about a cooperation (its stage moves are `move`'s)."""

    title: str
    type: CooperationType
    institution_id: int | None
    researcher_name: str | None
    amount: Any = None  # yuan
    contract_no: str | None = None
    origin: Origin = Origin.MANUAL
    notes: str | None = None
    researcher_id: int | None = None  # the API names a researcher by id, the web by name


def partner(
    institution_id: int | None,
    researcher_name: str | None,
    researcher_id: int | None = None,
    coop: Cooperation | None = None,
) -> tuple[int | None, int | None]:
    """(institution id, researcher id): the researcher found by id or by name, within the
    institution when one is given; a name that fits nobody or several people is refused. The
    partner a record already has is kept as it is (even if deleted since): a save never
    unlinks what the user did not touch. Reads only: a form asks it too, to say its error
    with the form's others."""
    had = (coop.institution_id, coop.researcher_id) if coop is not None else (None, None)
    same_place = institution_id in (None, had[0])
    if researcher_id is not None:
        if same_place and researcher_id == had[1]:
            return had
        person = db.session.get(Researcher, researcher_id)
        if person is None or person.deleted_at is not None:
            raise ValidationError("专家库里没有这位专家。", field="researcher_id")
        if institution_id not in (None, person.institution_id):
            raise ValidationError("这位专家不属于所选的高校院所。", field="researcher_id")
        return person.institution_id, person.id
    name = (researcher_name or "").strip()
    if not name:
        if institution_id is None:
            raise ValidationError("请填写合作的高校院所或专家。", field="institution_id")
        institution_id = reference(
            Institution, institution_id, had[0], field="institution_id", what="高校院所"
        )
        return institution_id, None
    if coop is not None and coop.researcher is not None and name == coop.researcher.name:
        if same_place:
            return had
    institution_id = reference(
        Institution, institution_id, had[0], field="institution_id", what="高校院所"
    )
    stmt = sa.select(Researcher).where(Researcher.name == name, Researcher.deleted_at.is_(None))
    if institution_id is not None:
        stmt = stmt.where(Researcher.institution_id == institution_id)
    found = list(db.session.scalars(stmt.limit(2)))
    if not found:
        raise ValidationError(
            f"专家库里没有“{name}”，请先登记专家或核对所在单位。", field="researcher_name"
        )
    if len(found) > 1:
        raise ValidationError(
            f"专家库里有多位“{name}”，请选择所在单位以区分。", field="institution_id"
        )
    return institution_id or found[0].institution_id, found[0].id


def _apply(coop: Cooperation, details: Details, existing: bool = False) -> None:
    title = details.title.strip()
    if not title:
        raise ValidationError("请填写合作名称。", field="title")
    if details.amount is not None and details.amount < 0:
        raise ValidationError("金额不能为负数。", field="amount")
    coop.institution_id, coop.researcher_id = partner(
        details.institution_id,
        details.researcher_name,
        details.researcher_id,
        coop if existing else None,
    )
    coop.title, coop.type, coop.amount = title, details.type, details.amount
    coop.contract_no = (details.contract_no or "").strip() or None
    coop.notes = (details.notes or "").strip() or None


def create(user: User, enterprise: Enterprise, details: Details) -> Cooperation:
    """A new cooperation of an enterprise the officer may edit, at 意向, with its history."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise), "您只能为本人或本科室负责的企业登记合作。"
    )
    if details.origin == Origin.SUGGESTION:
        raise ValidationError("来自匹配推荐的合作由“采纳”生成。", field="origin")
    with db.session.no_autoflush:  # checking the partner reads; the lead is not complete yet
        coop = open_lead(user, enterprise.id, details.origin, "登记", user.id)
        _apply(coop, details)
    db.session.flush()
    logger.info("Cooperation %s registered by %s", coop.id, user.username)
    return coop


def open_lead(
    user: User, enterprise_id: int, origin: Origin, note: str, officer_id: int, **fields: Any
) -> Cooperation:
    """A cooperation at 意向 with the first step of its history, however it came about (an
    officer's registration, an accepted suggestion, a pairing at an event). The caller has
    checked the user may; `fields` are the cooperation's own (title, researcher_id, …)."""
    today = local_today()
    lead = Cooperation(
        enterprise_id=enterprise_id,
        stage=Stage.INTENT,
        stage_changed_on=today,
        officer_id=officer_id,
        origin=origin,
        **fields,
    )
    lead.history = [
        StageChange(to_stage=Stage.INTENT, changed_on=today, changed_by_id=user.id, note=note)
    ]
    db.session.add(lead)
    return lead


def update(user: User, coop: Cooperation, details: Details, version: int) -> Cooperation:
    policy.authorize(
        policy.can_edit_cooperation(user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以修改。",
    )
    if coop.version != version:
        raise Conflict()
    _apply(coop, details, existing=True)
    db.session.flush()
    return coop
