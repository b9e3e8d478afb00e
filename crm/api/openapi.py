"""The OpenAPI 3.1 document of /api/v1/, built from the same resource table and field types the
views use, and the page that shows it to people. tests/api/test_openapi.py checks it against
the routes Flask actually has; schemathesis checks it against what they answer. Served by
crm/api/views.py (`/api/v1/openapi.json`, and `/api/v1/docs` for people)."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from crm.api import writes
from crm.api.fields import MAX_ID, MAX_PER_PAGE, Field
from crm.api.resources import RESOURCES, Resource

ERRORS = {
    400: "请求有误：参数或请求体不合要求（error.fields 指出字段）",
    401: "缺少有效的 API 令牌",
    403: "令牌的角色或负责范围不允许",
    404: "没有这条记录",
    412: "If-Match 的版本已不是最新：请重新读取",
    422: "格式正确，但不合业务规则（引用的记录不存在、名称重复、校验位不对、阶段不能这样推进……）",
    428: "修改须带 If-Match",
    429: "超过令牌每分钟的请求数",
    503: "数据库暂时不可用，请稍后重试",
}
ALWAYS = (401, 429, 503)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(fields: dict[str, Field], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: f.schema() for name, f in fields.items()},
        "required": list(fields) if required is None else list(required),
        "additionalProperties": False,
    }


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _responses(ok: dict[int, Any], *errors: int) -> dict[str, Any]:
    answers = {str(status): body for status, body in ok.items()}
    for status in sorted({*errors, *ALWAYS}):
        answers[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return answers


def _param(
    name: str, where: str, schema: dict[str, Any], description: str = "", **extra: Any
) -> dict[str, Any]:
    param = {"name": name, "in": where, "schema": schema, **extra}
    if description:
        param["description"] = description
    return param


def _query(name: str, field: Field) -> dict[str, Any]:
    return _param(name, "query", dataclasses.replace(field, nullable=False).schema(), field.doc)


RECORD_ID = _param(
    "record_id", "path", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, required=True
)
IF_MATCH = _param(
    "If-Match",
    "header",
    {"type": "string", "pattern": r'^"\d+\.\d+"$'},
    '读取记录时得到的 ETag，例如 "12.3"',
    required=True,
)
#: the kinds whose stage is moved by an action of its own, and that action's operation
MOVES = {"cooperation": "cooperation_move", "projects": "projects_move"}
ETAG = {"ETag": {"description": '记录的版本，例如 "12.3"', "schema": {"type": "string"}}}


def _links(resource: Resource) -> dict[str, Any]:
    """After a create, a stateful tester (and a reader) knows what to do next with the record."""
    record = {"record_id": "$response.body#/id"}
    stamp = {**record, "header.If-Match": "$response.header.ETag"}
    links = {"Read": {"operationId": f"{resource.name}_one", "parameters": record}}
    spec = resource.writes
    if spec is not None:
        links["Change"] = {"operationId": f"{resource.name}_update", "parameters": stamp}
        if spec.trash:
            links["Delete"] = {"operationId": f"{resource.name}_delete", "parameters": stamp}
    if resource.name in MOVES:
        links["Move"] = {"operationId": MOVES[resource.name], "parameters": stamp}
    owned = {
        "enterprises": ("needs", "visits", "cooperation", "projects"),
        "institutions": ("researchers",),
    }
    key = {"enterprises": "enterprise_id", "institutions": "institution_id"}.get(resource.name)
    for child in owned.get(resource.name, ()):
        links[f"New{_title(child)}"] = {
            "operationId": f"{child}_create",
            "requestBody": {key: "$response.body#/id"},
        }
    return links


def _paths_of(resource: Resource) -> dict[str, Any]:
    name, label, kind = resource.name, resource.label, _title(resource.name)
    params = [
        _param("page", "query", {"type": "integer", "minimum": 1, "maximum": 10**6}),
        _param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
        _param(
            "updated_since",
            "query",
            {"type": "string", "format": "date-time"},
            "只列出此后改动过的记录（含已删除的），按改动时间排序：增量同步用",
        ),
        *(_query(key, f.field) for key, f in resource.filters.items()),
    ]
    collection: dict[str, Any] = {
        "get": {
            "operationId": name,
            "summary": f"{label}列表",
            "tags": [label],
            "parameters": params,
            "responses": _responses({200: _json(_ref(f"{kind}Page"), f"一页{label}")}, 400),
        }
    }
    one: dict[str, Any] = {
        "parameters": [RECORD_ID],
        "get": {
            "operationId": f"{name}_one",
            "summary": f"一条{label}",
            "tags": [label],
            "parameters": [_param("If-None-Match", "header", {"type": "string"})],
            "responses": _responses(
                {
                    200: _json(_ref(kind), label, headers=ETAG),
                    304: {"description": "客户端已有这个版本"},
                },
                404,
            ),
        },
    }
    spec = resource.writes
    if spec is not None:
        collection["post"] = {
            "operationId": f"{name}_create",
            "summary": f"新建{label}",
            "tags": [label],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(f"{kind}New")}},
            },
            "responses": _responses(
                {201: _json(_ref(kind), f"新建的{label}", headers=ETAG, links=_links(resource))},
                400,
                403,
                422,
            ),
        }
        one["patch"] = _change(
            f"{name}_update",
            f"修改{label}（只发要改的字段）",
            label,
            f"{kind}Change",
            _json(_ref(kind), f"修改后的{label}", headers=ETAG),
        )
        if spec.trash:
            one["delete"] = {
                "operationId": f"{name}_delete",
                "summary": f"删除{label}（移入回收站）",
                "tags": [label],
                "parameters": [IF_MATCH],
                "responses": _responses(
                    {204: {"description": "已移入回收站"}}, 400, 403, 404, 412, 428
                ),
            }
    return {f"/api/v1/{name}": collection, f"/api/v1/{name}/{{record_id}}": one}


def _change(
    operation_id: str, summary: str, tag: str, body: str, answer: dict[str, Any]
) -> dict[str, Any]:
    """An operation that changes a record: it names the version it saw (If-Match)."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": [IF_MATCH],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        },
        "responses": _responses({200: answer}, 400, 403, 404, 412, 422, 428),
    }


