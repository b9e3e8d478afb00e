"""What every `crm` command shares: the account it acts as (its audit entries and its view of
personal data are that user's)."""

from __future__ import annotations

import click
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.extensions import db


def acting_user(username: str | None) -> User:
    """The account a command acts as: --user, or the first active admin."""
    stmt = sa.select(User).where(User.active)
    stmt = (
        stmt.where(User.username == username)
        if username
        else stmt.where(User.role == Role.ADMIN).order_by(User.id)
    )
    user = db.session.scalars(stmt.limit(1)).first()
    if user is None:
        raise click.ClickException(
            f"没有启用的用户“{username}”。"
            if username
            else "没有启用的管理员账号，请用 --user 指定。"
        )
    return user
