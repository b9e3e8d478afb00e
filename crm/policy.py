"""Who may do what: the one place views, services and the CLI ask.

Roles: admin (everything), officer (works own and own-department enterprises, logs visits),
viewer (leadership: reads everything, changes nothing).

Every view declares its access level with `@access(...)`; `enforce_view_access` runs before
every request and refuses what the declaration does not allow (deny by default). Unsafe
methods (POST, PUT, PATCH, DELETE) need at least an officer unless the view is self-service
(login, logout, own password), which is declared explicitly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_request_context, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.enterprises.models import Enterprise
from crm.errors import PermissionDenied

if TYPE_CHECKING:
    from crm.auth.models import User

F = TypeVar("F", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Level(enum.IntEnum):
    PUBLIC = 0
    SIGNED_IN = 1  # any active user, viewers included
    OFFICER = 2
    ADMIN = 3


ROLE_LEVEL = {"viewer": Level.SIGNED_IN, "officer": Level.OFFICER, "admin": Level.ADMIN}


def access(level: Level, *, self_service: bool = False) -> Callable[[F], F]:
    """Declare who may call a view. `self_service` lets any signed-in user POST to it."""

    def decorate(view: F) -> F:
        view._crm_access = (level, self_service)  # type: ignore[attr-defined]
        return view

    return decorate


def declared_access(view: Callable[..., Any] | None) -> tuple[Level, bool] | None:
    return getattr(view, "_crm_access", None)


def required_level(view: Callable[..., Any] | None, method: str) -> Level | None:
    """The level a request needs, or None when the view declared nothing."""
    declared = declared_access(view)
    if declared is None:
        return None
    level, self_service = declared
    if method not in SAFE_METHODS and not self_service:
        level = max(level, Level.OFFICER)
    return level


def user_level(user: Any) -> Level:
    if user is None or not getattr(user, "is_authenticated", False):
        return Level.PUBLIC
    level = ROLE_LEVEL.get(str(user.role), Level.PUBLIC)
    token = g.get("api_token") if has_request_context() else None
    if token is not None and token.user_id == getattr(user, "id", None):
        level = min(level, ROLE_LEVEL[str(token.role)])  # a token never exceeds its role
    return level


def enforce_view_access() -> Response | None:
    """before_request hook: redirect anonymous users to login, refuse the rest with 403."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    needed = required_level(view, request.method)
    if needed is None:
        current_app.logger.error("View %s declares no access level: refused", request.endpoint)
        raise PermissionDenied()
    if needed == Level.PUBLIC:
        return None
    if not current_user.is_authenticated:
        if request.method in SAFE_METHODS:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        raise PermissionDenied("请先登录。")
    if user_level(current_user) < needed:
        raise PermissionDenied()
    return None


# ---- questions services and templates ask -------------------------------------------------


def is_admin(user: User | Any) -> bool:
    return user_level(user) >= Level.ADMIN


def can_write(user: User | Any) -> bool:
    """Officers and admins change records; viewers never do."""
    return user_level(user) >= Level.OFFICER


def can_manage_users(user: User | Any) -> bool:
    return is_admin(user)


def can_see_personal_data(user: User | Any) -> bool:
    """Contacts' phone numbers and e-mails are shown in full to officers and admins only."""
    return user_level(user) >= Level.OFFICER


def can_edit_enterprise(user: User | Any, enterprise: Any) -> bool:
    """Admins edit any enterprise; officers their own and their department's."""
    if is_admin(user):
        return True
    if not can_write(user):
        return False
    if enterprise.owner_id == user.id:
        return True
    return user.department_id is not None and enterprise.department_id == user.department_id


def can_edit_cooperation(user: User | Any, coop: Any) -> bool:
    """Admins; the officer following it; whoever may edit its enterprise."""
    if is_admin(user):
        return True
    if not can_write(user):
        return False
    return coop.officer_id == user.id or can_edit_enterprise(user, coop.enterprise)


def can_edit_project(user: User | Any, project: Any) -> bool:
    """A 科技项目: admins; the officer in charge; whoever may edit its lead firm."""
    return can_edit_cooperation(user, project)


def can_edit_candidate(user: User | Any, candidate: Any) -> bool:
    """A firm in the cultivation pool: admins; its coaching officer; whoever may edit the firm."""
    return can_edit_cooperation(user, candidate)


def can_edit_branch(user: User | Any, branch: Any) -> bool:
    """An institution's branch in the county (分支机构、联合实验室 …): one in a park, any officer;
    one a firm hosts, whoever may edit that firm (it counts for the firm's department)."""
    if not can_write(user):
        return False
    host = branch.host_enterprise
    return host is None or can_edit_enterprise(user, host)


def can_decide_suggestion(user: User | Any, suggestion: Any) -> bool:
    """已联系 / 采纳 / 否决: whoever may edit the need's enterprise (its lead lands in that
    firm's pipeline)."""
    return can_edit_enterprise(user, suggestion.need.enterprise)


def authorize(allowed: bool, message: str | None = None) -> None:
    """Raise PermissionDenied unless `allowed`."""
    if not allowed:
        raise PermissionDenied(message) if message else PermissionDenied()


def can_edit_task(user: User | Any, task: Any) -> bool:
    """The assignee closes a task; admins close and reassign any."""
    return is_admin(user) or (can_write(user) and task.assignee_id == user.id)


def can_edit_visit(user: User | Any, visit: Any) -> bool:
    """An officer corrects the visits they logged; admins any."""
    return is_admin(user) or (can_write(user) and visit.officer_id == user.id)


def editable_enterprises(user: User | Any) -> Any:
    """`can_edit_enterprise` as a query criterion (a list of what the user may change)."""
    if is_admin(user):
        return sa.true()
    if not can_write(user):
        return sa.false()
    mine = Enterprise.owner_id == user.id
    if user.department_id is None:
        return mine
    return sa.or_(mine, Enterprise.department_id == user.department_id)


def can_see_import(user: User | Any, item: Any) -> bool:
    """An import batch or job: the officer who ran it, and admins."""
    return is_admin(user) or item.user_id == user.id


def can_delete(user: User | Any, kind: str, record: Any) -> bool:
    """Moving a record to the recycle bin: admins anything; officers a firm they may edit, its
    needs and contacts, the visits they logged, the projects they may move and the branches
    they may edit. The shared
    directory (institutions, experts, achievements) is cleaned up by admins."""
    if is_admin(user):
        return True
    if kind == "enterprise":
        return can_edit_enterprise(user, record)
    if kind in ("need", "contact") and record.enterprise is not None:
        return can_edit_enterprise(user, record.enterprise)
    if kind == "visit":
        return can_edit_visit(user, record)
    if kind == "project":
        return can_edit_project(user, record)
    if kind == "branch":
        return can_edit_branch(user, record)
    return False
