"""Personal API tokens: shown once, stored as a SHA-256 digest, revocable, expiring, with a
role no higher than their owner's."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import Role, User
from crm.db import Base, enum_column, utcnow


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))  # what the owner calls it: 省技术市场同步
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the token's first characters, shown
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 of the token
    role: Mapped[Role] = enum_column(Role, "api_token_role")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # requests in the current minute, for throttling when there is no Redis
    window_started_at: Mapped[datetime | None]
    window_requests: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… of user {self.user_id}>"
