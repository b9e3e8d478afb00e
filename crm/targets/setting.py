"""Setting a year's targets and their department shares (admins), guarded against a concurrent
edit by a fingerprint of what the admin saw."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm import policy
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.targets.metrics import BY_CODE
from crm.targets.models import Target, TargetShare

COUNTED_UNITS = {"家", "项", "个", "只", "届"}  # split across departments by summing


def fingerprint(year: int) -> str:
    """What the year's targets and shares look like now (their ids and versions): a form
    that was filled in against another state is refused instead of overwriting it."""
    rows = db.session.execute(
        sa.select(Target.id, Target.version, TargetShare.id, TargetShare.version)
        .outerjoin(TargetShare, TargetShare.target_id == Target.id)
        .where(Target.year == year)
        .order_by(Target.id, TargetShare.id)
    ).all()
    return ",".join(":".join(str(v) for v in row) for row in rows) or "none"


def save_year(
    user: Any,
    year: int,
    values: dict[str, Decimal | None],
    shares: dict[tuple[str, int], Decimal | None],
    seen: str,
) -> None:
    """Set a year's targets and their split across departments (admins). A blank value
    removes it. Shares of a counted target may not add up to more than the target."""
    policy.authorize(policy.is_admin(user), "只有管理员可以设定年度目标。")
    if seen != fingerprint(year):
        raise Conflict("本年度目标已被他人修改，请刷新后再填。")
    for code, value in values.items():
        if value is not None and value < 0:
            raise ValidationError(f"“{BY_CODE[code].label}”的目标不能为负数。", field=code)
        split = [v for (c, _), v in shares.items() if c == code and v is not None]
        if any(v < 0 for v in split):
            raise ValidationError(f"“{BY_CODE[code].label}”的分解数不能为负数。", field=code)
        if split and value is None:
            raise ValidationError(f"“{BY_CODE[code].label}”先要有总目标才能分解。", field=code)
        if BY_CODE[code].unit in COUNTED_UNITS and value is not None and sum(split) > value:
            label, total = BY_CODE[code].label, sum(split)
            raise ValidationError(
                f"“{label}”分解到各科室的合计 {total:g} 超过了总目标 {value:g}。", field=code
            )
    existing = {
        t.metric: t for t in db.session.scalars(sa.select(Target).where(Target.year == year))
    }
    for code, value in values.items():
        target = existing.get(code)
        if value is None:
            if target is not None:
                db.session.delete(target)
            continue
        if target is None:
            target = Target(year=year, metric=code, value=value)
            db.session.add(target)
        elif target.value != value:
            target.value = value
        have = {s.department_id: s for s in target.shares}
        for (c, department_id), share in shares.items():
            if c != code:
                continue
            if share is None:
                if department_id in have:
                    target.shares.remove(have[department_id])
            elif department_id in have:
                if have[department_id].value != share:
                    have[department_id].value = share
            else:
                target.shares.append(TargetShare(department_id=department_id, value=share))
    db.session.flush()
