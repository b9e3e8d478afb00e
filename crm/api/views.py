"""/api/v1/: JSON for other systems. Lists page with `page` / `per_page` and sync with
`updated_since` (then deleted records come too, marked `deleted: true`); a record carries its
version as an ETag (`If-None-Match` → 304)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from crm.enterprises.models import Enterprise
from crm.errors import NotFound, ValidationError
from crm.extensions import csrf, db
from crm.policy import Level, access

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
        stmt = stmt.where(model.deleted_at.is_(None)).order_by(model.id)
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
        "version": e.version,
        "created_at": _stamp(e.created_at),
        "updated_at": _stamp(e.updated_at),
        "deleted": e.deleted_at is not None,
    }


ENTERPRISE_LOADS = (
    selectinload(Enterprise.town),
    selectinload(Enterprise.industries),
    selectinload(Enterprise.owner),
    selectinload(Enterprise.department),
)


@bp.route("/enterprises")
@access(Level.SIGNED_IN)
def enterprises() -> Response:
    stmt = sa.select(Enterprise).options(*ENTERPRISE_LOADS)
    return _page(Enterprise, stmt, ListArgs.parse(request.args), enterprise_json, "api.enterprises")


@bp.route("/enterprises/<int:enterprise_id>")
@access(Level.SIGNED_IN)
def enterprise(enterprise_id: int) -> Response:
    e = db.session.get(Enterprise, enterprise_id, options=ENTERPRISE_LOADS)
    if e is None or e.deleted_at is not None:
        raise NotFound("没有这家企业。")
    return _record(e, enterprise_json(e))
