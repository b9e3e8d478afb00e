"""`crm user ...`: account management from the shell, through the same services as the web."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from crm.auth import services
from crm.auth.models import Role
from crm.errors import cli_errors
from crm.extensions import db

user_cli = AppGroup("user", help="管理用户账号 (create, list, deactivate, password).")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")


@user_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--department", help="科室名称 (created if new)")
@click.option("--display-name", help="姓名 (defaults to the username)")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(
    username: str, role: str, department: str | None, display_name: str | None, password_stdin: bool
) -> None:
    """Create a user account."""
    password = _read_password(password_stdin)
    data = services.UserData(username, display_name or username, Role(role), password, department)
    with cli_errors():
        user = services.create_user(data)
    db.session.commit()
    click.echo(f"已创建用户 {user.username}（{user.role.label}）")


@user_cli.command("list")
def list_() -> None:
    """List user accounts."""
    for user in services.list_users():
        dept = user.department.name if user.department else "-"
        state = "启用" if user.active else "停用"
        click.echo(f"{user.username}\t{user.display_name}\t{user.role.value}\t{dept}\t{state}")


@user_cli.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    """Deactivate an account; its sessions end at once."""
    with cli_errors():
        user = services.deactivate_user(username)
    db.session.commit()
    click.echo(f"已停用用户 {user.username}")


@user_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def password(username: str, password_stdin: bool) -> None:
    """Set a user's password (ends the user's sessions)."""
    with cli_errors():
        user = services.require_user(username)
        services.set_password(user, _read_password(password_stdin), field="password")
    db.session.commit()
    click.echo(f"已重设 {user.username} 的密码")
