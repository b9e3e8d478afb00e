"""`crm report --year 2026 [--month 11] -o report.xlsx`: the report leadership receives."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.commands import acting_user
from crm.dashboard import report
from crm.errors import cli_errors
from crm.extensions import db


@click.command("report")
@click.option("--year", type=click.IntRange(1990, 2100), required=True)
@click.option(
    "--month", type=click.IntRange(1, 12), help="Only this month's cooperation, visits and needs."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--user", "username", help="Recorded as the one who made it (default: first admin).")
@with_appcontext
def report_cli(year: int, month: int | None, output: Path, username: str | None) -> None:
    """Targets against actuals, per department, new cooperation, visits and needs (.xlsx)."""
    user = acting_user(username)
    period = report.Period(year, month)
    with cli_errors(), output.open("wb") as fh:
        report.write(user, period, fh)
    db.session.commit()
    click.echo(f"已生成 {period.label}报表：{output}")
