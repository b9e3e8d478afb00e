"""Institutions (with aliases), researchers and achievements: shared records any officer keeps.

Edits carry the version they were made on; a newer version raises Conflict.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionAlias,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.keep import KEEP
from crm.projects.models import Project
from crm.queries import reference
from crm.search.names import named

logger = logging.getLogger(__name__)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _required(value: str | None, field: str, message: str) -> str:
    text = _text(value)
    if text is None:
        raise ValidationError(message, field=field)
    return text


def _check_version(record: Any, expected: int | None) -> None:
    if expected is not None and record.version != expected:
        raise Conflict()


def _authorize(user: User) -> None:
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以修改。")


# ---- institutions ------------------------------------------------------------------------------


@dataclass
class InstitutionData:
    name: str
    kind: InstitutionKind
    region: str | None = None
    description: str | None = None
    website: str | None = None
    aliases: list[str] = field(default_factory=list)


def parse_aliases(text: str | None) -> list[str]:
    """One alias a line, or separated by commas (中文 or ASCII) / 、."""
    parts = re.split(r"[\n,，、;；]+", text or "")
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def save_institution(
    user: User, data: InstitutionData, inst: Institution | None = None, version: int | None = None
) -> Institution:
    """Create (inst=None) or update an institution and its aliases."""
    _authorize(user)
    name = _required(data.name, "name", "请输入单位名称。")
    website = _text(data.website)
    if website and not _URL.match(website):
        raise ValidationError("网址只能以 http:// 或 https:// 开头。", field="website")
    clash = db.session.scalar(
        sa.select(Institution).where(
            Institution.name == name, Institution.id != (inst.id if inst else 0)
        )
    )
    if clash is not None:
        raise ValidationError(f"单位“{name}”已存在。", field="name")
    aliases = [a for a in data.aliases if a != name]
    taken = db.session.scalars(
        sa.select(InstitutionAlias).where(
            InstitutionAlias.alias.in_(aliases),
            InstitutionAlias.institution_id != (inst.id if inst else 0),
        )
    ).all()
    if taken:
        raise ValidationError(f"别名“{taken[0].alias}”已属于其他单位。", field="aliases")
    if inst is None:
        inst = Institution()
        db.session.add(inst)
    else:
        _check_version(inst, version)
    inst.name, inst.kind = name, InstitutionKind(data.kind)
    inst.region, inst.description, inst.website = (
        _text(data.region),
        _text(data.description),
        website,
    )
    current = {a.alias: a for a in inst.aliases}
    inst.aliases = [current.get(a) or InstitutionAlias(alias=a) for a in aliases]
    db.session.flush()
    logger.info("Institution %r saved by %s", inst, user.username)
    return inst


def institution_list(q: str | None, kind: str | None) -> sa.Select[tuple[Institution]]:
    stmt = (
        sa.select(Institution)
        .where(Institution.deleted_at.is_(None))
        .options(selectinload(Institution.aliases))
        .order_by(Institution.name_sort, Institution.name)
    )
    if kind in {k.value for k in InstitutionKind}:
        stmt = stmt.where(Institution.kind == InstitutionKind(kind))
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Institution.name.ilike(pattern),
                Institution.aliases.any(InstitutionAlias.alias.ilike(pattern)),
                Institution.id.in_(named("institution", q)),
            )
        )
    return stmt


def institutions() -> list[Institution]:
    return list(
        db.session.scalars(
            sa.select(Institution)
            .where(Institution.deleted_at.is_(None))
            .order_by(Institution.name_sort, Institution.name)
        )
    )


# ---- researchers -------------------------------------------------------------------------------


@dataclass
class ResearcherData:
    name: str
    institution_id: int | None = None
    title: str | None = None
    research_directions: str | None = None
    bio: str | None = None
    team: str | None = None


def save_researcher(
    user: User, data: ResearcherData, person: Researcher | None = None, version: int | None = None
) -> Researcher:
    _authorize(user)
    name = _required(data.name, "name", "请输入姓名。")
    institution_id = reference(
        Institution,
        data.institution_id,
        person.institution_id if person else None,
        field="institution_id",
        what="单位",
    )
    if person is None:
        person = Researcher()
        db.session.add(person)
    else:
        _check_version(person, version)
    person.name, person.institution_id = name, institution_id
    person.title, person.team = _text(data.title), _text(data.team)
    person.research_directions, person.bio = _text(data.research_directions), _text(data.bio)
    db.session.flush()
    logger.info("Researcher %r saved by %s", person, user.username)
    return person


def researcher_list(q: str | None, institution_id: int | None) -> sa.Select[tuple[Researcher]]:
    stmt = (
        sa.select(Researcher)
        .where(Researcher.deleted_at.is_(None))
        .options(selectinload(Researcher.institution))
        .order_by(Researcher.name_sort, Researcher.name, Researcher.id)
    )
    if institution_id:
        stmt = stmt.where(Researcher.institution_id == institution_id)
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Researcher.name.ilike(pattern),
                Researcher.research_directions.ilike(pattern),
                Researcher.id.in_(named("researcher", q)),
            )
        )
    return stmt


# ---- achievements ------------------------------------------------------------------------------


@dataclass
class AchievementData:
    title: str
    institution_id: int | None = None
    researcher_id: int | None = None
    maturity: Maturity | None = None
    transfer_mode: TransferMode | None = None
    description: str | None = None
    project_id: int | None = KEEP  # the 科技项目 that produced it; KEEP leaves it as it is


def save_achievement(
    user: User, data: AchievementData, item: Achievement | None = None, version: int | None = None
) -> Achievement:
    _authorize(user)
    title = _required(data.title, "title", "请输入成果名称。")
    institution_id = reference(
        Institution,
        data.institution_id,
        item.institution_id if item else None,
        field="institution_id",
        what="完成单位",
    )
    researcher_id = reference(
        Researcher,
        data.researcher_id,
        item.researcher_id if item else None,
        field="researcher_id",
        what="完成人",
    )
    if item is None:
        item = Achievement()
        db.session.add(item)
    else:
        _check_version(item, version)
    item.title, item.description = title, _text(data.description)
    item.institution_id, item.researcher_id = institution_id, researcher_id
    item.maturity, item.transfer_mode = data.maturity, data.transfer_mode
    if data.project_id is not KEEP:
        item.project_id = reference(
            Project, data.project_id, item.project_id, field="project_id", what="科技项目"
        )
    db.session.flush()
    logger.info("Achievement %r saved by %s", item, user.username)
    return item


def achievement_list(q: str | None) -> sa.Select[tuple[Achievement]]:
    stmt = (
        sa.select(Achievement)
        .where(Achievement.deleted_at.is_(None))
        .options(selectinload(Achievement.institution))
        .order_by(Achievement.title, Achievement.id)
    )
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            sa.or_(Achievement.title.ilike(pattern), Achievement.description.ilike(pattern))
        )
    return stmt
