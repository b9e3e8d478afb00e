"""`crm search QUERY [--json]`, and `crm search --reindex` to rebuild the index."""

from __future__ import annotations

import json
import time

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from crm.extensions import db
from crm.search import index, services
from crm.text.models import SearchTerm


@click.command("search")
@click.argument("text", required=False)
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array, best first.")
@click.option("--reindex", is_flag=True, help="Rebuild the search index from the records.")
@click.option("--if-empty", is_flag=True, help="With --reindex: only when the index is empty.")
@with_appcontext
def search_cli(text: str | None, limit: int, as_json: bool, reindex: bool, if_empty: bool) -> None:
    """Search like the nav bar's box (企业、院所、专家、需求、成果)."""
    if reindex:
        if if_empty and db.session.scalar(sa.select(SearchTerm.id).limit(1)) is not None:
            click.echo("检索索引已存在，跳过。")
            return
        started = time.perf_counter()
        total = index.reindex(db.session)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE search_term"))  # fresh statistics for the planner
        db.session.commit()
        click.echo(f"已重建检索索引：{total} 条记录，用时 {time.perf_counter() - started:.1f} 秒。")
        return
    if not text:
        raise click.UsageError("请给出要搜索的内容，例如：crm search 硅藻土")
    hits = services.search(text, limit=limit)
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in hits], ensure_ascii=False))
        return
    for h in hits:
        click.echo(f"{h.score:6.2f}  {h.label}  {h.title}  {h.subtitle}")
