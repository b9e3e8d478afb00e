"""Users, departments, server-side login sessions and login attempts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, Choice, Timestamped, Versioned, enum_column, utcnow


class Role(Choice):
    ADMIN = "admin", "管理员"
    OFFICER = "officer", "联络员"
    VIEWER = "viewer", "领导（只读）"


class Department(Timestamped, Versioned, Base):
    """科室 / 下属事业单位: targets are split across departments."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="科室")  # 科室 / 下属事业单位
    active: Mapped[bool] = mapped_column(default=True)

    users: Mapped[list[User]] = relationship(
        back_populates="department", foreign_keys="User.department_id"
    )


class User(UserMixin, Timestamped, Versioned, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[Role] = enum_column(Role, "user_role", default=Role.OFFICER)
    department_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    password_changed_at: Mapped[datetime | None]

    department: Mapped[Department | None] = relationship(
        back_populates="users", foreign_keys=[department_id]
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


class UserSession(Base):
    """A signed-in browser. Logout revokes it, so a copied cookie opens nothing afterwards."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful logins; throttling counts these, so it holds across processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_username_at", "username", "at"),
        sa.Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)


class LoginThrottle(Base):
    """A count of recent failed logins — of one account from one address (`pair`), of one
    account (`account`) or from one address (`address`) — and until when the next attempt
    must wait. Changed only by single atomic statements (crm/auth/throttle.py)."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # pruned by it
    blocked_until: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.scope} {self.key!r} {self.failures}>"
