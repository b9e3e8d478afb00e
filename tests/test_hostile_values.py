"""No value a client sends makes a 5xx: every route of `app.url_map`, on the database under
test, asked with ids past the 32-bit columns in its path, with hostile values in every query
parameter its pages' filters (and the API's lists) take, and with every field of every form
its pages offer set to a hostile value in turn — a NUL byte (PostgreSQL cannot store one),
integers past any column, NaN and Infinity, negative and full-width numbers. Each is a 400 or
404 (or a form shown again with its error), in Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from crm.api.resources import RESOURCES
from tests.api.helpers import bearer
from tests.conftest import AuthActions, today
from tests.pages import Form, form_to, forms
from tests.routes import real_url
from tests.test_roles import _rules
from tests.world import url_in, world_fixture  # noqa: F401 - the `world` fixture

HOSTILE = [
    "含\x00空字符",
    "\x00",
    "99999999999999999999",
    "2147483648",
    "-1",
    "NaN",
    "Infinity",
    "１２３",
    "²",  # a digit to str.isdigit, not to int()
    "99999999999999.999",  # below a Numeric(16, 2)'s most, until rounded to the cent
    "9999999999.999",  # the same for 万元 and targets
]
#: in a query string: the kinds of value that reach a query (text, id, page, year, number)
QUERY_HOSTILE = ["含\x00空字符", "99999999999999999999", "2147483648", "-1", "NaN", "²"]
HUGE_IDS = [2**31, 2**63, 10**30]
#: forms whose sending would end the test's own session
SKIPPED = {"auth.logout", "auth.password"}


def _assert_no_5xx(response: Any, what: str) -> None:
    response.close()
    assert response.status_code < 500, (what, response.status_code)


def _pages(app: Flask) -> list[Rule]:
    return [r for r in _rules(app) if "GET" in r.methods and not r.rule.startswith("/api/")]


def _plausible(form: Form, name: str, value: str) -> str:
    """What a person would have typed into an empty field, so that the hostile one is what
    the server has to deal with."""
    if value:
        return value
    kind = form.types.get(name, "text")
    if kind == "date":
        return today().isoformat()
    if kind == "number" or "year" in name:
        return "2025"
    return "测试"


def test_ids_past_the_columns_in_any_path_are_not_found(app, client, world):
    AuthActions(client).login(world["users"]["admin"].username)
    token = bearer(world["users"]["admin"])
    checked = 0
    for rule in _rules(app):
        ints = [
            a for a in rule.arguments if type(rule._converters[a]).__name__ != "UnicodeConverter"
        ]
        if not ints:
            continue
        for huge in HUGE_IDS:
            ids = {**world["ids"], **dict.fromkeys(ints, huge)}
            records = {"/": huge}  # every record_id
            url = real_url(rule, ids, records)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
                response = client.open(url, method=method, headers=headers)
                _assert_no_5xx(response, f"{method} {url}")
                checked += 1
    assert checked > 100


def test_hostile_query_values_on_every_list_and_filter(app, client, world):
    """Each page with the usual list parameters, and each GET form's fields sent where the
    form sends them (a filter to its list, the nav box to /search) — once per place."""
    admin = world["users"]["admin"]
    AuthActions(client).login(admin.username)
    checked = 0
    asks: dict[str, set[str]] = {}
    for rule in _pages(app):
        url = url_in(rule, world)
        asks.setdefault(url, set()).update({"page", "sort", "year", "month", "format"})
        page = client.get(url)
        if page.mimetype == "text/html":
            for form in forms(page.get_data(as_text=True), url):
                if form.method == "GET":
                    asks.setdefault(form.path, set()).update(n for n, _ in form.fields)
        page.close()
    for url, names in asks.items():
        for name in sorted(names):
            for value in QUERY_HOSTILE:
                _assert_no_5xx(client.get(url, query_string={name: value}), f"{url}?{name}")
                checked += 1
    token = bearer(admin)
    for name, resource in RESOURCES.items():
        for param in [*resource.filters, "page", "per_page", "updated_since"]:
            for value in HOSTILE:
                response = client.get(
                    f"/api/v1/{name}",
                    query_string={param: value},
                    headers={"Authorization": f"Bearer {token}"},
                )
                _assert_no_5xx(response, f"/api/v1/{name}?{param}={value!r}")
                assert response.is_json
                checked += 1
    assert checked > 500


def test_hostile_values_in_every_field_of_every_form(app, client, world, undone):
    """Each form a page offers, filled as a person would, with one field hostile at a time."""
    AuthActions(client).login(world["users"]["admin"].username)
    sent = 0
    for rule in _pages(app):
        url = url_in(rule, world)
        page = client.get(url)
        if page.mimetype != "text/html":
            continue
        for form in forms(page.get_data(as_text=True), url):
            if form.method != "POST":
                continue
            target = app.url_map.bind("localhost").match(form.path, "POST")
            if target[0] in SKIPPED:
                continue
            base = {n: _plausible(form, n, v) for n, v in form.data().items() if isinstance(v, str)}
            base.pop("submission_key", None)  # else every sending after the first saves nothing
            for name in [n for n in base if n != "csrf_token"]:
                for value in HOSTILE:
                    with undone():  # each from the same records
                        response = client.post(form.action, data={**base, name: value})
                    _assert_no_5xx(response, f"{form.action} {name}={value!r}")
                    sent += 1
    assert sent > 300


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "9999999999.999"])
def test_targets_refuse_numbers_that_are_not_numbers(client, make_user, value):
    AuthActions(client).login(make_user(role="admin").username)
    html = client.get("/targets/edit").get_data(as_text=True)
    form = form_to(html, "/targets/edit", "/targets/edit")
    name = next(n for n, _ in form.fields if n.startswith("t-"))  # a target's value
    response = client.post(form.action, data=form.data(**{name: value}))
    assert response.status_code == 400, response.status_code
    assert "数" in response.get_data(as_text=True)


def test_a_nul_in_the_login_name_is_refused_in_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    form = form_to(html, "/login", "/login")
    for name in ("shen\x00xf", "\x00"):
        response = client.post("/login", data=form.data(username=name, password="whatever-123"))
        assert response.status_code == 400
        assert "无效字符" in response.get_data(as_text=True)
