"""/api/v1/: JSON for other systems, built from the resource table (crm/api/resources.py).

Lists page with `page` / `per_page`, filter by the kind's parameters, and sync with
`updated_since` (then deleted records come too, marked `deleted: true`). A record carries its
version as an ETag (`If-None-Match` → 304); every change names the version it was made against
(`If-Match`: none → 428, another → 412) and goes through the web's own service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from crm.api import writes
from crm.api.docs import operations
from crm.api.fields import MAX_PER_PAGE
from crm.api.openapi import document
from crm.api.resources import RESOURCES, Resource
from crm.api.shown import shown
from crm.cooperation.models import Cooperation
from crm.errors import (
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
    ValidationError,
)
from crm.extensions import csrf, db
from crm.matching.decisions import decide
from crm.matching.models import SuggestionStatus
from crm.policy import Level, access
from crm.projects.models import Project
from crm.queries import get_live, live
from crm.trash import services as trash

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only (crm/api/auth.py): nothing here reads a session cookie

PAGING = ("page", "per_page", "updated_since")
ETAG = re.compile(r'"\d+\.\d+"')
STALE = "该记录已被他人修改：请重新读取后再提交。"


@dataclass(frozen=True)
class ListArgs:
    page: int
    per_page: int
    updated_since: datetime | None
    filters: dict[str, Any]

    @classmethod
    def parse(cls, args: MultiDict[str, str], resource: Resource) -> ListArgs:
        unknown = sorted(set(args) - set(PAGING) - set(resource.filters))
        if unknown:
            raise ValidationError(f"未知的查询参数：{'、'.join(unknown)}。", field=unknown[0])
        page = _int(args, "page", 1, 1, 10**6)
        per_page = _int(args, "per_page", 50, 1, MAX_PER_PAGE)
        since = None
        if (raw := args.get("updated_since")) is not None:
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
            try:
                since = since.astimezone(UTC)
            except OverflowError:  # past either end of the calendar once in UTC
                # 0001-01-01T00:00+01:00: before everything; 9999-12-31T23:59-01:00: after
                edge = datetime.min if since.year == 1 else datetime.max
                since = edge.replace(tzinfo=UTC)
        filters = {}
        for name, spec in resource.filters.items():
            if (raw := args.get(name)) is not None:
                value: Any = raw
                if spec.field.type == "integer" and raw.isascii() and raw.isdigit():
                    value = int(raw)
                elif spec.field.type == "boolean" and raw in ("true", "false"):
                    value = raw == "true"
                filters[name] = spec.field.parse(name, value)
        return cls(page, per_page, since, filters)


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValidationError(f"{name} 应为 {low} 到 {high} 之间的整数。", field=name)
    return int(raw)


def _page(resource: Resource, args: ListArgs) -> Response:
    """A page of the kind: live records by id; with updated_since, every record changed since
    (deleted ones included) in the order they changed — what a sync follows."""
    model = resource.model
    stmt = sa.select(model).options(*resource.loads)
    for name, value in args.filters.items():
        stmt = stmt.where(resource.filters[name].where(value))
    if args.updated_since is not None:
        stmt = stmt.where(model.updated_at >= args.updated_since).order_by(
            model.updated_at, model.id
        )
    else:
        stmt = stmt.where(live(model)).order_by(model.id)  # as the web: a deleted firm's too
    page = db.paginate(stmt, page=args.page, per_page=args.per_page, error_out=False)
    following = None
    if page.has_next:
        query = {**request.args.to_dict(), "page": args.page + 1, "per_page": args.per_page}
        following = url_for(f"api.{resource.name}", **query)
    return jsonify(
        items=[resource.shown(r) for r in page.items],
        page=args.page,
        per_page=args.per_page,
        total=page.total,
        next=following,
    )


def _etag(record: Any) -> str:
    """A record's version as its entity tag, unquoted: `12.3` is record 12 at version 3."""
    return f"{record.id}.{record.version}"


def _record(record: Any, body: dict[str, Any], status: int = 200) -> Response:
    """One record with its version as a strong ETag; 304 when the client has that version."""
    response = jsonify(body)
    response.status_code = status
    response.set_etag(_etag(record))
    return response.make_conditional(request) if status == 200 else response


def _live(resource: Resource, record_id: int) -> Any:
    """The live record at a URL (the route's id pattern and get_live keep to 32-bit ids)."""
    return get_live(resource.model, record_id, *resource.loads, message=resource.missing)


def _if_match() -> str:
    """The version a change was made against (`If-Match: "<id>.<version>"`, the ETag the
    record came with): none is 428, a malformed one (or "*") 400."""
    sent = request.headers.get("If-Match")
    if sent is None:
        raise PreconditionRequired("修改须带上 If-Match 请求头（读取记录时得到的 ETag）。")
    if not ETAG.fullmatch(sent.strip()):  # "*" too: a write must say which version it saw
        raise ValidationError('If-Match 应为读取记录时得到的 ETag，例如 "12.3"。', field="If-Match")
    return sent.strip()


def _expect_version(record: Any, sent: str) -> None:
    """Checked after the body, so a malformed request is 400 whatever version it names."""
    if sent != f'"{_etag(record)}"':
        raise PreconditionFailed(STALE)


