"""What an API client may write: a body checked field by field (`parse`), the spec of how a
kind is created, changed and deleted (`Writes`; each kind's is in `crm.api.kinds`), and the
bodies of the actions — a cooperation's or a project's stage move, a suggestion's decision —
which reach the web's own services (they check permissions, validate, write the audit trail
and lock optimistically).

A PATCH merges the client's values into the record's current ones (`Writes.current`), so a
client sends only what it changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm.api.fields import Field, column_field, enum_field
from crm.auth.models import User
from crm.cooperation import stages
from crm.cooperation.models import Cooperation, Stage, StageChange
from crm.errors import ValidationError
from crm.matching.decisions import REJECT_REASONS
from crm.matching.models import Suggestion, SuggestionStatus
from crm.projects import stages as project_stages
from crm.projects.models import Project, ProjectStage, ProjectStageChange


def parse(fields: dict[str, Field], body: Any, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object's values, each checked by its field; unknown or missing names refused."""
    if not isinstance(body, dict):
        raise ValidationError("请求体应为 JSON 对象。")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ValidationError(f"未知字段：{'、'.join(unknown)}。", field=unknown[0])
    missing = [name for name in required if name not in body]
    if missing:
        raise ValidationError(f"缺少必填字段：{'、'.join(missing)}。", field=missing[0])
    return {name: fields[name].parse(name, value) for name, value in body.items()}


@dataclass(frozen=True)
class Writes:
    """How one kind is created, changed and deleted through the API."""

    fields: dict[str, Field]
    required: tuple[str, ...]
    create: Callable[[User, dict[str, Any]], Any]
    update: Callable[[User, Any, dict[str, Any], int], Any]
    create_only: tuple[str, ...] = ()  # fixed once created (the enterprise a need belongs to)
    trash: str | None = None  # the recycle bin's kind: DELETE moves a record there

    def current(self, shown: dict[str, Any]) -> dict[str, Any]:
        """A record's writable values in the services' terms, read back from its JSON: what a
        PATCH merges the client's values into. (Not re-validated: the record is as stored.)"""
        return {name: field.load(shown.get(name)) for name, field in self.fields.items()}


# ---- actions: stage moves, decisions -----------------------------------------------------------

MOVE = {
    "to": enum_field(Stage, nullable=False),
    "on": Field("date", doc="变动发生的日期，默认今天"),
    "signed_on": Field("date", doc="签约日期（进入签约阶段时必填）"),
    "parties": column_field(Cooperation, "parties", doc="签约各方（进入签约阶段时必填）"),
    "contract_no": column_field(Cooperation, "contract_no"),
    "reason": column_field(Cooperation, "termination_reason", doc="终止原因（终止时必填）"),
    "note": column_field(StageChange, "note"),
}


def move(user: User, coop: Cooperation, v: dict[str, Any]) -> Cooperation:
    step = stages.Move(
        to=Stage(v["to"]),
        version=coop.version,
        **{k: v.get(k) for k in ("on", "signed_on", "parties", "contract_no", "reason", "note")},
    )
    return stages.move(user, coop, step)


PROJECT_MOVE = {
    "to": enum_field(ProjectStage, nullable=False),
    "on": Field("date", doc="变动发生的日期，默认今天；不能晚于今天，也不能早于上一次变动"),
    "number": column_field(Project, "number", doc="项目编号（立项时必填，项目还没有编号的话）"),
    "reason": column_field(Project, "end_reason", doc="原因（未立项或终止时必填）"),
    "note": column_field(ProjectStageChange, "note"),
}


def move_project(user: User, project: Project, v: dict[str, Any]) -> Project:
    step = project_stages.Move(
        to=ProjectStage(v["to"]),
        version=project.version,
        **{k: v.get(k) for k in ("on", "number", "reason", "note")},
    )
    return project_stages.move(user, project, step)


DECISION = {
    "status": Field(
        "enum",
        nullable=False,
        choices=tuple(s.value for s in SuggestionStatus if s not in (SuggestionStatus.NEW,)),
    ),
    "reason": Field("enum", choices=tuple(REJECT_REASONS), doc="否决原因（否决时必填）"),
    "note": column_field(Suggestion, "reject_note"),
}
