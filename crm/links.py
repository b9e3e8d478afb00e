"""Where each kind of record is shown: the one map from a record kind to its page.

The search index and matching speak of records as (kind, id); only the web layer knows the
pages, so a result becomes a link here and nowhere else."""

from __future__ import annotations

from flask import Flask, url_for

#: kind → (endpoint of its page, the page's id argument)
PAGES = {
    "enterprise": ("enterprises.detail", "enterprise_id"),
    "institution": ("institutions.institution", "record_id"),
    "researcher": ("institutions.researcher", "record_id"),
    "achievement": ("institutions.achievement", "record_id"),
    "need": ("needs.detail", "record_id"),
}


def record_url(kind: str, record_id: int) -> str:
    endpoint, argument = PAGES[kind]
    return url_for(endpoint, **{argument: record_id})


def register(app: Flask) -> None:
    app.jinja_env.globals["record_url"] = record_url
