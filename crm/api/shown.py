"""What the API shows of each record kind, declared once (`SHOWN`): the declaration writes a
record as JSON (`shown`) and makes the OpenAPI document's response schemas, so the two cannot
differ."""

from __future__ import annotations

from typing import Any

from flask import url_for

from crm.api.fields import Field, enum_field, stamp
from crm.cooperation.models import CooperationType, Origin, Stage
from crm.institutions.models import (
    InstitutionKind,
    Maturity,
    TransferMode,
)
from crm.matching.models import SuggestionStatus
from crm.needs.models import NeedStatus
from crm.projects.models import Level, ProjectStage
from crm.queries import is_gone
from crm.sheets.columns import name_of


def _common(record: Any) -> dict[str, Any]:
    return {
        "version": record.version,
        "created_at": stamp(record.created_at) if record.created_at else None,
        "updated_at": stamp(record.updated_at) if record.updated_at else None,
        "deleted": is_gone(record),  # or gone with what it belongs to (a deleted firm)
    }


def shown(kind: str, record: Any) -> dict[str, Any]:
    """A record as the API shows it: its id, the fields `SHOWN` declares, its version and
    times."""
    fields = SHOWN[kind]
    return {
        "id": record.id,
        **{n: f.shown(record, n) for n, f in fields.items()},
        **_common(record),
    }


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


# ---- what each kind shows (the response schemas) -----------------------------------------------

TEXT = Field("text")
NAME = Field("string", nullable=False)
ID = Field("integer", nullable=False)
REF = Field("integer")
DATE = Field("date")
STAMP = Field("datetime")
MONEY = Field("money")
COMMON = {
    "id": ID,
    "version": Field("integer", nullable=False, doc='版本号；ETag 为 "<id>.<version>"'),
    "created_at": STAMP,
    "updated_at": STAMP,
    "deleted": Field("boolean", nullable=False, doc="已删除（只在 updated_since 同步中出现）"),
}


def _user(attribute: str) -> Field:
    return Field("string", doc="用户名", read=lambda r: _username(getattr(r, attribute)))


def _partner_ids(column: str) -> Field:
    return Field(
        "ids",
        nullable=False,
        read=lambda p: [getattr(x, column) for x in p.partners if getattr(x, column)],
    )


def _link(endpoint: str, column: str, nullable: bool = False) -> Field:
    """The API address of a record this one refers to (as a Location header gives it)."""

    def read(record: Any) -> str | None:
        record_id = getattr(record, column)
        return url_for(f"api.{endpoint}", record_id=record_id) if record_id else None

    return Field("string", nullable=nullable, read=read)


PARTNER = (
    ("institution_id", REF),
    ("researcher_id", REF),
    ("enterprise_id", REF),
    ("name", Field("string", nullable=False, doc="合作单位或专家的名称")),
)
STAGE_CHANGE = (
    ("from_stage", enum_field(ProjectStage)),
    ("to_stage", enum_field(ProjectStage, nullable=False)),
    ("changed_on", Field("date", nullable=False)),
    ("changed_at", STAMP),
    ("changed_by", _user("changed_by")),
    ("note", TEXT),
)
PROJECT_LINKS = (
    ("enterprise", _link("enterprises_one", "enterprise_id")),
    ("programme", _link("programmes_one", "programme_id")),
    ("cooperation", _link("cooperation_one", "cooperation_id", nullable=True)),
)


