"""Users, passwords, login sessions and login throttling."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from crm.api.models import ApiToken
from crm.audit import services as audit
from crm.auth import throttle
from crm.auth.models import Department, LoginAttempt, Role, User, UserSession
from crm.db import utcnow
from crm.errors import Conflict, NotFound, ValidationError
from crm.extensions import db
from crm.queries import find

logger = logging.getLogger(__name__)


# Checked against when the username is unknown, so both paths take the same time.
@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so both cases take as long (made on first
    use: hashing takes 0.1 s that every `crm` command would otherwise pay at start)."""
    return generate_password_hash("not-a-real-password-0")


class LoginThrottled(ValidationError):
    status = 429


@dataclass(frozen=True)
class UserData:
    username: str
    display_name: str
    role: Role
    password: str
    department: str | None = None


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords shorter than the configured minimum (10 by default)."""
    minimum = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if len(password) < minimum:
        raise ValidationError(f"密码至少需要 {minimum} 个字符。", field=field)


def get_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))


def get_or_create_department(name: str) -> Department:
    dept = db.session.scalar(sa.select(Department).where(Department.name == name))
    if dept is None:
        dept = Department(name=name)
        db.session.add(dept)
        db.session.flush()
        logger.info("Department %r created", dept)
    return dept


def create_user(data: UserData) -> User:
    """Create an account; the username must be new and the password long enough."""
    username = normalise_username(data.username)
    if not username:
        raise ValidationError("用户名不能为空。", field="username")
    if get_user(username) is not None:
        raise ValidationError(f"用户名“{username}”已存在。", field="username")
    check_password_strength(data.password)
    user = User(
        username=username,
        display_name=data.display_name.strip() or username,
        role=Role(data.role),
        password_hash=generate_password_hash(data.password),
        password_changed_at=utcnow(),
        department=get_or_create_department(data.department) if data.department else None,
    )
    db.session.add(user)
    db.session.flush()
    logger.info("User %r created", user)
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.username)))


def is_officer(user_id: int) -> bool:
    """Whether the user is an active officer or admin: who may own a firm, follow a branch or
    a pool entry, or be in charge of a project."""
    person = find(User, user_id)  # an id past any column's range is nobody, not an error
    return person is not None and person.active and person.role != Role.VIEWER


def officers(*, besides: int | None = None) -> list[User]:
    """Active officers and admins by name: who can own a firm, take a task or come along on
    a visit (`besides`: leave this user out)."""
    stmt = sa.select(User).where(User.active, User.role != Role.VIEWER)
    if besides is not None:
        stmt = stmt.where(User.id != besides)
    return list(db.session.scalars(stmt.order_by(User.display_name)))


def require_user(username: str) -> User:
    user = get_user(username)
    if user is None:
        raise NotFound(f"用户“{username}”不存在。")
    return user


def deactivate_user(username: str, by: User | None = None) -> User:
    """Deactivate an account and end every session it has; the last admin stays."""
    user = require_user(username)
    if by is not None and by.id == user.id:
        raise ValidationError("不能停用自己的账号。")
    if user.role == Role.ADMIN and user.active and not _other_active_admins(user):
        raise ValidationError("这是最后一个启用的管理员账号，不能停用。")
    user.active = False
    revoke_sessions(user)
    logger.info("User %r deactivated", user)
    return user


@dataclass(frozen=True)
class UserChanges:
    display_name: str
    role: Role
    department: str | None
    new_password: str | None = None


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.role == Role.ADMIN, User.active.is_(True), User.id != user.id
            )
        )
        or 0
    )


def update_user(user: User, changes: UserChanges, expected_version: int) -> User:
    """Apply an admin's edit; refuses a stale form and demoting the last active admin."""
    if user.version != expected_version:
        raise Conflict()
    role = Role(changes.role)
    if user.role == Role.ADMIN and role != Role.ADMIN and not _other_active_admins(user):
        raise ValidationError("这是最后一个启用的管理员账号，不能改为其他角色。", field="role")
    # queries first, then the user's fields: one edit, one flush, one version
    department = get_or_create_department(changes.department) if changes.department else None
    if changes.new_password:
        set_password(user, changes.new_password)
    user.display_name = changes.display_name.strip() or user.username
    user.role = role
    user.department = department
    db.session.flush()
    logger.info("User %r updated", user)
    return user


