"""A project's stage rules: 申报 → 推荐 → 立项 → 中期检查 → 验收 (结题), or 未立项 (before 立项)
/ 终止 (after), one step at a time, each move dated and kept in the history; 立项 needs the
project number, 未立项 and 终止 a reason. The province's and city's published lists may record
a step the officers did not (`record_published`): forward only, noted as from the list."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.clock import local_today
from crm.db import utcnow
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.projects.models import Project, ProjectStage, ProjectStageChange
from crm.steps import date_problems
from crm.visits.models import Task

logger = logging.getLogger(__name__)

S = ProjectStage
FLOW = (S.APPLYING, S.RECOMMENDED, S.APPROVED, S.MIDTERM, S.ACCEPTED)
BEFORE_APPROVAL = (S.APPLYING, S.RECOMMENDED)
RUNNING = (S.APPROVED, S.MIDTERM)
OPEN = (*BEFORE_APPROVAL, *RUNNING)
ENDED = (S.ACCEPTED, S.REJECTED, S.TERMINATED)
BOARD = (*FLOW, S.REJECTED, S.TERMINATED)
#: stages a project has been approved (立项) in
APPROVED = (S.APPROVED, S.MIDTERM, S.ACCEPTED, S.TERMINATED)


def next_stages(stage: ProjectStage) -> list[ProjectStage]:
    """Where a project in this stage may go: the next stage of the flow, or 未立项 before
    立项, or 终止 after it."""
    if stage not in OPEN:
        return []
    step = FLOW[FLOW.index(stage) + 1]
    return [step, S.REJECTED if stage in BEFORE_APPROVAL else S.TERMINATED]


@dataclass
class Move:
    """What an officer gives to move a project."""

    to: ProjectStage
    version: int
    on: date | None = None  # the day it happened; today if not given
    number: str | None = None  # 项目编号, at 立项
    reason: str | None = None  # 未立项 / 终止 的原因
    note: str | None = None


def move(user: User, project: Project, step: Move) -> Project:
    """Move to the next stage (or 未立项 / 终止) by the rules, with a dated history entry."""
    policy.authorize(
        policy.can_edit_project(user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以推进。",
    )
    if project.version != step.version:
        raise Conflict("这个项目已被他人更新，请刷新后再操作。")
    today = local_today()
    if found := problems(project, step, today):
        raise found[0]
    _enter(project, step.to, step.on or today, user.id, step.note, step.number, step.reason)
    db.session.flush()
    logger.info("Project %s moved to %s by %s", project.id, step.to.value, user.username)
    return project


def problems(project: Project, step: Move, today: date) -> list[ValidationError]:
    """Every rule the move breaks, each naming its field (`move` refuses with the first)."""
    found: list[ValidationError] = []
    if step.to == project.stage:
        found.append(ValidationError(f"这个项目已经在“{project.stage.label}”阶段。", field="to"))
    elif step.to not in next_stages(project.stage):
        found.append(ValidationError(_why_not(project.stage, step.to), field="to"))
    found += date_problems(step.on or today, project.stage_changed_on, today)
    if step.to == S.APPROVED:
        number = (step.number or "").strip() or project.number
        if not number:
            found.append(ValidationError("立项须填写项目编号。", field="number"))
        elif taken(number, project.id):
            found.append(ValidationError(f"项目编号“{number}”已被另一个项目使用。", field="number"))
    if step.to in (S.REJECTED, S.TERMINATED) and not (step.reason or "").strip():
        what = "未立项" if step.to == S.REJECTED else "终止项目"
        found.append(ValidationError(f"{what}须写明原因。", field="reason"))
    return found


def taken(number: str, project_id: int | None) -> bool:
    """Whether another project (deleted ones too: the number stays unique) has this number."""
    other = db.session.query(Project.id).filter(Project.number == number.strip()).first()
    return other is not None and other[0] != project_id


def _why_not(stage: ProjectStage, to: ProjectStage) -> str:
    if stage in ENDED:
        return f"这个项目已{stage.label}，流程已结束。"
    if to == S.REJECTED:
        return "已立项的项目不能再记为“未立项”，请选择“终止”。"
    if to == S.TERMINATED:
        return "尚未立项的项目请记为“未立项”。"
    if FLOW.index(to) < FLOW.index(stage):
        return f"不能从“{stage.label}”退回“{to.label}”。"
    skipped = "”“".join(s.label for s in FLOW[FLOW.index(stage) + 1 : FLOW.index(to)])
    return f"不能从“{stage.label}”直接到“{to.label}”：要先经过“{skipped}”。"


def _enter(
    project: Project,
    to: ProjectStage,
    on: date,
    user_id: int | None,
    note: str | None,
    number: str | None = None,
    reason: str | None = None,
) -> None:
    if to == S.APPROVED:
        project.number = (number or "").strip() or project.number
        project.approved_on = on
    if to in (S.REJECTED, S.TERMINATED):
        project.end_reason = (reason or "").strip()
    project.history.append(
        ProjectStageChange(
            from_stage=project.stage,
            to_stage=to,
            changed_on=on,
            changed_by_id=user_id,
            note=(note or "").strip() or None,
        )
    )
    if project.stage == S.APPLYING:
        _close_preparation(project)
    project.stage, project.stage_changed_on = to, on


PREPARATION = "准备“"  # how `deadlines.prepare_task` titles its task


def _close_preparation(project: Project) -> None:
    """The application has gone out (or was given up): its preparation task is done."""
    if project.id is None:
        return
    db.session.execute(
        sa.update(Task)
        .where(
            Task.project_id == project.id,
            Task.done_at.is_(None),
            Task.deleted_at.is_(None),
            Task.title.startswith(PREPARATION),
        )
        .values(done_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


def start(project: Project, user_id: int | None, on: date, note: str) -> None:
    """A new project's first history entry, at the stage it is registered in (申报)."""
    project.history = [
        ProjectStageChange(to_stage=project.stage, changed_on=on, changed_by_id=user_id, note=note)
    ]
    project.stage_changed_on = on


def record_published(
    project: Project, to: ProjectStage, on: date, user_id: int | None, note: str
) -> bool:
    """A published 立项 / 验收 list says the project reached `to` on `on`: record it, passing
    over steps nobody recorded (the list is the authority), never backwards. False when the
    project is already there or further on (or ended otherwise), and nothing changes."""
    if to not in FLOW or project.stage in (S.REJECTED, S.TERMINATED):
        return False
    if project.stage in FLOW and FLOW.index(project.stage) >= FLOW.index(to):
        return False
    if FLOW.index(to) > FLOW.index(S.APPROVED) and project.approved_on is None:
        raise ValidationError(
            f"“{project.title}”还没有立项记录，不能直接记为“{to.label}”：请先导入立项名单或登记立项。",
            field="stage",
        )
    last = project.stage_changed_on
    # the list's date is the fact (立项日期 decides the target's year), even when an officer
    # recorded a later step first; later moves still count from the last one recorded
    _enter(project, to, on, user_id, note, project.number)
    if last is not None and last > on:
        project.stage_changed_on = last
    return True