SHOWN: dict[str, dict[str, Field]] = {
    "enterprises": {
        "name": NAME,
        "uscc": TEXT,
        "town": Field("text", read=lambda e: name_of(e.town)),
        "industries": Field(
            "strings", nullable=False, read=lambda e: [i.name for i in e.industries]
        ),
        "main_products": TEXT,
        "address": TEXT,
        "is_above_scale": Field("boolean", nullable=False),
        "owner": _user("owner"),
        "department": Field("text", read=lambda e: name_of(e.department)),
        "notes": TEXT,
        "founded_on": Field("date", doc="成立日期"),
    },
    "institutions": {
        "name": NAME,
        "kind": enum_field(InstitutionKind, nullable=False),
        "region": TEXT,
        "description": TEXT,
        "website": TEXT,
        "aliases": Field("strings", nullable=False, read=lambda i: [a.alias for a in i.aliases]),
    },
    "researchers": {
        "name": NAME,
        "institution_id": REF,
        "institution": Field("text", read=lambda r: name_of(r.institution)),
        "title": TEXT,
        "research_directions": TEXT,
        "bio": TEXT,
        "team": TEXT,
    },
    "needs": {
        "enterprise_id": ID,
        "title": NAME,
        "description": TEXT,
        "budget": MONEY,
        "status": enum_field(NeedStatus, nullable=False),
        "visit_id": REF,
    },
    "achievements": {
        "title": NAME,
        "description": TEXT,
        "institution_id": REF,
        "researcher_id": REF,
        "maturity": enum_field(Maturity),
        "transfer_mode": enum_field(TransferMode),
        "project_id": REF,  # the 科技项目 that produced it
    },
    "visits": {
        "enterprise_id": ID,
        "officer": _user("officer"),
        "visited_on": Field("date", nullable=False),
        "notes": TEXT,
        "next_steps": TEXT,
    },
    "suggestions": {
        "need_id": ID,
        "researcher_id": REF,
        "achievement_id": REF,
        "institution_id": REF,
        "score": Field("number", nullable=False, read=lambda s: round(s.score, 4)),
        "matched_terms": Field("json", doc="命中的词及其权重"),
        "adjustments": Field("json", doc="加减分及原因"),
        "status": enum_field(SuggestionStatus, nullable=False),
        "reject_reason": TEXT,
        "reject_note": TEXT,
        "decided_at": STAMP,
    },
    "cooperation": {
        "title": NAME,
        "enterprise_id": ID,
        "institution_id": REF,
        "researcher_id": REF,
        "type": enum_field(CooperationType, nullable=False),
        "amount": MONEY,
        "stage": enum_field(Stage, nullable=False),
        "stage_changed_on": DATE,
        "signed_on": DATE,
        "parties": TEXT,
        "contract_no": TEXT,
        "termination_reason": TEXT,
        "notes": TEXT,
        "officer": _user("officer"),
        "origin": enum_field(Origin),
        "suggestion_id": REF,
        "achievement_id": REF,
    },
    "programmes": {
        "name": NAME,
        "level": enum_field(Level, nullable=False),
        "department": Field("text", doc="主管部门"),
        "deadline": Field("date", doc="本轮申报截止日期"),
        "active": Field("boolean", nullable=False, doc="停用的计划不能再选"),
        "notes": TEXT,
    },
    "projects": {
        "title": NAME,
        "number": Field("text", doc="项目编号（立项时必填，唯一）"),
        "enterprise_id": Field("integer", nullable=False, doc="承担单位（企业）"),
        "enterprise": Field("text", read=lambda p: name_of(p.enterprise)),
        "programme_id": ID,
        "programme": Field("text", read=lambda p: name_of(p.programme)),
        "level": enum_field(Level, nullable=False),
        "year": Field("integer", nullable=False, doc="申报年度"),
        "grant_amount": Field("money", doc="财政资助，元"),
        "self_funding": Field("money", doc="自筹经费，元"),
        "total_funding": Field("money", doc="财政资助与自筹之和，元"),
        "applied_on": DATE,
        "approved_on": Field("date", doc="立项日期"),
        "starts_on": Field("date", doc="实施期开始"),
        "ends_on": Field("date", doc="实施期结束"),
        "stage": enum_field(ProjectStage, nullable=False),
        "stage_changed_on": DATE,
        "end_reason": Field("text", doc="未立项或终止的原因"),
        "officer_id": REF,
        "officer": _user("officer"),
        "cooperation_id": REF,
        "suggestion_id": REF,
        "notes": TEXT,
        "partner_institution_ids": _partner_ids("institution_id"),
        "partner_researcher_ids": _partner_ids("researcher_id"),
        "partner_enterprise_ids": _partner_ids("enterprise_id"),
        "partners": Field(
            "objects", nullable=False, shape=PARTNER, doc="合作单位：高校院所、专家或企业"
        ),
        "history": Field("objects", nullable=False, shape=STAGE_CHANGE, doc="阶段变动，按时间"),
        "links": Field(
            "object",
            nullable=False,
            shape=PROJECT_LINKS,
            read=lambda p: p,
            doc="承担企业、科技计划和关联合作在本接口的地址",
        ),
    },
}
