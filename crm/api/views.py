"""/api/v1/: JSON for other systems. Lists page with `page` / `per_page` and sync with
`updated_since` (then deleted records come too, marked `deleted: true`); a record carries its
version as an ETag (`If-None-Match` → 304)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, CRMError, NotFound, ValidationError
from crm.extensions import csrf, db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.matching.models import Suggestion, SuggestionStatus
from crm.matching.suggestions import decide
from crm.needs.models import Need
from crm.policy import Level, access
from crm.visits.models import Visit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only (crm/api/auth.py): nothing here reads a session cookie

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class ListArgs:
    page: int
    per_page: int
    updated_since: datetime | None

    @classmethod
    def parse(cls, args: MultiDict[str, str]) -> ListArgs:
        page = _int(args, "page", 1, 1, 10**6)
        per_page = _int(args, "per_page", 50, 1, MAX_PER_PAGE)
        since = None
        if raw := args.get("updated_since"):
            try:
                since = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise ValidationError(
                    "updated_since 应为 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00。",
                    field="updated_since",
                ) from None
            if since.tzinfo is None:
                raise ValidationError(
                    "updated_since 须带时区，例如 +08:00 或 Z。", field="updated_since"
                )
        return cls(page, per_page, since.astimezone(UTC) if since else None)


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(f"{name} 应为 {low} 到 {high} 之间的整数。", field=name)
    return int(raw)


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _page(model: Any, stmt: sa.Select[Any], args: ListArgs, shown: Any, endpoint: str) -> Response:
    """A page of `stmt`: live records by id; with updated_since, every record changed since
    (deleted ones included) in the order they changed — what a sync follows."""
    if args.updated_since is not None:
        stmt = stmt.where(model.updated_at >= args.updated_since).order_by(
            model.updated_at, model.id
        )
    else:
        if hasattr(model, "deleted_at"):
            stmt = stmt.where(model.deleted_at.is_(None))
        stmt = stmt.order_by(model.id)
    page = db.paginate(stmt, page=args.page, per_page=args.per_page, error_out=False)
    following = None
    if page.has_next:
        query = {**request.args.to_dict(), "page": args.page + 1, "per_page": args.per_page}
        following = url_for(endpoint, **query)
    return jsonify(
        items=[shown(r) for r in page.items],
        page=args.page,
        per_page=args.per_page,
        total=page.total,
        next=following,
    )


def _record(record: Any, body: dict[str, Any]) -> Response:
    """One record with its version as a strong ETag; 304 when the client has that version."""
    response = jsonify(body)
    response.set_etag(f"{record.id}.{record.version}")
    return response.make_conditional(request)


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
        "officer": c.officer.username if c.officer else None,
        "origin": _value(c.origin),
        "suggestion_id": c.suggestion_id,
        "achievement_id": c.achievement_id,
        **_common(c),
    }


@dataclass(frozen=True)
class Resource:
    """A record kind the API lists and shows, read-only for now."""

    name: str  # the path: /api/v1/<name>
    model: Any
    shown: Callable[[Any], dict[str, Any]]
    loads: tuple[Any, ...] = ()
    missing: str = "没有这条记录。"


RESOURCES = (
    Resource(
        "enterprises",
        Enterprise,
        enterprise_json,
        (
            selectinload(Enterprise.town),
            selectinload(Enterprise.industries),
            selectinload(Enterprise.owner),
            selectinload(Enterprise.department),
        ),
        "没有这家企业。",
    ),
    Resource("institutions", Institution, institution_json),
    Resource("researchers", Researcher, researcher_json, (selectinload(Researcher.institution),)),
    Resource("needs", Need, need_json),
    Resource("achievements", Achievement, achievement_json),
    Resource("visits", Visit, visit_json, (selectinload(Visit.officer),)),
    Resource("suggestions", Suggestion, suggestion_json),
    Resource("cooperation", Cooperation, cooperation_json, (selectinload(Cooperation.officer),)),
)


def _register(resource: Resource) -> None:
    def listing() -> Response:
        stmt = sa.select(resource.model).options(*resource.loads)
        args = ListArgs.parse(request.args)
        return _page(resource.model, stmt, args, resource.shown, f"api.{resource.name}")

    def one(record_id: int) -> Response:
        record = db.session.get(resource.model, record_id, options=resource.loads)
        if record is None or getattr(record, "deleted_at", None) is not None:
            raise NotFound(resource.missing)
        return _record(record, resource.shown(record))

    listing.__doc__ = f"The {resource.name}, a page at a time, or what changed since."
    one.__doc__ = f"One of the {resource.name}, with its version as an ETag."
    bp.add_url_rule(f"/{resource.name}", resource.name, access(Level.SIGNED_IN)(listing))
    bp.add_url_rule(
        f"/{resource.name}/<int:record_id>",
        f"{resource.name}_one",
        access(Level.SIGNED_IN)(one),
    )


for _resource in RESOURCES:
    _register(_resource)


class PreconditionFailed(CRMError):
    status = 412


class PreconditionRequired(CRMError):
    status = 428


def _expect_version(record: Any) -> None:
    """A write names the version it was made against (`If-Match: "<id>.<version>"`, the
    ETag the record came with); another version is 412, none at all 428."""
    if not request.if_match:
        raise PreconditionRequired("修改须带上 If-Match 请求头（读取记录时得到的 ETag）。")
    if not request.if_match.contains(f"{record.id}.{record.version}"):
        raise PreconditionFailed("该记录已被他人修改：请重新读取后再提交。")


@bp.route("/suggestions/<int:record_id>/decision", methods=["POST"])
@access(Level.OFFICER)
def decide_suggestion(record_id: int) -> Response:
    """已联系 / 采纳 (→ a 意向 lead) / 否决 with a reason — as the need page does it."""
    suggestion = db.session.get(Suggestion, record_id)
    if suggestion is None:
        raise NotFound("没有这条推荐。")
    _expect_version(suggestion)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError('请求体应为 JSON 对象，例如 {"status": "accepted"}。')
    raw = body.get("status")
    if raw not in ("contacted", "accepted", "rejected"):
        raise ValidationError("status 只能是 contacted、accepted 或 rejected。", field="status")
    reason, note = body.get("reason"), body.get("note")
    if not isinstance(reason, str | None) or not isinstance(note, str | None):
        raise ValidationError("reason 和 note 应为文本。", field="reason")
    try:
        lead = decide(
            current_user, suggestion, SuggestionStatus(raw), suggestion.version, reason, note
        )
    except Conflict as exc:
        raise PreconditionFailed(exc.message) from exc
    db.session.commit()
    return _record(
        suggestion, {**suggestion_json(suggestion), "lead_id": lead.id if lead else None}
    )
