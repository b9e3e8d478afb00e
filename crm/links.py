"""Where each kind of record is shown: the one map from a record kind to its page.

The search index and matching speak of records as (kind, id); only the web layer knows the
pages, so a result becomes a link here and nowhere else. Some records have no page of their
own but a place on another's: a visit is an entry of its enterprise's 动态, a suggestion a card
on its need's page; their links go to that anchor (`#visit-12`, `#suggestion-7`)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, url_for

from crm import policy

#: kind → (endpoint of its page, the page's id argument)
PAGES = {
    "enterprise": ("enterprises.detail", "enterprise_id"),
    "institution": ("institutions.institution", "record_id"),
    "researcher": ("institutions.researcher", "record_id"),
    "achievement": ("institutions.achievement", "record_id"),
    "need": ("needs.detail", "record_id"),
    "cooperation": ("cooperation.detail", "coop_id"),
    "event": ("events.detail", "event_id"),
    "project": ("projects.detail", "project_id"),
    "candidate": ("cultivation.candidate", "candidate_id"),
}
#: kinds shown on another record's page: kind → (that record's kind, the attribute naming it)
PARTS = {
    "visit": ("enterprise", "enterprise_id"),
    "suggestion": ("need", "need_id"),
    "branch": ("institution", "institution_id"),
}


def record_url(kind: str, record_id: int) -> str:
    endpoint, argument = PAGES[kind]
    return url_for(endpoint, **{argument: record_id})


def may_open(user: Any, kind: str) -> bool:
    """Whether `user` may open the page a record of this kind is shown on."""
    if kind in PARTS:
        kind = PARTS[kind][0]
    if kind not in PAGES:
        return False
    view = current_app.view_functions.get(PAGES[kind][0])
    needed = policy.required_level(view, "GET")
    return needed is not None and policy.user_level(user) >= needed


def record_link(kind: str, record: Any, user: Any = None) -> str | None:
    """The address of the page showing `record` (its own, or its place on another's), or None
    when it has none — or, given a `user`, when that user may not open it."""
    if record is None or (user is not None and not may_open(user, kind)):
        return None
    if kind in PARTS:
        parent, attribute = PARTS[kind]
        endpoint, argument = PAGES[parent]
        return url_for(
            endpoint, **{argument: getattr(record, attribute)}, _anchor=f"{kind}-{record.id}"
        )
    if kind not in PAGES:
        return None
    return record_url(kind, record.id)


def register(app: Flask) -> None:
    app.jinja_env.globals["record_url"] = record_url
    app.jinja_env.globals["record_link"] = record_link
