"""A project's partners (合作单位) as an officer writes them: institutions by id, researchers and
firms by id (the API) or by name (the web form: one per line or separated by 、), each resolved
against the libraries. What the project already has is kept as it is, even if deleted or
renamed in the library since; a list left out (None) leaves that kind of partner alone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from crm.enterprises.models import Enterprise
from crm.errors import ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, Researcher
from crm.projects.models import Project, ProjectPartner
from crm.queries import reference

if TYPE_CHECKING:
    from crm.projects.services import ProjectData

NAME_SEPARATORS = re.compile(r"[\n、，,;；]+")


def problems(data: ProjectData, project: Project | None) -> list[ValidationError]:
    """What is wrong with each kind of partner the data names (one error per kind)."""
    found = []
    for check in (_institution_ids, _researcher_ids, _enterprise_ids):
        try:
            check(data, project)
        except ValidationError as exc:
            found.append(exc)
    return found


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in NAME_SEPARATORS.split(text or "") if n.strip()]


def _kept(project: Project | None, column: str) -> dict[str, int]:
    """The partners of this kind the project already has, by name: a save keeps them as they
    are, even if deleted or renamed in the library since (as `queries.reference` does)."""
    if project is None:
        return {}
    found = {}
    for partner in project.partners:
        record = getattr(partner, column.removesuffix("_id"))
        if record is not None:
            found[record.name] = record.id
    return found


def _researcher_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_researcher_ids is None and data.partner_researchers is None:
        return None
    kept = _kept(project, "researcher_id")
    ids = list(data.partner_researcher_ids or [])
    for name in _names(data.partner_researchers):
        if name in kept:
            ids.append(kept[name])
            continue
        found = list(
            db.session.scalars(
                sa.select(Researcher.id)
                .where(Researcher.name == name, Researcher.deleted_at.is_(None))
                .limit(2)
            )
        )
        if not found:
            raise ValidationError(f"专家库里没有“{name}”。", field="partner_researchers")
        if len(found) > 1:
            raise ValidationError(
                f"专家库里有多位“{name}”，请在专家页面核对后再填写。", field="partner_researchers"
            )
        ids.append(found[0])
    return _checked(ids, Researcher, set(kept.values()), "partner_researchers", "专家")


def _enterprise_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_enterprise_ids is None and data.partner_enterprises is None:
        return None
    kept = _kept(project, "enterprise_id")
    ids = list(data.partner_enterprise_ids or [])
    for name in _names(data.partner_enterprises):
        firm = kept.get(name) or db.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.name == name, Enterprise.deleted_at.is_(None))
        )
        if firm is None:
            raise ValidationError(
                f"企业库里没有“{name}”，请写企业全称或先登记该企业。", field="partner_enterprises"
            )
        ids.append(firm)
    lead = project.enterprise_id if project is not None else None
    ids = [i for i in ids if i != lead]
    return _checked(ids, Enterprise, set(kept.values()), "partner_enterprises", "企业")


def _institution_ids(data: ProjectData, project: Project | None) -> list[int] | None:
    if data.partner_institution_ids is None:
        return None
    kept = set(_kept(project, "institution_id").values())
    return _checked(
        list(data.partner_institution_ids), Institution, kept, "partner_institution_ids", "高校院所"
    )


def _checked(ids: list[int], model: Any, kept: set[int], field: str, what: str) -> list[int]:
    """The ids once each; a new one must be a live record, one the project has is kept."""
    for record_id in ids:
        if record_id not in kept:
            reference(model, record_id, None, field=field, what=what)
    return list(dict.fromkeys(ids))


def set_partners(project: Project, data: ProjectData) -> None:
    wanted: dict[str, list[int] | None] = {
        "institution_id": _institution_ids(data, project),
        "researcher_id": _researcher_ids(data, project),
        "enterprise_id": _enterprise_ids(data, project),
    }
    for column, ids in wanted.items():
        if ids is None:
            continue
        have = {getattr(p, column): p for p in project.partners if getattr(p, column) is not None}
        for gone in set(have) - set(ids):
            project.partners.remove(have[gone])
        for new in ids:
            if new not in have:
                project.partners.append(ProjectPartner(**{column: new}))
