"""How each record kind is written through the API (`Writes`): its writable fields, the ones
required and the ones fixed once created, and how a body reaches the web's own service for that
kind — the same checks, audit trail and optimistic lock as a page's form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from crm.api.fields import Field, column_field, enum_field, fields_for
from crm.api.writes import Writes
from crm.auth.models import User
from crm.clock import local_today
from crm.cooperation import services as cooperation
from crm.cooperation.models import Cooperation, CooperationType
from crm.enterprises import services as enterprises
from crm.enterprises.models import Enterprise, Industry, Town
from crm.errors import NotFound, ValidationError
from crm.extensions import db
from crm.institutions import services as institutions
from crm.institutions.models import Achievement, Institution, Researcher
from crm.keep import KEEP
from crm.needs import services as needs
from crm.needs.models import Need, NeedStatus
from crm.projects import services as projects
from crm.projects.models import Level, Project
from crm.queries import get_live
from crm.records import data_from
from crm.visits import services as visits
from crm.visits.models import Visit

ID = Field("integer")
REQUIRED_ID = Field("integer", nullable=False)


def _live(model: Any, record_id: int | None, field: str, what: str) -> Any:
    """A record a body refers to: a missing one is the body's fault (422), not the URL's (404)."""
    if record_id is None:
        return None
    try:
        return get_live(model, record_id)
    except NotFound:
        raise ValidationError(f"没有编号为 {record_id} 的{what}。", field=field) from None


# ---- enterprises -------------------------------------------------------------------------------


def _enterprise_data(values: dict[str, Any]) -> enterprises.EnterpriseData:
    town_id = None
    if values.get("town"):
        town_id = db.session.scalar(sa.select(Town.id).where(Town.name == values["town"]))
        if town_id is None:
            raise ValidationError(f"没有名为“{values['town']}”的乡镇街道。", field="town")
    names = values.get("industries") or []
    found = {
        name: id_
        for name, id_ in db.session.execute(
            sa.select(Industry.name, Industry.id).where(Industry.name.in_(names))
        )
    }
    if unknown := [n for n in names if n not in found]:
        raise ValidationError(f"没有名为“{unknown[0]}”的产业。", field="industries")
    return enterprises.EnterpriseData(
        name=values["name"],
        uscc=values.get("uscc"),
        town_id=town_id,
        industry_ids=[found[n] for n in names],
        address=values.get("address"),
        main_products=values.get("main_products"),
        is_above_scale=bool(values.get("is_above_scale")),
        notes=values.get("notes"),
        founded_on=values.get("founded_on"),
        owner_id=KEEP,  # not written through the API: a PATCH must not clear them
        department_id=KEEP,
    )


ENTERPRISES = Writes(
    fields={
        "name": column_field(Enterprise, "name", nullable=False),
        "uscc": Field(
            "string",
            max_length=40,  # as the web form: spaces and groups are read away
            doc="统一社会信用代码（18 位，可带空格或全角，校验位会被核对）",
        ),
        "town": Field("string", max_length=40, doc="乡镇街道名称，例如“三江街道”"),
        "industries": Field(
            "strings", nullable=False, max_length=40, doc="产业名称列表", max_items=20
        ),
        "main_products": column_field(Enterprise, "main_products"),
        "address": column_field(Enterprise, "address"),
        "is_above_scale": Field("boolean", nullable=False, doc="规上企业"),
        "notes": column_field(Enterprise, "notes"),
        "founded_on": Field("date", doc="成立日期，不能晚于今天"),
    },
    required=("name",),
    create=lambda user, v: enterprises.create_enterprise(user, _enterprise_data(v)),
    update=lambda user, e, v, version: enterprises.update_enterprise(
        user, e, _enterprise_data(v), version
    ),
    trash="enterprise",
)


# ---- institutions, researchers, achievements ---------------------------------------------------


def _institution_data(v: dict[str, Any]) -> institutions.InstitutionData:
    return data_from(institutions.InstitutionData, v, aliases=v.get("aliases") or [])


def _researcher_data(v: dict[str, Any]) -> institutions.ResearcherData:
    return data_from(institutions.ResearcherData, v)


def _achievement_data(v: dict[str, Any]) -> institutions.AchievementData:
    return data_from(institutions.AchievementData, v)


INSTITUTIONS = Writes(
    fields=fields_for(
        institutions.InstitutionData,
        Institution,
        website=column_field(Institution, "website", doc="http:// 或 https:// 开头"),
        aliases=Field("strings", nullable=False, max_length=120, doc="别名，例如“港理工”"),
    ),
    required=("name", "kind"),
    create=lambda user, v: institutions.save_institution(user, _institution_data(v)),
    update=lambda user, i, v, version: institutions.save_institution(
        user, _institution_data(v), i, version
    ),
    trash="institution",
)


RESEARCHERS = Writes(
    fields=fields_for(
        institutions.ResearcherData,
        Researcher,
        title=column_field(Researcher, "title", doc="职称：教授、研究员……"),
    ),
    required=("name",),
    create=lambda user, v: institutions.save_researcher(user, _researcher_data(v)),
    update=lambda user, r, v, version: institutions.save_researcher(
        user, _researcher_data(v), r, version
    ),
    trash="researcher",
)


ACHIEVEMENTS = Writes(
    fields=fields_for(institutions.AchievementData, Achievement),
    required=("title",),
    create=lambda user, v: institutions.save_achievement(user, _achievement_data(v)),
    update=lambda user, a, v, version: institutions.save_achievement(
        user, _achievement_data(v), a, version
    ),
    trash="achievement",
)


# ---- needs and visits --------------------------------------------------------------------------


def _enterprise(v: dict[str, Any]) -> Enterprise:
    return _live(Enterprise, v["enterprise_id"], "enterprise_id", "企业")


def _need_data(v: dict[str, Any]) -> needs.NeedData:
    return data_from(needs.NeedData, v, status=NeedStatus(v.get("status") or NeedStatus.OPEN.value))


NEEDS = Writes(
    fields={
        "enterprise_id": REQUIRED_ID,
        "title": column_field(Need, "title", nullable=False),
        "description": column_field(Need, "description"),
        "budget": Field("money", doc="预算，元"),
        "status": enum_field(NeedStatus, nullable=False),
    },
    required=("enterprise_id", "title"),
    create=lambda user, v: needs.create_need(user, _enterprise(v), _need_data(v)),
    update=lambda user, n, v, version: needs.update_need(user, n, _need_data(v), version),
    create_only=("enterprise_id",),
    trash="need",
)


def _log_visit(user: User, v: dict[str, Any]) -> Visit:
    enterprise = _enterprise(v)
    data = visits.VisitData(
        visited_on=v["visited_on"],
        notes=v.get("notes"),
        next_step=v.get("next_steps"),
        next_due=v.get("next_due"),
    )
    return visits.log_visit(user, enterprise, data, local_today())


VISITS = Writes(
    fields={
        "enterprise_id": REQUIRED_ID,
        "visited_on": Field("date", nullable=False),
        "notes": column_field(Visit, "notes"),
        "next_steps": column_field(Visit, "next_steps", doc="下一步：记为本人的待办"),
        "next_due": Field("date", doc="待办期限，默认一周后"),
    },
    required=("enterprise_id", "visited_on"),
    create=_log_visit,
    update=lambda user, visit, v, version: visits.update_visit(
        user, visit, v["visited_on"], v.get("notes"), local_today(), version
    ),
    create_only=("enterprise_id", "next_steps", "next_due"),
    trash="visit",
)


# ---- cooperation -------------------------------------------------------------------------------


def _details(v: dict[str, Any]) -> cooperation.Details:
    return cooperation.Details(
        title=v["title"],
        type=CooperationType(v["type"]),
        institution_id=v.get("institution_id"),
        researcher_name=None,
        researcher_id=v.get("researcher_id"),
        amount=v.get("amount"),
        contract_no=v.get("contract_no"),
        notes=v.get("notes"),
    )


COOPERATION = Writes(
    fields={
        "enterprise_id": REQUIRED_ID,
        "title": column_field(Cooperation, "title", nullable=False),
        "type": enum_field(CooperationType, nullable=False),
        "institution_id": ID,
        "researcher_id": ID,
        "amount": Field("money", doc="合同金额，元"),
        "contract_no": column_field(Cooperation, "contract_no", doc="技术合同登记号"),
        "notes": column_field(Cooperation, "notes"),
    },
    required=("enterprise_id", "title", "type"),
    create=lambda user, v: cooperation.create(user, _enterprise(v), _details(v)),
    update=lambda user, c, v, version: cooperation.update(user, c, _details(v), version),
    create_only=("enterprise_id",),
)


# ---- projects ----------------------------------------------------------------------------------

#: a project's partners as the API writes them: ids, each list whole (the web's names are not
#: taken here: an id says which of two researchers of the same name is meant)
PARTNERS = {
    "partner_institution_ids": ("institution_id", "合作高校院所的编号列表"),
    "partner_researcher_ids": ("researcher_id", "合作专家的编号列表"),
    "partner_enterprise_ids": ("enterprise_id", "合作企业的编号列表（承担单位除外）"),
}


def _project_data(v: dict[str, Any], project: Project | None = None) -> projects.ProjectData:
    """The body as the service's input. A partner list that is the project's own (a PATCH that
    did not send it) is left as it is, not checked again: a partner deleted since stays."""
    # the officer in charge is checked by the service (`projects.services.problems`)
    given: dict[str, Any] = {}
    for name, (column, _) in PARTNERS.items():
        if project is None:
            continue
        if v.get(name) == [getattr(p, column) for p in project.partners if getattr(p, column)]:
            given[name] = None
    return data_from(projects.ProjectData, v, **given)


#: the web form's names for what the API takes as id lists (the service names its errors so)
AS_SENT = {
    "partner_researchers": "partner_researcher_ids",
    "partner_enterprises": "partner_enterprise_ids",
}


def _as_sent(change: Callable[[], Project]) -> Project:
    """A refusal names the field as the client sent it."""
    try:
        return change()
    except ValidationError as exc:
        if exc.field in AS_SENT:
            raise ValidationError(exc.message, field=AS_SENT[exc.field]) from exc
        raise


def _create_project(user: User, v: dict[str, Any]) -> Project:
    return _as_sent(lambda: projects.create(user, _enterprise(v), _project_data(v)))


def _update_project(user: User, project: Project, v: dict[str, Any], version: int) -> Project:
    return _as_sent(lambda: projects.update(user, project, _project_data(v, project), version))


PROJECTS = Writes(
    fields={
        "enterprise_id": Field("integer", nullable=False, doc="承担单位（企业）"),
        "title": column_field(Project, "title", nullable=False),
        "programme_id": Field("integer", nullable=False, doc="科技计划（GET /api/v1/programmes）"),
        "level": enum_field(Level, doc="级别，默认为科技计划的级别"),
        "year": Field("integer", doc="申报年度，默认今年"),
        "number": column_field(Project, "number", doc="项目编号（唯一）"),
        "grant_amount": Field("money", doc="财政资助，元"),
        "self_funding": Field("money", doc="自筹经费，元"),
        "applied_on": Field("date", doc="申报日期"),
        "starts_on": Field("date", doc="实施期开始"),
        "ends_on": Field("date", doc="实施期结束"),
        "officer_id": Field("integer", doc="负责的联络员，默认为本人"),
        "cooperation_id": ID,
        "suggestion_id": ID,
        "notes": column_field(Project, "notes"),
        **{
            name: Field("ids", nullable=False, max_items=20, doc=doc)
            for name, (_, doc) in PARTNERS.items()
        },
    },
    required=("enterprise_id", "title", "programme_id"),
    create=_create_project,
    update=_update_project,
    create_only=("enterprise_id",),
    trash="project",
)
