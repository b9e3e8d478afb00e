"""Each area's command groups, added to the app's CLI (`crm user`, `crm seed`, …)."""

from __future__ import annotations

from flask import Flask

from crm.api.cli import token_cli
from crm.auth.cli import user_cli
from crm.dashboard.cli import report_cli
from crm.dedup.cli import dedup_cli
from crm.exports.cli import export_cli
from crm.imports.cli import import_cli, import_job_cli
from crm.matching.cli import embed_cli, match_cli
from crm.ops.cli import backup_cli, check_cli, restore_cli
from crm.search.cli import search_cli
from crm.seed.cli import seed_cli


def register(app: Flask) -> None:
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(import_job_cli)
    app.cli.add_command(dedup_cli)
    app.cli.add_command(match_cli)
    app.cli.add_command(embed_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(check_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(restore_cli)