def _actions() -> dict[str, Any]:
    return {
        "/api/v1/suggestions/{record_id}/decision": {
            "parameters": [RECORD_ID],
            "post": _change(
                "suggestion_decision",
                "处理推荐：已联系、采纳（生成合作意向）或否决（须选原因）",
                "匹配推荐",
                "Decision",
                _json(_ref("DecidedSuggestion"), "处理后的推荐", headers=ETAG),
            ),
        },
        "/api/v1/cooperation/{record_id}/moves": {
            "parameters": [RECORD_ID],
            "post": _change(
                "cooperation_move",
                "推进合作到下一阶段或终止（规则同看板）",
                "合作",
                "Move",
                _json(_ref("Cooperation"), "推进后的合作", headers=ETAG),
            ),
        },
        "/api/v1/projects/{record_id}/moves": {
            "parameters": [RECORD_ID],
            "post": _change(
                "projects_move",
                "推进科技项目：申报→推荐→立项（须项目编号）→中期检查→验收，或未立项/终止（须原因）",
                "科技项目",
                "ProjectMove",
                _json(_ref("Projects"), "推进后的科技项目", headers=ETAG),
            ),
        },
    }


ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "integer", "description": "与 HTTP 状态码相同"},
                "message": {"type": "string", "description": "给人看的中文说明"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "出错的字段及原因",
                },
            },
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}


def _page_of(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref(kind)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0, "description": "符合条件的记录数"},
            "next": {"type": ["string", "null"], "description": "下一页的地址；没有时为 null"},
        },
        "required": ["items", "page", "per_page", "total", "next"],
        "additionalProperties": False,
    }


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": ERROR,
        "Decision": _object(writes.DECISION, ("status",)),
        "Move": _object(writes.MOVE, ("to",)),
        "ProjectMove": _object(writes.PROJECT_MOVE, ("to",)),
    }
    for resource in RESOURCES.values():
        kind = _title(resource.name)
        schemas[kind] = _object(resource.fields)
        schemas[f"{kind}Page"] = _page_of(kind)
        if (spec := resource.writes) is not None:
            schemas[f"{kind}New"] = _object(spec.fields, spec.required)
            schemas[f"{kind}Change"] = _object(spec.fields, ())
    decided = _object(RESOURCES["suggestions"].fields)
    decided["properties"]["lead_id"] = {
        "type": ["integer", "null"],
        "description": "采纳后生成的合作意向的编号",
    }
    decided["required"].append("lead_id")
    schemas["DecidedSuggestion"] = decided
    return schemas


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for resource in RESOURCES.values():
        paths.update(_paths_of(resource))
    paths.update(_actions())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "科技红娘 CRM 接口",
            "version": "1",
            "description": (
                "供省技术市场、市级驾驶舱和联络员脚本读写同一份数据。"
                "每个请求带 Authorization: Bearer <个人 API 令牌>（在“API 令牌”页创建）；"
                "令牌的权限不高于其主人的角色，网页上不能做的，接口也不能做。"
                "修改带 If-Match（读取时得到的 ETag），旧版本返回 412。"
                '错误统一为 {"error": {"code", "message", "fields"}}。'
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
            "responses": {
                f"E{status}": _json(_ref("Error"), text) for status, text in ERRORS.items()
            },
        },
    }
