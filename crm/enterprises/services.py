"""Enterprises: validation, registration and edits with optimistic locking, their contacts.

The list and its filters are in `lists`, the yearly figures in `years`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from stdnum.cn import uscc as std_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from crm import policy
from crm.auth.models import Department, User
from crm.auth.services import is_officer
from crm.clock import local_today
from crm.enterprises.models import Contact, Enterprise, Industry, Town
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.institutions.models import Achievement, Institution
from crm.keep import KEEP
from crm.queries import MAX_ID, get_live, reference
from crm.text.normal import core_name, normalise
from crm.text.pinyin import sort_key

logger = logging.getLogger(__name__)


def clean_uscc(value: str | None) -> str | None:
    """A checksum-valid 统一社会信用代码 in canonical form, or None when left empty; typed the
    way phones and papers give it (full-width, in groups with spaces) it is read all the same."""
    if value is None or not value.strip():
        return None
    try:
        return std_uscc.validate(_compact(value).upper())
    except InvalidLength as exc:
        raise ValidationError("统一社会信用代码应为 18 位。", field="uscc") from exc
    except InvalidFormat as exc:
        raise ValidationError(
            "统一社会信用代码格式不正确（前 8 位为数字，不含 I、O、S、V、Z）。", field="uscc"
        ) from exc
    except InvalidChecksum as exc:
        raise ValidationError(
            "统一社会信用代码校验位不正确，请核对后重新输入。", field="uscc"
        ) from exc


@dataclass
class EnterpriseData:
    name: str
    uscc: str | None = None
    town_id: int | None = None
    industry_ids: list[int] = field(default_factory=list)
    address: str | None = None
    main_products: str | None = None
    is_above_scale: bool = False
    notes: str | None = None
    owner_id: int | None = KEEP  # only admins set owner and department; KEEP leaves them
    department_id: int | None = KEEP
    founded_on: date | None = None  # 成立日期
    # the achievements it was founded to exploit (科技成果引进后直接创办企业); KEEP leaves them
    founding_achievement_ids: list[int] = KEEP


def get_enterprise(enterprise_id: int) -> Enterprise:
    return get_live(Enterprise, enterprise_id, message="企业不存在或已被删除。")


def check_uscc_free(uscc: str | None, enterprise_id: int | None) -> None:
    """No other enterprise (deleted ones too: they may come back) has this code."""
    if uscc is None:
        return
    other = db.session.scalar(
        sa.select(Enterprise).where(Enterprise.uscc == uscc, Enterprise.id != (enterprise_id or 0))
    )
    if other is not None:
        raise ValidationError(f"统一社会信用代码已被“{other.name}”使用。", field="uscc")


def check_name_free(name: str, enterprise_id: int | None) -> None:
    """No other live firm has this name as written, spaces, full width and Traditional
    characters aside (浙江錦程領帶有限公司 is 浙江锦程领带有限公司): the same firm twice. Firms
    whose names only share a core (浙江锦程领带 / 嵊州市锦程领带) may be two; the duplicate
    check of /admin/duplicates weighs those."""
    written = _compact(name)
    candidates = db.session.scalars(
        sa.select(Enterprise).where(
            Enterprise.name_sort == sort_key(core_name(name)),
            Enterprise.deleted_at.is_(None),
            Enterprise.id != (enterprise_id or 0),
        )
    )
    other = next((e for e in candidates if _compact(e.name) == written), None)
    if other is not None:
        owner = other.owner.display_name if other.owner else "未指定联络员"
        raise ValidationError(
            f"已登记过同名企业“{other.name}”（{owner}负责），请在企业列表中找到它，不要重复登记。",
            field="name",
        )


def check_founding(founded_on: date | None, achievements: list[Any]) -> None:
    """成立日期 is not in the future; a firm founded on achievements has one (the target
    科技成果引进后直接创办企业 counts it by the year it was founded)."""
    if founded_on is not None and founded_on > local_today():
        raise ValidationError("成立日期不能晚于今天。", field="founded_on")
    if achievements and founded_on is None:
        raise ValidationError(
            "选择了依托的科技成果，请填写成立日期（按成立年度计入“科技成果引进后直接创办企业”）。",
            field="founded_on",
        )


def _founding(ent: Enterprise, wanted: list[int]) -> list[Achievement]:
    """The achievements chosen: the firm's own are kept as they are (even if deleted since); a
    new one must be a live achievement."""
    current = {a.id: a for a in ent.founding_achievements} if ent.id is not None else {}
    ids = list(dict.fromkeys(wanted))
    new = [i for i in ids if i not in current]
    found = {
        a.id: a
        for a in db.session.scalars(
            sa.select(Achievement).where(
                Achievement.id.in_([i for i in new if 0 < i <= MAX_ID]),
                Achievement.deleted_at.is_(None),
            )
        )
    }
    if len(found) != len(new):
        raise ValidationError(
            "所选科技成果不存在或已被删除，请刷新页面后重新选择。",
            field="founding_achievement_ids",
        )
    return [current.get(i) or found[i] for i in ids]


def _compact(text: str) -> str:
    """Normalised (half width, Simplified) and without any space: as a code or a name reads."""
    return re.sub(r"\s+", "", normalise(text))


def _apply(user: User, ent: Enterprise, data: EnterpriseData) -> None:
    """Check everything first (the queries), then change the record in one go: a query
    between two changes would flush the first, and one edit would be two versions."""
    name = data.name.strip()
    if not name:
        raise ValidationError("请输入企业名称。", field="name")
    check_name_free(name, ent.id)
    uscc = clean_uscc(data.uscc)
    check_uscc_free(uscc, ent.id)
    wanted = set(data.industry_ids)
    industries = (
        list(
            db.session.scalars(
                sa.select(Industry).where(Industry.id.in_([i for i in wanted if 0 < i <= MAX_ID]))
            )
        )
        if wanted
        else []
    )
    if len(industries) != len(wanted):
        raise ValidationError("所选产业不存在，请刷新页面后重新选择。", field="industry_ids")
    achievements = KEEP
    if data.founding_achievement_ids is not KEEP:
        achievements = _founding(ent, data.founding_achievement_ids)
    having = ent.founding_achievements if achievements is KEEP else achievements
    check_founding(data.founded_on, having)
    changes: dict[str, Any] = {
        "town_id": reference(Town, data.town_id, ent.town_id, field="town_id", what="乡镇街道"),
        "name": name,
        "uscc": uscc,
        "address": (data.address or "").strip() or None,
        "main_products": (data.main_products or "").strip() or None,
        "is_above_scale": bool(data.is_above_scale),
        "notes": (data.notes or "").strip() or None,
        "founded_on": data.founded_on,
    }
    if policy.is_admin(user):
        if data.owner_id is not KEEP:
            changes["owner_id"] = _owner(data.owner_id, ent.owner_id)
        if data.department_id is not KEEP:
            changes["department_id"] = reference(
                Department,
                data.department_id,
                ent.department_id,
                field="department_id",
                what="科室",
            )
    if ent.id is not None:
        ent.industries  # noqa: B018 - loaded now, not by the assignment below (an autoflush)
    with db.session.no_autoflush:
        for key, value in changes.items():
            setattr(ent, key, value)
        ent.industries = industries
        if achievements is not KEEP:
            ent.founding_achievements = achievements


def _owner(user_id: int | None, current: int | None) -> int | None:
    """The officer an admin makes responsible: an active officer or admin — or the one the
    enterprise already has, even if deactivated since (an unchanged save keeps them)."""
    if user_id is None or user_id == current:
        return user_id
    if not is_officer(user_id):
        raise ValidationError("负责联络员应为启用的联络员或管理员。", field="owner_id")
    return user_id


def create_enterprise(user: User, data: EnterpriseData) -> Enterprise:
    """A new enterprise; an officer's own become theirs and their department's."""
    policy.authorize(policy.can_write(user))
    ent = Enterprise(owner_id=user.id, department_id=user.department_id)
    _apply(user, ent, data)
    db.session.add(ent)
    db.session.flush()
    logger.info("Enterprise %r created by %s", ent, user.username)
    return ent


def update_enterprise(
    user: User, ent: Enterprise, data: EnterpriseData, expected_version: int
) -> Enterprise:
    """Save an edit made on version `expected_version`; a newer version raises Conflict."""
    policy.authorize(policy.can_edit_enterprise(user, ent), "您只能修改本人或本科室负责的企业。")
    if ent.version != expected_version:
        raise Conflict()
    _apply(user, ent, data)
    db.session.flush()
    logger.info("Enterprise %r updated by %s", ent, user.username)
    return ent


# ---- contacts ----------------------------------------------------------------------------------

PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,30}$")  # what a phone cell may hold (forms, imports)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class ContactData:
    name: str
    position: str | None = None
    phone: str | None = None
    email: str | None = None


def check_phone(phone: str | None) -> None:
    """A phone number, if given, is digits, spaces, "-" and a leading "+"."""
    if phone and phone.strip() and not PHONE.match(phone.strip()):
        raise ValidationError("电话号码只能包含数字、空格、“-”和开头的“+”。", field="phone")


def check_email(email: str | None) -> None:
    """An e-mail address, if given, looks like one."""
    if email and email.strip() and not EMAIL.match(email.strip()):
        raise ValidationError("电子邮箱格式不正确。", field="email")


def add_contact(
    user: User, data: ContactData, ent: Enterprise | None = None, inst: Institution | None = None
) -> Contact:
    """A person at an enterprise (those who may edit it) or an institution (any officer)."""
    if ent is not None:
        allowed = policy.can_edit_enterprise(user, ent)
        policy.authorize(allowed, "您只能为本人或本科室负责的企业添加联系人。")
    else:
        policy.authorize(policy.can_write(user), "只有联络员和管理员可以添加联系人。")
    name = data.name.strip()
    if not name:
        raise ValidationError("请输入联系人姓名。", field="name")
    phone = (data.phone or "").strip() or None
    check_phone(phone)
    email = (data.email or "").strip() or None
    check_email(email)
    contact = Contact(
        enterprise=ent,
        institution=inst,
        name=name,
        position=(data.position or "").strip() or None,
        phone=phone,
        email=email,
    )
    db.session.add(contact)
    db.session.flush()
    logger.info("Contact %r added to %r by %s", contact, ent or inst, user.username)
    return contact
