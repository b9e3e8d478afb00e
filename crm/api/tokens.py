"""Creating, checking and revoking personal API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm import policy, queries
from crm.api.models import ApiToken
from crm.auth.models import Role, User
from crm.db import utcnow
from crm.errors import NotFound, ValidationError
from crm.extensions import db

logger = logging.getLogger(__name__)

PREFIX = "khn_"  # 科技红娘: a token is recognisable in a leaked file or a secret scanner
LIFETIMES = (30, 90, 180, 365)  # days a token may live


@dataclass(frozen=True)
class TokenData:
    name: str
    role: Role
    days: int


def digest(token: str) -> str:
    """Tokens are 32 random bytes: a plain SHA-256 is enough (no guessing to slow down)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(user: User, data: TokenData) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its text, which is shown once and not kept."""
    name = data.name.strip()
    if not name:
        raise ValidationError("请给令牌起个名字，例如“省技术市场同步”。", field="name")
    if data.days not in LIFETIMES:
        raise ValidationError("有效期只能是 30、90、180 或 365 天。", field="days")
    if policy.ROLE_LEVEL[data.role.value] > policy.ROLE_LEVEL[user.role.value]:
        raise ValidationError("令牌的权限不能高于您自己的角色。", field="role")
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name[:80],
        prefix=text[:12],
        digest=digest(text),
        role=data.role,
        expires_at=utcnow() + timedelta(days=data.days),
    )
    db.session.add(token)
    db.session.flush()
    logger.info("%r created by %s (%s, %d days)", token, user.username, data.role.value, data.days)
    return token, text


def owned(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def every(owner: User | None = None) -> list[ApiToken]:
    """Every user's tokens (or one user's), newest first, with their owners: the admins'
    list."""
    stmt = sa.select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if owner is not None:
        stmt = stmt.where(ApiToken.user_id == owner.id)
    return list(db.session.scalars(stmt))


def state(token: ApiToken) -> str:
    """有效, 已吊销 or 已过期, as the lists show it."""
    if token.revoked_at is not None:
        return "已吊销"
    if token.expires_at <= utcnow():
        return "已过期"
    return "有效"


def find(token_id: int) -> ApiToken:
    token = queries.find(ApiToken, token_id)
    if token is None:
        raise NotFound(f"没有编号为 {token_id} 的令牌。")
    return token


def revoke(user: User | None, token_id: int) -> ApiToken:
    """Stop a token at once: its owner's, or any by an admin (`user` None: the shell)."""
    token = queries.find(ApiToken, token_id)
    if token is None or (
        user is not None and token.user_id != user.id and not policy.is_admin(user)
    ):
        raise ValidationError("没有这个令牌。")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        logger.info("%r revoked by %s", token, user.username if user else "the shell")
    return token


def authenticate(text: str) -> ApiToken | None:
    """The live token with this text, its owner active; None otherwise (which, is logged)."""
    if not text.startswith(PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.digest == digest(text))
        .options(joinedload(ApiToken.user))  # its owner is needed on every request
    )
    now = utcnow()
    if token is None:
        logger.info("API token %s… unknown", text[:12])
        return None
    if token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        logger.info("%r refused: revoked, expired or its owner disabled", token)
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # at most one write every five minutes per token
    return token
