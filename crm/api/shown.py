"""What the API shows of each record kind: one function per kind that writes a record as JSON,
and the fields it writes (`SHOWN`), from which the OpenAPI document's response schemas are
made. tests/api/test_openapi.py holds the two together."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crm.api.fields import Field, enum_field
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage
from crm.enterprises.models import Enterprise
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
from crm.queries import is_gone
from crm.visits.models import Visit


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _common(record: Any) -> dict[str, Any]:
    return {
        "version": record.version,
        "created_at": _stamp(record.created_at),
        "updated_at": _stamp(record.updated_at),
        "deleted": is_gone(record),  # or gone with what it belongs to (a deleted firm)
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
