"""`crm export KIND`: what the lists' export buttons give, for every live record of a kind."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.commands import acting_user
from crm.errors import cli_errors
from crm.exports import services
from crm.extensions import db
from crm.sheets import KIND_CHOICES


@click.command("export")
@click.argument("kind", type=click.Choice(KIND_CHOICES))
@click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--user", "username", help="Export as this user sees it (default: the first admin).")
@with_appcontext
def export_cli(kind: str, fmt: str, output: Path, username: str | None) -> None:
    """Export every live record of a kind, as the import templates lay them out."""
    user = acting_user(username)
    with cli_errors():
        spec = services.ExportSpec(kind, services.everything(kind), {"来源": "命令行"})
        with output.open("wb") as fh:
            rows = services.write(user, spec, fmt, fh)
    db.session.commit()
    click.echo(f"已导出 {rows} 条到 {output}")
