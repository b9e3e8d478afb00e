"""Registering and editing 科技项目: the rules a project's data keeps, its partners (named
or by id), the firm's projects. The programmes and the tasks before their 申报截止 are
`crm.projects.deadlines`, the list and the calendar `crm.projects.lists`; moving a project
along is `crm.projects.stages`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.auth.models import User
from crm.auth.services import is_officer
from crm.clock import local_today
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching.models import Suggestion, SuggestionStatus
from crm.projects import partners, stages
from crm.projects.deadlines import prepare_task
from crm.projects.models import Level, Programme, Project, ProjectPartner, ProjectStage
from crm.queries import get_live, live, reference

logger = logging.getLogger(__name__)


def get_project(project_id: int) -> Project:
    return get_live(Project, project_id, message="这个项目不存在或已删除。")


@dataclass
class ProjectData:
    """What an officer writes about a project (its stage moves are `stages.move`'s)."""

    title: str
    programme_id: int | None
    year: int | None = None
    level: Level | None = None  # the programme's if not given
    number: str | None = None
    grant_amount: Decimal | None = None  # yuan
    self_funding: Decimal | None = None  # yuan
    applied_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    officer_id: int | None = None
    cooperation_id: int | None = None
    suggestion_id: int | None = None
    notes: str | None = None
    # partners: ids (the API) and/or names, one per line or separated by 、 (the web form);
    # None leaves a record's partners as they are
    partner_institution_ids: list[int] | None = None
    partner_researchers: str | None = None
    partner_enterprises: str | None = None
    partner_researcher_ids: list[int] | None = field(default=None)
    partner_enterprise_ids: list[int] | None = field(default=None)
    enterprise_id: int | None = None  # the lead firm, when registering (its page names it)


def problems(data: ProjectData, project: Project | None = None) -> list[ValidationError]:
    """Every rule the data breaks, each naming its field (a form shows them all at once)."""
    found: list[ValidationError] = []
    if not (data.title or "").strip():
        found.append(ValidationError("请填写项目名称。", field="title"))
    if data.programme_id is None:
        found.append(ValidationError("请选择科技计划。", field="programme_id"))
    else:
        programme = db.session.get(Programme, data.programme_id)
        if programme is None:
            found.append(
                ValidationError(
                    "没有这个科技计划：请从列表中选择，或请管理员先添加。", field="programme_id"
                )
            )
        elif not programme.active and (project is None or project.programme_id != programme.id):
            found.append(ValidationError(f"“{programme.name}”已停用。", field="programme_id"))
    for name, label in (("grant_amount", "财政资助"), ("self_funding", "自筹经费")):
        value = getattr(data, name)
        if value is not None and value < 0:
            found.append(ValidationError(f"{label}不能为负数。", field=name))
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        found.append(ValidationError("结束日期不能早于开始日期。", field="ends_on"))
    if data.year is not None and not 1990 <= data.year <= 2100:
        found.append(ValidationError("申报年度应在 1990–2100 之间。", field="year"))
    number = (data.number or "").strip()
    if number and stages.taken(number, project.id if project else None):
        found.append(ValidationError(f"项目编号“{number}”已被另一个项目使用。", field="number"))
    if project is not None and not number and project.stage in stages.APPROVED:
        found.append(ValidationError("已立项的项目须有项目编号。", field="number"))
    found += _origin_problems(data, project)
    found += partners.problems(data, project)
    return found


def _origin_problems(data: ProjectData, project: Project | None) -> list[ValidationError]:
    """The officer in charge is an active officer; the cooperation and the suggestion a project
    comes from are its firm's (a suggestion: an accepted one). What it already has is kept."""
    found = []
    had_officer, had_coop, had_suggestion = (
        (project.officer_id, project.cooperation_id, project.suggestion_id)
        if project is not None
        else (None, None, None)
    )
    if data.officer_id is not None and data.officer_id != had_officer:
        if not is_officer(data.officer_id):
            found.append(ValidationError("负责人须是在岗的联络员或管理员。", field="officer_id"))
    firm = project.enterprise_id if project is not None else data.enterprise_id
    if data.cooperation_id is not None and data.cooperation_id != had_coop:
        coop = db.session.get(Cooperation, data.cooperation_id)
        if coop is None or coop.deleted_at is not None or coop.enterprise_id != firm:
            found.append(ValidationError("所选合作不存在或不属于该企业。", field="cooperation_id"))
    if data.suggestion_id is not None and data.suggestion_id != had_suggestion:
        suggestion = db.session.get(Suggestion, data.suggestion_id)
        if (
            suggestion is None
            or suggestion.status != SuggestionStatus.ACCEPTED
            or suggestion.need.enterprise_id != firm
        ):
            found.append(
                ValidationError("只能以该企业已采纳的推荐申报项目。", field="suggestion_id")
            )
    return found


def _apply(user: User, project: Project, data: ProjectData) -> None:
    if found := problems(data, project if project.id else None):
        raise found[0]
    programme = db.session.get(Programme, data.programme_id)
    if programme is None:  # problems() said so already; for the type checker
        raise ValidationError("请选择科技计划。", field="programme_id")
    project.title = data.title.strip()
    project.programme_id, project.programme = programme.id, programme
    project.level = Level(data.level) if data.level else programme.level
    project.year = data.year or project.year or local_today().year
    project.number = (data.number or "").strip() or None
    project.grant_amount, project.self_funding = data.grant_amount, data.self_funding
    project.applied_on, project.starts_on, project.ends_on = (
        data.applied_on,
        data.starts_on,
        data.ends_on,
    )
    project.officer_id = reference(
        User, data.officer_id, project.officer_id, field="officer_id", what="负责人"
    ) or (project.officer_id if project.id else user.id)
    project.cooperation_id = reference(
        Cooperation,
        data.cooperation_id,
        project.cooperation_id,
        field="cooperation_id",
        what="合作",
    )
    project.suggestion_id = reference(
        Suggestion, data.suggestion_id, project.suggestion_id, field="suggestion_id", what="推荐"
    )
    project.notes = (data.notes or "").strip() or None
    partners.set_partners(project, data)


def create(user: User, enterprise: Enterprise, data: ProjectData) -> Project:
    """A new project at 申报 led by a firm the officer may edit, with its history and the task
    of preparing it before the programme's deadline."""
    policy.authorize(
        policy.can_edit_enterprise(user, enterprise), "您只能为本人或本科室负责的企业登记项目。"
    )
    data.enterprise_id = enterprise.id
    project = Project(enterprise_id=enterprise.id, enterprise=enterprise)
    project.stage = ProjectStage.APPLYING
    with db.session.no_autoflush:
        _apply(user, project, data)
        today = local_today()  # a planned application date is no move in the future
        stages.start(project, user.id, min(data.applied_on or today, today), "登记申报")
    db.session.add(project)
    db.session.flush()
    prepare_task(project)
    db.session.flush()
    logger.info("Project %s registered by %s", project.id, user.username)
    return project


def update(user: User, project: Project, data: ProjectData, version: int) -> Project:
    policy.authorize(
        policy.can_edit_project(user, project),
        "只有负责该项目的联络员、本科室人员或管理员可以修改。",
    )
    if project.version != version:
        raise Conflict()
    with db.session.no_autoflush:
        _apply(user, project, data)
    db.session.flush()
    prepare_task(project)
    db.session.flush()
    return project


def prefill(cooperation: Cooperation | None, suggestion: Suggestion | None) -> dict[str, Any]:
    """What a project registered from a cooperation or an accepted suggestion starts with."""
    if cooperation is not None:
        return {
            "title": cooperation.title,
            "cooperation_id": cooperation.id,
            "suggestion_id": cooperation.suggestion_id,
            "partner_institution_ids": [cooperation.institution_id]
            if cooperation.institution_id
            else [],
            "partner_researchers": cooperation.researcher.name if cooperation.researcher else "",
        }
    if suggestion is not None:
        researcher = suggestion.researcher
        return {
            "title": suggestion.need.title,
            "suggestion_id": suggestion.id,
            "partner_institution_ids": [researcher.institution_id]
            if researcher is not None and researcher.institution_id
            else [],
            "partner_researchers": researcher.name if researcher is not None else "",
        }
    return {}


def of_enterprise(enterprise_id: int) -> list[Project]:
    """A firm's live projects, as the lead or a partner, newest first."""
    partner = sa.select(ProjectPartner.project_id).where(
        ProjectPartner.enterprise_id == enterprise_id
    )
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(
                live(Project),
                sa.or_(Project.enterprise_id == enterprise_id, Project.id.in_(partner)),
            )
            .order_by(Project.year.desc(), Project.id.desc())
        )
    )
