"""The record kinds under /api/v1/: for each, what it shows (crm/api/shown.py), the filters
its list takes and how it is written (crm/api/kinds.py) — one table (`RESOURCES`) the views and
the OpenAPI document are both built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.api import kinds, writes
from crm.api.fields import Field, enum_field
from crm.api.shown import COMMON, DATE, SHOWN, shown
from crm.auth.models import User
from crm.cooperation.models import Cooperation, CooperationType, Stage
from crm.enterprises.models import Enterprise, Industry, Town
from crm.institutions.models import Achievement, Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus
from crm.projects.models import (
    Level,
    Programme,
    Project,
    ProjectPartner,
    ProjectStage,
    ProjectStageChange,
)
from crm.visits.models import Visit

# ---- list filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A query parameter of a list: its type, and the condition it adds."""

    field: Field
    where: Callable[[Any], Any]  # value → SQL condition
    doc: str = ""


def _contains(*columns: Any) -> Callable[[str], Any]:
    def where(value: str) -> Any:
        pattern = (
            "%" + value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        return sa.or_(*(c.ilike(pattern, escape="\\") for c in columns))

    return where


Q = Field("string", max_length=100)
ID_PARAM = Field("integer")


def _equals(column: Any) -> Callable[[Any], Any]:
    return lambda value: column == value


FILTERS: dict[str, dict[str, Filter]] = {
    "enterprises": {
        "q": Filter(Q, _contains(Enterprise.name), "名称包含"),
        "uscc": Filter(Field("string", max_length=18), _equals(Enterprise.uscc)),
        "town": Filter(
            Field("string", max_length=40),
            lambda v: Enterprise.town.has(Town.name == v),
            "乡镇街道名称",
        ),
        "industry": Filter(
            Field("string", max_length=40),
            lambda v: Enterprise.industries.any(Industry.name == v),
            "产业名称",
        ),
        "owner": Filter(
            Field("string", max_length=64),
            lambda v: Enterprise.owner.has(User.username == v),
            "负责联络员的用户名",
        ),
    },
    "institutions": {
        "q": Filter(Q, _contains(Institution.name), "名称包含"),
        "kind": Filter(enum_field(InstitutionKind), _equals(Institution.kind)),
    },
    "researchers": {
        "q": Filter(
            Q, _contains(Researcher.name, Researcher.research_directions), "姓名或研究方向包含"
        ),
        "institution_id": Filter(ID_PARAM, _equals(Researcher.institution_id)),
    },
    "needs": {
        "q": Filter(Q, _contains(Need.title, Need.description), "名称或描述包含"),
        "enterprise_id": Filter(ID_PARAM, _equals(Need.enterprise_id)),
        "status": Filter(enum_field(NeedStatus), _equals(Need.status)),
    },
    "achievements": {
        "q": Filter(Q, _contains(Achievement.title, Achievement.description), "名称或简介包含"),
        "institution_id": Filter(ID_PARAM, _equals(Achievement.institution_id)),
        "researcher_id": Filter(ID_PARAM, _equals(Achievement.researcher_id)),
    },
    "visits": {
        "enterprise_id": Filter(ID_PARAM, _equals(Visit.enterprise_id)),
        "visited_from": Filter(DATE, lambda v: Visit.visited_on >= v, "走访日期不早于"),
        "visited_to": Filter(DATE, lambda v: Visit.visited_on <= v, "走访日期不晚于"),
    },
    "suggestions": {
        "need_id": Filter(ID_PARAM, _equals(Suggestion.need_id)),
        "status": Filter(enum_field(SuggestionStatus), _equals(Suggestion.status)),
    },
    "cooperation": {
        "enterprise_id": Filter(ID_PARAM, _equals(Cooperation.enterprise_id)),
        "stage": Filter(enum_field(Stage), _equals(Cooperation.stage)),
        "type": Filter(enum_field(CooperationType), _equals(Cooperation.type)),
        "institution_id": Filter(ID_PARAM, _equals(Cooperation.institution_id)),
    },
    "programmes": {
        "q": Filter(Q, _contains(Programme.name), "名称包含"),
        "level": Filter(enum_field(Level), _equals(Programme.level)),
        "active": Filter(Field("boolean"), _equals(Programme.active), "是否在用"),
    },
    "projects": {
        "q": Filter(Q, _contains(Project.title, Project.number), "名称或项目编号包含"),
        "enterprise_id": Filter(ID_PARAM, _equals(Project.enterprise_id), "承担企业"),
        "programme_id": Filter(ID_PARAM, _equals(Project.programme_id)),
        "level": Filter(enum_field(Level), _equals(Project.level)),
        "stage": Filter(enum_field(ProjectStage), _equals(Project.stage)),
        "year": Filter(Field("integer"), _equals(Project.year), "申报年度"),
        "officer_id": Filter(ID_PARAM, _equals(Project.officer_id), "负责的联络员"),
    },
}


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A record kind under /api/v1/<name>."""

    name: str
    label: str  # what the docs page calls it
    model: Any
    loads: tuple[Any, ...] = ()
    missing: str = "没有这条记录。"
    writes: writes.Writes | None = None  # None: read-only (suggestions are decided, not edited)

    def shown(self, record: Any) -> dict[str, Any]:
        return shown(self.name, record)

    @property
    def filters(self) -> dict[str, Filter]:
        return FILTERS[self.name]

    @property
    def fields(self) -> dict[str, Field]:
        return {
            "id": COMMON["id"],
            **SHOWN[self.name],
            **{k: v for k, v in COMMON.items() if k != "id"},
        }


RESOURCES = {
    r.name: r
    for r in (
        Resource(
            "enterprises",
            "企业",
            Enterprise,
            (
                selectinload(Enterprise.town),
                selectinload(Enterprise.industries),
                selectinload(Enterprise.owner),
                selectinload(Enterprise.department),
            ),
            "没有这家企业。",
            kinds.ENTERPRISES,
        ),
        Resource(
            "institutions",
            "高校院所",
            Institution,
            (selectinload(Institution.aliases),),
            "没有这个高校院所。",
            kinds.INSTITUTIONS,
        ),
        Resource(
            "researchers",
            "专家",
            Researcher,
            (selectinload(Researcher.institution),),
            "没有这位专家。",
            kinds.RESEARCHERS,
        ),
        Resource("needs", "技术需求", Need, (), "没有这条需求。", kinds.NEEDS),
        Resource(
            "achievements",
            "科技成果",
            Achievement,
            (),
            "没有这项成果。",
            kinds.ACHIEVEMENTS,
        ),
        Resource(
            "visits",
            "走访",
            Visit,
            (selectinload(Visit.officer),),
            "没有这次走访。",
            kinds.VISITS,
        ),
        Resource("suggestions", "匹配推荐", Suggestion, (), "没有这条推荐。"),
        Resource(
            "cooperation",
            "合作",
            Cooperation,
            (selectinload(Cooperation.officer),),
            "没有这条合作记录。",
            kinds.COOPERATION,
        ),
        Resource("programmes", "科技计划", Programme, (), "没有这个科技计划。"),
        Resource(
            "projects",
            "科技项目",
            Project,
            (
                selectinload(Project.enterprise),
                selectinload(Project.programme),
                selectinload(Project.officer),
                selectinload(Project.partners).selectinload(ProjectPartner.institution),
                selectinload(Project.partners).selectinload(ProjectPartner.researcher),
                selectinload(Project.partners).selectinload(ProjectPartner.enterprise),
                selectinload(Project.history).selectinload(ProjectStageChange.changed_by),
            ),
            "没有这个科技项目。",
            kinds.PROJECTS,
        ),
    )
}