def activate_user(username: str) -> User:
    user = require_user(username)
    user.active = True
    logger.info("User %r reactivated", user)
    return user


def set_password(user: User, new_password: str, field: str = "new_password") -> None:
    """Set a new password and end every session of the user."""
    check_password_strength(new_password, field=field)
    revoke_sessions(user)  # first: its UPDATE autoflushes, so the user's row changes once
    user.password_hash = generate_password_hash(new_password)
    user.password_changed_at = utcnow()
    logger.info("Password of %r changed", user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not check_password_hash(user.password_hash, current_password):
        raise ValidationError("当前密码不正确。", field="current_password")
    if current_password == new_password:
        raise ValidationError("新密码不能与当前密码相同。", field="new_password")
    set_password(user, new_password)


# ---- login sessions --------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, ip: str | None, user_agent: str | None) -> str:
    """Record a signed-in browser; the returned token goes into the signed session cookie."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=_hash_token(token),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(row)
    db.session.flush()
    audit.record_event("login", "user_session", row.id, user.id)
    return token


def user_for_session(user_id: str, token: str | None) -> User | None:
    """The active user a session cookie belongs to, or None if it was revoked."""
    if not token or not (user_id.isascii() and user_id.isdigit()):
        return None
    return db.session.scalar(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            User.active.is_(True),
            UserSession.token_hash == _hash_token(token),
            UserSession.revoked_at.is_(None),
        )
    )


def end_session(token: str | None) -> None:
    """Log a browser out for good (audited)."""
    if not token:
        return
    row = db.session.scalar(
        sa.select(UserSession).where(
            UserSession.token_hash == _hash_token(token), UserSession.revoked_at.is_(None)
        )
    )
    if row is not None:
        row.revoked_at = utcnow()
        audit.record_event("logout", "user_session", row.id, row.user_id)


def revoke_sessions(user: User) -> None:
    """End every way in the account has: its browsers' sessions and its API tokens. A new
    password or a deactivation calls this; reactivating an account revives neither."""
    now = utcnow()
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if ended:
        logger.info("%d API token(s) of %r revoked with its sessions", ended, user)


# ---- authentication and throttling ------------------------------------------------------------

REFUSALS = {
    "pair": "该账号在这个地点登录失败次数过多，请 {m} 分钟后再试。",
    "account": (
        "该账号近期在陌生地点登录失败次数过多，暂时只能从您常用的地点登录，或 {m} 分钟后再试。"
    ),
    "address": "该地址登录失败次数过多，请 {m} 分钟后再试；在这里登录过的账号不受影响。",
}


def _claim_checks(username: str, ip: str) -> list[tuple[str, str]]:
    """Claim this attempt's place in every counter that applies (crm/auth/throttle.py), or
    raise LoginThrottled naming the wait. Returns the counters claimed."""
    now = utcnow()
    scopes = [("pair", f"{username}|{ip}")]
    if not throttle.is_known(username, ip, now):
        scopes += [("account", username), ("address", ip)]
    claimed: list[tuple[str, str]] = []
    for scope, key in scopes:
        until = throttle.claim(scope, key, now)
        if until is not None:
            for earlier in claimed:  # not checked after all: not counted (Redis keeps counts)
                throttle.release(*earlier, checked=False)
            minutes = throttle.minutes_until(until, now)
            logger.warning("Login throttled for %s %r: waits %d min", scope, key, minutes)
            raise LoginThrottled(REFUSALS[scope].format(m=minutes))
        claimed.append((scope, key))
    return claimed


def authenticate(username: str, password: str, ip: str) -> User | None:
    """Check a login; records the attempt. Returns the user, or None when refused."""
    username = normalise_username(username)[:64]
    claimed = _claim_checks(username, ip)
    user = get_user(username)
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    ok = ok and user is not None and user.active
    attempt = LoginAttempt(username=username, ip=ip, succeeded=ok)
    db.session.add(attempt)
    db.session.flush()
    if not ok:
        audit.record_event(
            "login_failed",
            "login_attempt",
            attempt.id,
            user.id if user else None,
            username=username,
        )
        logger.warning("Failed login for %r from %s", username, ip)
        return None
    for scope, key in claimed:
        throttle.release(scope, key)
    logger.info("User %r logged in from %s", user, ip)
    return user
