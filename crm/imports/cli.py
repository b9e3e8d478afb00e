"""`crm import FILE`: the same service as the upload page."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.commands import acting_user
from crm.errors import cli_errors
from crm.extensions import db
from crm.imports import jobs, services
from crm.imports.mappings import remember_mapping
from crm.imports.outcome import Options
from crm.imports.published import Programmes
from crm.projects.models import ProjectStage
from crm.sheets import IMPORT_KINDS, SHEETS

LISTS = {"立项": ProjectStage.APPROVED.value, "验收": ProjectStage.ACCEPTED.value}


def _mapping(pairs: tuple[str, ...], kind: str | None) -> dict[str, str]:
    """`--map "所属乡镇（街道）=所属乡镇"`: the file's header = our header, field key, or
    nothing (`--map "序号="`: not imported)."""
    mapping = {}
    for pair in pairs:
        header, sep, target = pair.partition("=")
        if not sep or not header.strip():
            raise click.BadParameter(f"“{pair}”应写成“文件中的列名=字段”。", param_hint="--map")
        target = target.strip()
        if target:
            found = _field(target, kind)
            if found is None:
                raise click.BadParameter(f"没有名为“{target}”的字段。", param_hint="--map")
            target = found
        mapping[header.strip()] = target
    return mapping


def _field(name: str, kind: str | None) -> str | None:
    sheets = [SHEETS[kind]] if kind else list(SHEETS.values())
    for sheet in sheets:
        for col in sheet.columns:
            if name in (col.key, col.header, *col.aliases):
                return col.key
    return None


def _programme(name: str | None) -> int | None:
    """`--programme 浙江省重点研发计划`: one of the admins' programmes (spaces and brackets as
    typed do not matter)."""
    if not name:
        return None
    found = Programmes().named(name)
    if found.programme is None:
        also = f"（可能是：{'、'.join(found.candidates)}）" if found.candidates else ""
        raise click.BadParameter(f"科技计划列表中没有“{name}”{also}。", param_hint="--programme")
    return found.programme.id


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(IMPORT_KINDS), help="Default: inferred from the headers.")
@click.option(
    "--sheet", help="The worksheet to read (default: the first visible one with a table)."
)
@click.option(
    "--map",
    "pairs",
    multiple=True,
    help='A column mapping, e.g. --map "所属乡镇（街道）=所属乡镇"; "序号=" ignores a column.',
)
@click.option(
    "--year", type=click.IntRange(1990, 2100), help="Year of figures whose header has none."
)
@click.option(
    "--above-scale/--no-above-scale",
    default=None,
    help="Mark the firms 规上 for the year (default: when the title says 规上).",
)
@click.option(
    "--list",
    "list_stage",
    type=click.Choice(tuple(LISTS)),
    help="A published project list: 立项 or 验收 (default: from its title).",
)
@click.option(
    "--programme", help="A published project list's programme, by name (default: from its title)."
)
@click.option(
    "--date",
    "listed_on",
    type=click.DateTime(["%Y-%m-%d"]),
    help="A published project list's date, YYYY-MM-DD (default: today).",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
@click.option("--user", "username", help="Act as this user (default: the first admin).")
@with_appcontext
def import_cli(
    file: Path,
    kind: str | None,
    sheet: str | None,
    pairs: tuple[str, ...],
    year: int | None,
    above_scale: bool | None,
    list_stage: str | None,
    programme: str | None,
    listed_on: datetime | None,
    dry_run: bool,
    username: str | None,
) -> None:
    """Import an .xlsx or .csv file (企业、高校院所、专家、需求、成果、联系人, and the province's
    and city's 科技项目立项 / 验收名单)."""
    user = acting_user(username)
    options = Options(
        kind,
        sheet,
        _mapping(pairs, kind),
        year,
        above_scale,
        list_stage=LISTS[list_stage] if list_stage else None,
        programme_id=_programme(programme),
        listed_on=listed_on.date() if listed_on else None,
    )
    started = time.perf_counter()
    with cli_errors():
        report = services.run_import(
            user,
            file,
            file.name,
            options,
            dry_run=dry_run,
            progress=lambda rows: click.echo(f"已处理 {rows:,} 行…", err=True),
        )
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
        remember_mapping(user, report.kind, report.headers, report.matches)
    elapsed = time.perf_counter() - started
    click.echo(f"{report.where}；列的对应：")
    for m in report.matches:
        if m.header:
            target = m.column.header if m.column else "（不导入）"
            click.echo(f"  {m.header} → {target}（{m.label}）")
    for issue in report.issues:
        where = f"第 {issue.row} 行" if issue.row else "文件"
        column = f"【{issue.column}】" if issue.column else ""
        label = {"error": "错误", "warning": "提醒", "note": "说明"}[issue.level]
        click.echo(f"{label} {where}{column}：{issue.message}")
    head = "预览（未写入）" if dry_run else f"已导入，批次 #{report.batch_id}"
    click.echo(
        f"{head}：{report.label} {report.rows} 行，{report.summary()}；"
        f"用时 {elapsed:.1f} 秒（{report.rows / max(elapsed, 1e-9):,.0f} 行/秒）。"
    )


@click.command("import-job", hidden=True)
@click.argument("job_id", type=int)
@with_appcontext
def import_job_cli(job_id: int) -> None:
    """Run an import job started from the web (its process; see crm/imports/jobs.py)."""
    jobs.execute(job_id)
