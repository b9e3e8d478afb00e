"""The rules of the targets counted from the registers of projects, branches and founded
firms: 新上省级以上科技项目 (`Project`), 引进高等院校和技术转移中心创办分支 (`Branch`) and
科技成果引进后直接创办企业 (`Enterprise.founded_on` with its founding achievements)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from crm.enterprises.models import Enterprise, enterprise_founding
from crm.extensions import db
from crm.institutions.models import Achievement, Branch, Institution
from crm.projects import stages as project_stages
from crm.projects.models import PROVINCIAL_OR_ABOVE, Project
from crm.targets.counting import Item, Rule, counting_rule, year_span


def _of_department(stmt: Any, department_id: int | None) -> Any:
    """The rows of one department's firms (the statement's `Enterprise`), or all of them."""
    if department_id is None:
        return stmt
    return stmt.where(Enterprise.department_id == department_id)


def provincial_projects() -> Rule:
    """新上省级以上科技项目: projects of the province or the state approved (立项) that year,
    counted for the lead firm's department."""

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        start, end = year_span(year)
        stmt = (
            sa.select(*columns)
            .select_from(Project)
            .join(Enterprise, Project.enterprise_id == Enterprise.id)
            .where(
                Project.deleted_at.is_(None),
                Enterprise.deleted_at.is_(None),
                Project.level.in_(PROVINCIAL_OR_ABOVE),
                Project.stage.in_(project_stages.APPROVED),  # 未立项 never was, whatever its dates
                Project.approved_on >= start,
                Project.approved_on < end,
            )
        )
        return _of_department(stmt, department_id)

    def row(r: Any) -> Item:
        number = f" · {r.number}" if r.number else ""
        detail = f"{r.name} · {r.level.label} · {r.stage.label}{number}"
        return Item("project", r.key, r.title, detail, r.approved_on)

    shows = (
        Project.title,
        Project.level,
        Project.stage,
        Project.number,
        Enterprise.name,
        Project.approved_on,
    )
    source = (
        "当年立项（立项日期在当年）的省级、国家级科技项目，按承担企业计入科室；"
        "立项后又终止的仍计为当年新上，未立项的不计"
    )
    return counting_rule(source, counted, Project.id, shows, row, (Project.approved_on, Project.id))


def institution_branches() -> Rule:
    """引进高等院校和技术转移中心创办分支: branches set up that year, counted for the host firm's
    department; one in a park (no host firm) counts for the bureau only."""

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        start, end = year_span(year)
        stmt = (
            sa.select(*columns)
            .select_from(Branch)
            .join(Institution, Branch.institution_id == Institution.id)
            # outer: a branch in a park has no firm, and its department is NULL
            .outerjoin(Enterprise, Branch.host_enterprise_id == Enterprise.id)
            .where(
                Branch.deleted_at.is_(None),
                Institution.deleted_at.is_(None),
                sa.or_(Branch.host_enterprise_id.is_(None), Enterprise.deleted_at.is_(None)),
                Branch.established_on >= start,
                Branch.established_on < end,
            )
        )
        return _of_department(stmt, department_id)

    def row(r: Any) -> Item:
        where = r.host or r.host_place or ""
        detail = f"{r.institution} · {r.kind.label} · {where}"
        return Item("branch", r.key, r.title, detail, r.established_on, r.institution_id)

    shows = (
        Branch.name.label("title"),
        Branch.kind,
        Branch.institution_id,
        Institution.name.label("institution"),
        Enterprise.name.label("host"),
        Branch.host_place,
        Branch.established_on,
    )
    source = (
        "当年设立（设立日期在当年）的院所分支机构、联合实验室、工作站和技术转移分中心，"
        "按所在企业计入科室；设在园区的只计入全局"
    )
    order = (Branch.established_on, Branch.id)
    return counting_rule(source, counted, Branch.id, shows, row, order)


def founded_on_achievements() -> Rule:
    """科技成果引进后直接创办企业: firms founded that year to exploit achievements (at least one
    not deleted), counted for the firm's department."""
    founding = (
        sa.select(enterprise_founding.c.enterprise_id)
        .join(Achievement, Achievement.id == enterprise_founding.c.achievement_id)
        .where(Achievement.deleted_at.is_(None))
    )

    def counted(year: int, department_id: int | None, *columns: Any) -> Any:
        start, end = year_span(year)
        stmt = (
            sa.select(*columns)
            .select_from(Enterprise)
            .where(
                Enterprise.deleted_at.is_(None),
                Enterprise.founded_on >= start,
                Enterprise.founded_on < end,
                Enterprise.id.in_(founding),
            )
        )
        return _of_department(stmt, department_id)

    def row(r: Any) -> Item:
        return Item("enterprise", r.key, r.name, "", r.founded_on)

    shows = (Enterprise.name, Enterprise.founded_on)
    order = (Enterprise.founded_on, Enterprise.name_sort, Enterprise.id)
    source = "当年成立（成立日期在当年）、登记了依托的科技成果的企业，按企业计入科室"
    rule = counting_rule(source, counted, Enterprise.id, shows, row, order)

    def items(year: int, department_id: int | None) -> list[Item]:
        """The firms, each with the achievements it was founded on."""
        firms = rule.items(year, department_id) if rule.items else []
        titles: dict[int, list[str]] = defaultdict(list)
        for enterprise_id, title in db.session.execute(
            sa.select(enterprise_founding.c.enterprise_id, Achievement.title)
            .join(Achievement, Achievement.id == enterprise_founding.c.achievement_id)
            .where(
                Achievement.deleted_at.is_(None),
                enterprise_founding.c.enterprise_id.in_([f.id for f in firms]),
            )
            .order_by(Achievement.title, Achievement.id)
        ):
            titles[enterprise_id].append(title)
        return [
            dataclasses.replace(f, detail="依托成果：" + "、".join(titles[f.id])) for f in firms
        ]

    return dataclasses.replace(rule, items=items)
