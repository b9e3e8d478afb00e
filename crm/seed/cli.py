"""`crm seed ...`: load reference lists and demo data; make sure an admin exists."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from crm.clock import local_today
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.seed import demo, services

seed_cli = AppGroup("seed", help="加载基础数据和演示数据。")


@seed_cli.command("reference")
def reference() -> None:
    """Load towns and industries (safe to run again)."""
    loader = services.load_reference()
    db.session.commit()
    click.echo(f"基础数据已加载：{dict(loader.created) or '无新增'}")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when enterprises already exist.")
def demo_command(if_empty: bool) -> None:
    """Load the fictional demo data set (safe to run again: existing records are kept)."""
    if if_empty and db.session.scalar(sa.select(sa.func.count(Enterprise.id))):
        click.echo("数据库已有企业数据，跳过演示数据。")
        return
    loader = demo.load_demo(local_today())
    db.session.commit()
    click.echo(f"演示数据已加载：{dict(loader.created) or '无新增'}")


@seed_cli.command("admin")
@click.option("--username", default="admin", show_default=True)
def admin(username: str) -> None:
    """Create an admin with a random password if there is no active admin; print it once."""
    made = services.ensure_admin(username)
    if made is None:
        click.echo("已存在管理员账号。")
        return
    db.session.commit()
    user, password = made
    click.echo("=" * 60)
    click.echo(f"已创建演示管理员：用户名 {user.username}  密码 {password}")
    click.echo("此密码只显示这一次；忘记时可用 `crm user password admin` 重设。")
    click.echo("=" * 60)
