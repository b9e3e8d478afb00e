"""`crm match`: the matcher from the shell, with a JSON contract scripts rely on."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.commands import acting_user
from crm.errors import cli_errors
from crm.extensions import db
from crm.matching import batch, runs, services
from crm.needs.services import get_need


def _print(found: list[services.Candidate], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in found], ensure_ascii=False))
        return
    for c in found:
        terms = "、".join(m.term + (f"（{m.via}）" if m.via else "") for m in c.matched[:6])
        where = f" · {c.institution}" if c.institution else ""
        click.echo(f"{c.score:7.3f}  [{c.kind}] #{c.id} {c.name}{where}  ← {terms}")


@click.command("match")
@click.option("--text", help="A need in plain words.")
@click.option(
    "--text-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="One need a line; one result line each, in order.",
)
@click.option("--need", "need_id", type=int, help="A registered need's id.")
@click.option("--all", "every", is_flag=True, help="Suggestions for every open need (batch).")
@click.option("--user", "username", help="With --all: act as this user (default: first admin).")
@click.option("--run", "run_id", type=int, hidden=True, help="With --all: report to this run.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="One JSON array a query, best first.")
@with_appcontext
def match_cli(
    text: str | None,
    text_file: Path | None,
    need_id: int | None,
    every: bool,
    username: str | None,
    run_id: int | None,
    top: int,
    as_json: bool,
) -> None:
    """Match a need with researchers, achievements and institutions (explained)."""
    given = [x for x in (text, text_file, need_id, every or None) if x is not None]
    if len(given) != 1:
        raise click.UsageError("请给出 --text、--text-file、--need 或 --all 之一。")
    if every:
        from crm.text import embed  # noqa: PLC0415

        embed.engine(os.cpu_count() or 1)  # a batch: needs without a vector use every core
        user = acting_user(username)
        with cli_errors(), click.progressbar(length=1, label="生成匹配") as bar:

            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            if run_id is None:
                result = batch.generate_all(user, top, advance)
            else:
                result = runs.execute(run_id, user, top, advance)
        click.echo(
            f"新增推荐 {result.added} 条，更新 {result.refreshed} 条，"
            f"保留已处理的 {result.kept} 条。"
        )
        return
    saved = services.saved_index_path()  # a cold process starts from the last built index
    with cli_errors():
        if text is not None:
            _print(services.match_text(text, top, saved=saved), as_json)
        elif need_id is not None:
            _print(services.match_need(get_need(need_id), top, saved=saved), as_json)
        elif text_file is not None:
            for line in text_file.read_text(encoding="utf-8").splitlines():
                found = services.match_text(line, top, saved=saved) if line.strip() else []
                _print(found, as_json)


@click.command("embed")
@click.option("--batch", default=256, show_default=True, type=click.IntRange(1, 5000))
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    help="OpenMP threads of the model (default: every core; a web worker uses one).",
)
@click.option("--status", is_flag=True, help="Only say how many records wait for vectors.")
@with_appcontext
def embed_cli(batch: int, threads: int | None, status: bool) -> None:
    """Embed every record saved since its vector was made (resumable: stop it at any time;
    the next run goes on where it stopped)."""
    from crm.matching import embedder, embeddings  # noqa: PLC0415 - the engine only here
    from crm.text import embed

    embed.engine(threads or os.cpu_count() or 1)
    connection = db.session.connection()
    pending, total = embeddings.pending_count(connection), embeddings.embeddable_count(connection)
    reason = embed.unavailable()
    click.echo(f"待计算向量 {pending} 条（共 {total} 条记录）；模型 {embed.MODEL}")
    if status:
        return
    if reason is not None:
        raise click.ClickException(f"语义模型不可用：{reason}。匹配仍按关键词进行。")
    started = time.monotonic()
    progress = {"done": 0}

    def report(step: embeddings.Embedded) -> None:
        progress["done"] += step.looked
        done, of = progress["done"], max(pending, progress["done"])
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        left = (of - done) / rate if rate else 0.0
        click.echo(
            f"\r{done}/{of} 条  {rate:.1f} 条/秒  预计还需 {left / 60:.1f} 分钟   ",
            nl=False,
        )

    result = embedder.run(batch, report)
    elapsed = time.monotonic() - started
    click.echo(f"\n完成：{result.looked or 0} 条记录，用时 {elapsed:.1f} 秒。")
