"""Branches (引进高等院校和技术转移中心创办分支): an institution's branch, joint lab, workstation or
technology-transfer sub-centre set up in the county, hosted by a firm or in a park, dated.

Any officer registers one in a park; one a firm hosts, whoever may edit that firm
(`policy.can_edit_branch`): it counts for the firm's department's target. Edits carry the
version they were made on; a newer version raises Conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import policy
from crm.auth.models import User
from crm.auth.services import is_officer
from crm.clock import local_today
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.institutions.models import Branch, BranchKind, Institution
from crm.queries import find, reference

logger = logging.getLogger(__name__)

NOT_YOURS = "您只能为本人或本科室负责的企业登记分支机构。"


@dataclass
class BranchData:
    name: str
    kind: BranchKind
    institution_id: int | None = None
    host_enterprise_id: int | None = None
    host_place: str | None = None  # a park: 经济开发区 …
    established_on: date | None = None
    cooperation_id: int | None = None  # the cooperation it came from
    officer_id: int | None = None
    notes: str | None = None


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _check(found: list[ValidationError], rule: Any) -> Any:
    """Run one check, noting its error instead of raising it (every rule is said at once)."""
    try:
        return rule()
    except ValidationError as exc:
        found.append(exc)
        return None


def problems(data: BranchData, branch: Branch | None, today: date) -> list[ValidationError]:
    """Every rule the data breaks, each naming its field (`save_branch` refuses with the first).
    A reference the branch already has is kept as it is, even if deleted since."""
    found: list[ValidationError] = []

    def current(column: str) -> Any:
        return getattr(branch, column) if branch is not None else None

    if _text(data.name) is None:
        found.append(ValidationError("请输入分支机构名称。", field="name"))
    if data.institution_id is None:
        found.append(
            ValidationError("请选择创办的高校院所或技术转移中心。", field="institution_id")
        )
    else:
        _check(
            found,
            lambda: reference(
                Institution,
                data.institution_id,
                current("institution_id"),
                field="institution_id",
                what="高校院所",
            ),
        )
    host_id = data.host_enterprise_id
    if host_id is None and _text(data.host_place) is None:
        found.append(
            ValidationError(
                "请选择所在企业，或填写所在园区（如“经济开发区”）。", field="host_enterprise_id"
            )
        )
    elif host_id is not None:
        _check(
            found,
            lambda: reference(
                Enterprise,
                host_id,
                current("host_enterprise_id"),
                field="host_enterprise_id",
                what="企业",
            ),
        )
    if data.established_on is None:
        found.append(ValidationError("请填写设立日期。", field="established_on"))
    elif data.established_on > today:
        found.append(ValidationError("设立日期不能晚于今天。", field="established_on"))
    if data.cooperation_id is not None:
        coop_id = _check(
            found,
            lambda: reference(
                Cooperation,
                data.cooperation_id,
                current("cooperation_id"),
                field="cooperation_id",
                what="合作",
            ),
        )
        coop = find(Cooperation, coop_id) if coop_id else None
        if coop is not None and host_id is not None and coop.enterprise_id != host_id:
            found.append(
                ValidationError("所选合作不是所在企业的合作，请重新选择。", field="cooperation_id")
            )
    _check(found, lambda: _officer(data.officer_id, current("officer_id")))
    return found


def _officer(user_id: int | None, current: int | None) -> int | None:
    """An active officer or admin — or the one the branch already has, even if deactivated."""
    if user_id is None or user_id == current:
        return user_id
    if not is_officer(user_id):
        raise ValidationError("负责联络员应为启用的联络员或管理员。", field="officer_id")
    return user_id


def save_branch(
    user: User, data: BranchData, branch: Branch | None = None, version: int | None = None
) -> Branch:
    """Register (branch=None) or edit a branch made on `version`."""
    policy.authorize(policy.can_write(user), "只有联络员和管理员可以登记分支机构。")
    if branch is not None:
        policy.authorize(policy.can_edit_branch(user, branch), NOT_YOURS)
        if version is not None and branch.version != version:
            raise Conflict()
    if found := problems(data, branch, local_today()):
        raise found[0]
    host_id = data.host_enterprise_id
    if host_id is not None and host_id != (branch.host_enterprise_id if branch else None):
        host = db.session.get(Enterprise, host_id)
        policy.authorize(host is not None and policy.can_edit_enterprise(user, host), NOT_YOURS)
    if branch is None:
        branch = Branch()
        db.session.add(branch)
    with db.session.no_autoflush:  # one edit, one version
        branch.name = _text(data.name) or ""
        branch.kind = BranchKind(data.kind)
        branch.institution_id = data.institution_id
        branch.host_enterprise_id = host_id
        branch.host_place = _text(data.host_place)
        branch.established_on = data.established_on
        branch.cooperation_id = data.cooperation_id
        branch.officer_id = data.officer_id
        branch.notes = _text(data.notes)
    db.session.flush()
    logger.info("Branch %r saved by %s", branch, user.username)
    return branch


# ---- reading -----------------------------------------------------------------------------------


def _live() -> sa.Select[tuple[Branch]]:
    """Branches not deleted, of institutions not deleted (shown on their institution's page)."""
    return (
        sa.select(Branch)
        .where(
            Branch.deleted_at.is_(None), Branch.institution.has(Institution.deleted_at.is_(None))
        )
        .options(
            selectinload(Branch.institution),
            selectinload(Branch.host_enterprise),
            selectinload(Branch.cooperation),
        )
        .order_by(Branch.established_on.desc(), Branch.id.desc())
    )


def branch_list(q: str | None, kind: str | None) -> sa.Select[tuple[Branch]]:
    """Live branches, the latest first; by type, or a word of the name, the institution, the
    host firm or the park."""
    stmt = _live()
    if kind in {k.value for k in BranchKind}:
        stmt = stmt.where(Branch.kind == BranchKind(kind))
    if q and q.strip():
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            sa.or_(
                Branch.name.ilike(pattern),
                Branch.host_place.ilike(pattern),
                Branch.institution.has(Institution.name.ilike(pattern)),
                Branch.host_enterprise.has(Enterprise.name.ilike(pattern)),
            )
        )
    return stmt


def of_institution(institution_id: int) -> list[Branch]:
    """The live branches an institution set up."""
    return list(db.session.scalars(_live().where(Branch.institution_id == institution_id)))


def hosted_by(enterprise_id: int) -> list[Branch]:
    """The live branches a firm hosts."""
    return list(db.session.scalars(_live().where(Branch.host_enterprise_id == enterprise_id)))
