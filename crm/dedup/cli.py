"""`crm dedup --kind enterprises`: the candidate pairs the admin page lists."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.dedup import services
from crm.errors import cli_errors


@click.command("dedup")
@click.option(
    "--kind", type=click.Choice(list(services.KINDS)), default="enterprises", show_default=True
)
@click.option("--threshold", type=float, help="Name similarity 0–100 (default: the setting).")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of pairs.")
@with_appcontext
def dedup_cli(kind: str, threshold: float | None, limit: int, as_json: bool) -> None:
    """List possible duplicates for a person to review (nothing is merged here)."""
    threshold = threshold or float(current_app.config["DEDUP_THRESHOLD"])
    started = time.perf_counter()
    with cli_errors():
        pairs = services.candidates(kind, threshold, limit)
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "a": {"id": p.a.id, "name": p.a.name},
                        "b": {"id": p.b.id, "name": p.b.name},
                        "score": p.score,
                        "reason": p.reason,
                    }
                    for p in pairs
                ],
                ensure_ascii=False,
            )
        )
        return
    for p in pairs:
        click.echo(f"{p.score:5.1f}  #{p.a.id} {p.a.name}  ⇄  #{p.b.id} {p.b.name}  （{p.reason}）")
    click.echo(
        f"共 {len(pairs)} 对疑似重复（阈值 {threshold:g}，用时 {elapsed:.2f} 秒）。"
        "请在“查重合并”页面逐对确认后合并。"
    )
