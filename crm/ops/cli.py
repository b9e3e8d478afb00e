"""`crm check --deploy`, `crm backup -o FILE`, `crm restore FILE`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.ops import backup as backups
from crm.ops import checks


@click.command("check")
@click.option("--deploy", is_flag=True, required=True, help="Check the production settings.")
@with_appcontext
def check_cli(deploy: bool) -> None:
    """Refuse a configuration that must not go to production; each finding named."""
    findings = checks.deploy(current_app._get_current_object())  # type: ignore[attr-defined]
    for finding in findings:
        click.echo(str(finding), err=True)
    if findings:
        raise click.ClickException(f"部署检查发现 {len(findings)} 个问题，请先处理。")
    click.echo("部署检查通过。")


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_cli(output: Path | None) -> None:
    """A consistent copy of the live database (SQLite backup API, or pg_dump -Fc)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if output is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a local file name
        output = checks.backup_dir(app) / f"crm-{stamp}.backup"
    backups.backup(app, output)
    click.echo(f"已备份到 {output}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the database's content is replaced.")
@with_appcontext
def restore_cli(source: Path, yes: bool) -> None:
    """Replace the database's content with a backup's (stop the app servers first)."""
    if not yes:
        click.confirm("恢复会替换当前数据库的全部内容，确定继续？", abort=True)
    backups.restore(current_app._get_current_object(), source)  # type: ignore[attr-defined]
    click.echo(f"已从 {source} 恢复。")