def _body(fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object (at most CRM_API_MAX_BODY_KB: past it 413, before parsing),
    each value checked by its field."""
    if not request.is_json:
        raise ValidationError("请求体应为 JSON（Content-Type: application/json）。")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # [[[[…]]]] nested deeper than the parser goes
        raise ValidationError("请求体的 JSON 嵌套层数过多。") from None
    return writes.parse(fields, body, required)


def _saved(change: Any) -> Any:
    """Run a service change and commit it. A version clash found inside (by the service, or
    by the database's version check when another request saved between our read and our
    write) is 412 here, the client having used If-Match; a rule the service enforces is 422
    (the body already matched the schema, or it would not have got this far)."""
    try:
        record = change()
    except (Conflict, StaleDataError) as exc:  # StaleDataError: another write won meanwhile
        db.session.rollback()
        raise PreconditionFailed(STALE) from exc
    except ValidationError as exc:
        raise Unprocessable(exc.message, field=exc.field) from exc
    db.session.commit()
    return record


def _register(resource: Resource) -> None:
    name = resource.name

    def listing() -> Response:
        return _page(resource, ListArgs.parse(request.args, resource))

    def one(record_id: int) -> Response:
        record = _live(resource, record_id)
        return _record(record, resource.shown(record))

    listing.__doc__ = f"{resource.label}列表：分页、筛选，或按 updated_since 同步。"
    one.__doc__ = f"一条{resource.label}，ETag 为其版本。"
    bp.add_url_rule(f"/{name}", name, access(Level.SIGNED_IN)(listing))
    bp.add_url_rule(f"/{name}/<int:record_id>", f"{name}_one", access(Level.SIGNED_IN)(one))
    spec = resource.writes
    if spec is None:
        return

    def create() -> Response:
        values = _body(spec.fields, spec.required)
        record = _saved(lambda: spec.create(current_user, values))
        record = _live(resource, record.id)
        response = _record(record, resource.shown(record), 201)
        response.headers["Location"] = url_for(f"api.{name}_one", record_id=record.id)
        return response

    def change(record_id: int) -> Response:
        record = _live(resource, record_id)
        sent = _if_match()
        values = _body(spec.fields)
        _expect_version(record, sent)
        current = spec.current(resource.shown(record))
        for fixed in spec.create_only:
            if fixed in values and values[fixed] != current[fixed]:
                raise Unprocessable(f"{fixed} 只能在新建时填写。", field=fixed)
        merged = {**current, **values}
        _saved(lambda: spec.update(current_user, record, merged, record.version))
        record = _live(resource, record_id)
        return _record(record, resource.shown(record))

    create.__doc__ = f"新建{resource.label}。"
    change.__doc__ = f"修改{resource.label}：只发要改的字段，带上 If-Match。"
    bp.add_url_rule(f"/{name}", f"{name}_create", access(Level.OFFICER)(create), methods=["POST"])
    bp.add_url_rule(
        f"/{name}/<int:record_id>",
        f"{name}_update",
        access(Level.OFFICER)(change),
        methods=["PATCH"],
    )
    if spec.trash is None:
        return
    kind = spec.trash

    def remove(record_id: int) -> Response:
        record = _live(resource, record_id)
        _expect_version(record, _if_match())
        _saved(lambda: trash.delete(current_user, kind, record.id))
        return Response(status=204)

    remove.__doc__ = f"删除{resource.label}（移入回收站，管理员可恢复），带上 If-Match。"
    bp.add_url_rule(
        f"/{name}/<int:record_id>",
        f"{name}_delete",
        access(Level.OFFICER)(remove),
        methods=["DELETE"],
    )


for _resource in RESOURCES.values():
    _register(_resource)


@bp.route("/suggestions/<int:record_id>/decision", methods=["POST"], endpoint="suggestion_decision")
@access(Level.OFFICER)
def decide_suggestion(record_id: int) -> Response:
    """处理一条推荐：已联系、采纳（生成合作意向）或否决（须选原因），带上 If-Match。"""
    suggestion = _live(RESOURCES["suggestions"], record_id)
    sent = _if_match()
    values = _body(writes.DECISION, ("status",))
    _expect_version(suggestion, sent)
    lead = _saved(
        lambda: decide(
            current_user,
            suggestion,
            SuggestionStatus(values["status"]),
            suggestion.version,
            values.get("reason"),
            values.get("note"),
        )
    )
    return _record(
        suggestion, {**shown("suggestions", suggestion), "lead_id": lead.id if lead else None}
    )


@bp.route("/cooperation/<int:record_id>/moves", methods=["POST"], endpoint="cooperation_move")
@access(Level.OFFICER)
def move_cooperation(record_id: int) -> Response:
    """推进合作到下一阶段（或终止），按看板的规则，带上 If-Match。"""
    coop: Cooperation = _live(RESOURCES["cooperation"], record_id)
    sent = _if_match()
    values = _body(writes.MOVE, ("to",))
    _expect_version(coop, sent)
    _saved(lambda: writes.move(current_user, coop, values))
    coop = _live(RESOURCES["cooperation"], record_id)
    return _record(coop, shown("cooperation", coop))


@bp.route("/projects/<int:record_id>/moves", methods=["POST"], endpoint="projects_move")
@access(Level.OFFICER)
def move_project(record_id: int) -> Response:
    """推进科技项目到下一阶段（或未立项 / 终止），按项目的规则，带上 If-Match。"""
    project: Project = _live(RESOURCES["projects"], record_id)
    sent = _if_match()
    values = _body(writes.PROJECT_MOVE, ("to",))
    _expect_version(project, sent)
    _saved(lambda: writes.move_project(current_user, project, values))
    project = _live(RESOURCES["projects"], record_id)
    return _record(project, shown("projects", project))


@bp.route("/openapi.json")
@access(Level.PUBLIC)
def openapi_json() -> Response:
    """The OpenAPI 3.1 document: public, it describes and holds no data."""
    return jsonify(document())


@bp.route("/docs")
@access(Level.PUBLIC)
def docs() -> str:
    """The same document for people to read (served locally: no CDN on the intranet)."""
    return render_template("api/docs.html", doc=document(), groups=operations())
