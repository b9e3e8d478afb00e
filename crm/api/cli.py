"""`crm token ...`: the API tokens of every user from the shell (an admin's work), through the
same services as the admins' page."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.api import tokens
from crm.auth.services import require_user
from crm.errors import cli_errors
from crm.extensions import db

token_cli = AppGroup("token", help="API 令牌：list, revoke.")


@token_cli.command("list")
@click.option("--user", "username", help="只列这个用户的令牌")
def list_(username: str | None) -> None:
    """List API tokens: id, owner, name, role, state, expiry, last use."""
    with cli_errors():
        owner = require_user(username) if username else None
    for t in tokens.every(owner):
        used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "-"
        click.echo(
            f"{t.id}\t{t.user.username}\t{t.name}\t{t.prefix}…\t{t.role.value}\t"
            f"{tokens.state(t)}\t{t.expires_at.date().isoformat()}\t{used}"
        )


@token_cli.command("revoke")
@click.argument("token_ids", nargs=-1, type=int, required=False)
@click.option("--user", "username", help="吊销这个用户的全部令牌")
def revoke(token_ids: tuple[int, ...], username: str | None) -> None:
    """Revoke tokens by id, or every token of one user (--user)."""
    if not token_ids and not username:
        raise click.UsageError("请给出令牌编号，或用 --user 指定用户。")
    with cli_errors():
        chosen = [tokens.find(token_id) for token_id in token_ids]
        if username:
            chosen += [t for t in tokens.every(require_user(username)) if t.revoked_at is None]
        for token in chosen:
            tokens.revoke(None, token.id)
    db.session.commit()
    for token in chosen:
        click.echo(f"已吊销令牌 {token.id}（{token.user.username}：{token.name}）")
