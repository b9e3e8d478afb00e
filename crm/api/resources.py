"""What the API shows of each record kind, the filters its lists take, and what it writes:
one table (`RESOURCES`) the views and the OpenAPI document are both built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.api import writes
from crm.api.fields import Field, enum_field
from crm.auth.models import User
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage
from crm.enterprises.models import Enterprise, Industry, Town
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus
from crm.visits.models import Visit


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _common(record: Any) -> dict[str, Any]:
    return {
        "version": record.version,
        "created_at": _stamp(record.created_at),
        "updated_at": _stamp(record.updated_at),
        "deleted": getattr(record, "deleted_at", None) is not None,
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)  # a string: no float rounding of 万元


def _value(choice: Any) -> str | None:
    return choice.value if choice is not None else None


def enterprise_json(e: Enterprise) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "uscc": e.uscc,
        "town": e.town.name if e.town else None,
        "industries": [i.name for i in e.industries],
        "main_products": e.main_products,
        "address": e.address,
        "is_above_scale": e.is_above_scale,
        "owner": e.owner.username if e.owner else None,
        "department": e.department.name if e.department else None,
        "notes": e.notes,
        **_common(e),
    }


def institution_json(i: Institution) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": i.name,
        "kind": _value(i.kind),
        "region": i.region,
        "description": i.description,
        "website": i.website,
        "aliases": [a.alias for a in i.aliases],
        **_common(i),
    }


def researcher_json(r: Researcher) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "institution_id": r.institution_id,
        "institution": r.institution.name if r.institution else None,
        "title": r.title,
        "research_directions": r.research_directions,
        "bio": r.bio,
        "team": r.team,
        **_common(r),
    }


def need_json(n: Need) -> dict[str, Any]:
    return {
        "id": n.id,
        "enterprise_id": n.enterprise_id,
        "title": n.title,
        "description": n.description,
        "budget": _money(n.budget),
        "status": _value(n.status),
        "visit_id": n.visit_id,
        **_common(n),
    }


def achievement_json(a: Achievement) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "description": a.description,
        "institution_id": a.institution_id,
        "researcher_id": a.researcher_id,
        "maturity": _value(a.maturity),
        "transfer_mode": _value(a.transfer_mode),
        **_common(a),
    }


def visit_json(v: Visit) -> dict[str, Any]:
    return {
        "id": v.id,
        "enterprise_id": v.enterprise_id,
        "officer": v.officer.username if v.officer else None,
        "visited_on": v.visited_on.isoformat(),
        "notes": v.notes,
        "next_steps": v.next_steps,
        **_common(v),
    }


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    return {
        "id": s.id,
        "need_id": s.need_id,
        "researcher_id": s.researcher_id,
        "achievement_id": s.achievement_id,
        "institution_id": s.institution_id,
        "score": round(s.score, 4),
        "matched_terms": s.matched_terms,
        "adjustments": s.adjustments,
        "status": _value(s.status),
        "reject_reason": s.reject_reason,
        "reject_note": s.reject_note,
        "decided_at": _stamp(s.decided_at),
        **_common(s),
    }


def cooperation_json(c: Cooperation) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "enterprise_id": c.enterprise_id,
        "institution_id": c.institution_id,
        "researcher_id": c.researcher_id,
        "type": _value(c.type),
        "amount": _money(c.amount),
        "stage": _value(c.stage),
        "stage_changed_on": c.stage_changed_on.isoformat() if c.stage_changed_on else None,
        "signed_on": c.signed_on.isoformat() if c.signed_on else None,
        "parties": c.parties,
        "contract_no": c.contract_no,
        "termination_reason": c.termination_reason,
        "notes": c.notes,
        "officer": c.officer.username if c.officer else None,
        "origin": _value(c.origin),
        "suggestion_id": c.suggestion_id,
        "achievement_id": c.achievement_id,
        **_common(c),
    }


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
USERNAME = Field("string", doc="用户名")

SHOWN: dict[str, dict[str, Field]] = {
    "enterprises": {
        "name": NAME,
        "uscc": TEXT,
        "town": TEXT,
        "industries": Field("strings", nullable=False),
        "main_products": TEXT,
        "address": TEXT,
        "is_above_scale": Field("boolean", nullable=False),
        "owner": USERNAME,
        "department": TEXT,
        "notes": TEXT,
    },
    "institutions": {
        "name": NAME,
        "kind": enum_field(InstitutionKind, nullable=False),
        "region": TEXT,
        "description": TEXT,
        "website": TEXT,
        "aliases": Field("strings", nullable=False),
    },
    "researchers": {
        "name": NAME,
        "institution_id": REF,
        "institution": TEXT,
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
    },
    "visits": {
        "enterprise_id": ID,
        "officer": USERNAME,
        "visited_on": Field("date", nullable=False),
        "notes": TEXT,
        "next_steps": TEXT,
    },
    "suggestions": {
        "need_id": ID,
        "researcher_id": REF,
        "achievement_id": REF,
        "institution_id": REF,
        "score": Field("number", nullable=False),
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
        "officer": USERNAME,
        "origin": enum_field(Origin),
        "suggestion_id": REF,
        "achievement_id": REF,
    },
}


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
}


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A record kind under /api/v1/<name>."""

    name: str
    label: str  # what the docs page calls it
    model: Any
    shown: Callable[[Any], dict[str, Any]]
    loads: tuple[Any, ...] = ()
    missing: str = "没有这条记录。"
    writes: writes.Writes | None = None  # None: read-only (suggestions are decided, not edited)

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
            enterprise_json,
            (
                selectinload(Enterprise.town),
                selectinload(Enterprise.industries),
                selectinload(Enterprise.owner),
                selectinload(Enterprise.department),
            ),
            "没有这家企业。",
            writes.ENTERPRISES,
        ),
        Resource(
            "institutions",
            "高校院所",
            Institution,
            institution_json,
            (selectinload(Institution.aliases),),
            "没有这个高校院所。",
            writes.INSTITUTIONS,
        ),
        Resource(
            "researchers",
            "专家",
            Researcher,
            researcher_json,
            (selectinload(Researcher.institution),),
            "没有这位专家。",
            writes.RESEARCHERS,
        ),
        Resource("needs", "技术需求", Need, need_json, (), "没有这条需求。", writes.NEEDS),
        Resource(
            "achievements",
            "科技成果",
            Achievement,
            achievement_json,
            (),
            "没有这项成果。",
            writes.ACHIEVEMENTS,
        ),
        Resource(
            "visits",
            "走访",
            Visit,
            visit_json,
            (selectinload(Visit.officer),),
            "没有这次走访。",
            writes.VISITS,
        ),
        Resource("suggestions", "匹配推荐", Suggestion, suggestion_json, (), "没有这条推荐。"),
        Resource(
            "cooperation",
            "合作",
            Cooperation,
            cooperation_json,
            (selectinload(Cooperation.officer),),
            "没有这条合作记录。",
            writes.COOPERATION,
        ),
    )
}
