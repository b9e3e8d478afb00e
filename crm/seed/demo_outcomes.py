"""The demo county's outcomes, loaded after its firms, people and cooperation: programmes and
projects at every stage and level, institutions' branches, a firm founded on an introduced
achievement, and this year's cultivation pool — what the targets count besides cooperation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm.auth.models import Department, User
from crm.cooperation.models import Cooperation
from crm.cultivation.models import Candidate, CoachingStep, PoolStage, StepKind
from crm.enterprises.models import Enterprise, Industry, Recognition, RecognitionKind, Town
from crm.extensions import db
from crm.institutions.models import Achievement, Branch, BranchKind, Institution, Researcher
from crm.money import to_yuan
from crm.projects.models import (
    Level,
    Programme,
    Project,
    ProjectPartner,
    ProjectStage,
    ProjectStageChange,
)
from crm.seed.services import Loader, read_csv
from crm.visits.models import Task


def load_projects(loader: Loader, today: date, ago: Any) -> None:
    """Programmes with deadlines ahead, and projects at every stage and level."""
    for row in read_csv("demo/programmes.csv"):
        days = row["deadline_in_days"]
        loader.ensure(
            Programme,
            {"name": row["name"]},
            level=Level(row["level"]),
            department=row["department"] or None,
            deadline=today + timedelta(days=int(days)) if days else None,
            notes=row["notes"] or None,
        )
    for row in read_csv("demo/projects.csv"):
        history = [tuple(step.split(":")) for step in row["history"].split("|")]
        final = ProjectStage(history[-1][0])
        approved = [ago(days) for stage, days in history if stage == "approved"]
        programme = loader.need(Programme, name=row["programme"])
        enterprise = loader.need(Enterprise, name=row["enterprise"])
        project, created = loader.ensure(
            Project,
            {"title": row["title"], "enterprise_id": enterprise.id},
            programme=programme,
            level=programme.level,
            year=ago(history[0][1]).year,
            number=row["number"] or None,
            grant_amount=to_yuan(Decimal(row["grant_wan"])) if row["grant_wan"] else None,
            self_funding=to_yuan(Decimal(row["self_wan"])) if row["self_wan"] else None,
            applied_on=ago(history[0][1]),
            approved_on=approved[0] if approved else None,
            stage=final,
            stage_changed_on=ago(history[-1][1]),
            end_reason=row["end_reason"] or None,
            officer=loader.need(User, username=row["officer"]),
            cooperation=loader.find(Cooperation, title=row["cooperation"])
            if row["cooperation"]
            else None,
        )
        if not created:
            continue
        for name in filter(None, row["institutions"].split("|")):
            project.partners.append(ProjectPartner(institution=loader.need(Institution, name=name)))
        for name in filter(None, row["researchers"].split("|")):
            project.partners.append(ProjectPartner(researcher=loader.need(Researcher, name=name)))
        previous: ProjectStage | None = None
        for stage_code, days in history:
            stage = ProjectStage(stage_code)
            project.history.append(
                ProjectStageChange(from_stage=previous, to_stage=stage, changed_on=ago(days))
            )
            previous = stage
        if final == ProjectStage.APPLYING and programme.deadline and project.officer_id:
            loader.ensure(
                Task,
                {"title": f"准备“{programme.name}”申报材料：{project.title}"},
                assignee_id=project.officer_id,
                due_on=max(today, programme.deadline - timedelta(days=7)),
                enterprise=enterprise,
                project=project,
            )


def load_branches_and_founded_firms(loader: Loader, ago: Any) -> None:
    """Two institutions' branches in the county, and a firm founded on an introduced
    achievement."""
    for row in read_csv("demo/branches.csv"):
        loader.ensure(
            Branch,
            {"name": row["name"]},
            kind=BranchKind(row["kind"]),
            institution=loader.need(Institution, name=row["institution"]),
            host_enterprise=loader.find(Enterprise, name=row["host_enterprise"])
            if row["host_enterprise"]
            else None,
            host_place=row["host_place"] or None,
            established_on=ago(row["established_days_ago"]),
            cooperation=loader.find(Cooperation, title=row["cooperation"])
            if row["cooperation"]
            else None,
            officer=loader.need(User, username=row["officer"]),
            notes=row["notes"] or None,
        )
    for row in read_csv("demo/founded.csv"):
        firm, created = loader.ensure(
            Enterprise,
            {"name": row["name"]},
            town=loader.need(Town, name=row["town"]),
            main_products=row["main_products"] or None,
            owner=loader.need(User, username=row["owner"]),
            department=loader.need(Department, name=row["department"]),
            address=row["address"] or None,
            founded_on=ago(row["founded_days_ago"]),
        )
        if created:
            firm.industries = [loader.need(Industry, code=c) for c in row["industries"].split("|")]
            firm.founding_achievements = [
                loader.need(Achievement, title=t) for t in row["achievements"].split("|")
            ]


def load_pool(loader: Loader, today: date, ago: Any) -> None:
    """This year's cultivation pool: firms coached towards a recognition, at every stage."""
    for row in read_csv("demo/candidates.csv"):
        enterprise = loader.need(Enterprise, name=row["enterprise"])
        kind = RecognitionKind(row["kind"])
        steps = [tuple(step.split(":")) for step in row["steps"].split("|") if step]
        candidate, created = loader.ensure(
            Candidate,
            {"enterprise_id": enterprise.id, "kind": kind, "year": today.year},
            officer=loader.need(User, username=row["officer"]),
            stage=PoolStage(steps[-1][0]) if steps else PoolStage.POOLED,
            stage_changed_on=ago(steps[-1][1]) if steps else today,
        )
        if not created:
            continue
        for code, days in steps:
            step = CoachingStep(kind=StepKind(code), done_on=ago(days), by=candidate.officer)
            if code == "failed":
                step.note = "专家评审未通过：研发投入占比不足"
            candidate.steps.append(step)
        if candidate.stage == PoolStage.GRANTED:
            candidate.recognition = db.session.scalars(
                sa.select(Recognition).where(
                    Recognition.enterprise_id == enterprise.id, Recognition.kind == kind
                )
            ).first()
