"""The cooperation pipeline's stage rules: 意向 → 洽谈 → 签约 → 实施 → 验收, or 终止, one step at a
time, each move dated and kept in the history; 签约 needs its date and parties."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation.models import Cooperation, Stage, StageChange
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.steps import date_problems

logger = logging.getLogger(__name__)

FLOW = (Stage.INTENT, Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION, Stage.ACCEPTANCE)
OPEN = (Stage.INTENT, Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION)
BOARD = (*FLOW, Stage.TERMINATED)


def next_stages(stage: Stage) -> list[Stage]:
    """Where a cooperation in this stage may go: the next stage, or 终止 while open."""
    if stage not in OPEN:
        return []
    return [FLOW[FLOW.index(stage) + 1], Stage.TERMINATED]


@dataclass
class Move:
    """What an officer gives to move a cooperation."""

    to: Stage
    version: int
    on: date | None = None  # the day it happened; today if not given
    signed_on: date | None = None
    parties: str | None = None
    contract_no: str | None = None
    reason: str | None = None  # 终止原因
    note: str | None = None


def move(user: User, coop: Cooperation, step: Move) -> Cooperation:
    """Move to the next stage (or 终止) by the rules, with a dated history entry."""
    policy.authorize(
        policy.can_edit_cooperation(user, coop),
        "只有负责该合作的联络员、本科室人员或管理员可以推进。",
    )
    if coop.version != step.version:
        raise Conflict("这条合作已被他人更新，请刷新后再操作。")
    today = local_today()
    if found := problems(coop, step, today):
        raise found[0]
    on = step.on or today
    if step.to == Stage.SIGNED:
        coop.signed_on, coop.parties = step.signed_on, (step.parties or "").strip()
        coop.contract_no = (step.contract_no or "").strip() or coop.contract_no
    if step.to == Stage.TERMINATED:
        coop.termination_reason = (step.reason or "").strip()
    coop.history.append(
        StageChange(
            from_stage=coop.stage,
            to_stage=step.to,
            changed_on=on,
            changed_by_id=user.id,
            note=(step.note or "").strip() or None,
        )
    )
    coop.stage, coop.stage_changed_on = step.to, on
    db.session.flush()
    logger.info("Cooperation %s moved to %s by %s", coop.id, step.to.value, user.username)
    return coop


def problems(coop: Cooperation, step: Move, today: date) -> list[ValidationError]:
    """Every rule the move breaks, each naming its field: all of them, so that a form shows
    them at once (`move` refuses with the first)."""
    found: list[ValidationError] = []
    if step.to == coop.stage:
        found.append(ValidationError(f"这条合作已经在“{coop.stage.label}”阶段。", field="to"))
    elif step.to not in next_stages(coop.stage):
        found.append(ValidationError(_why_not(coop.stage, step.to), field="to"))
    found += date_problems(step.on or today, coop.stage_changed_on, today)
    if step.to == Stage.SIGNED:
        if step.signed_on is None:
            found.append(ValidationError("进入签约阶段须填写签约日期。", field="signed_on"))
        elif step.signed_on > today:
            found.append(ValidationError("签约日期不能晚于今天。", field="signed_on"))
        if not (step.parties or "").strip():
            found.append(ValidationError("进入签约阶段须填写签约各方。", field="parties"))
    if step.to == Stage.TERMINATED and not (step.reason or "").strip():
        found.append(ValidationError("终止合作须写明原因。", field="reason"))
    return found


def _why_not(stage: Stage, to: Stage) -> str:
    if stage == Stage.TERMINATED:
        return "这条合作已终止，不能再推进。"
    if stage == Stage.ACCEPTANCE:
        return "这条合作已验收，流程已结束。"
    if to in FLOW and FLOW.index(to) < FLOW.index(stage):
        return f"不能从“{stage.label}”退回“{to.label}”。"
    skipped = "”“".join(s.label for s in FLOW[FLOW.index(stage) + 1 : FLOW.index(to)])
    return f"不能从“{stage.label}”直接到“{to.label}”：要先经过“{skipped}”。"
