"""No button that is then refused: every page of `app.url_map`, rendered for each role — an
admin, an officer of the records' department, the officer who owns them, an officer of another
department, a viewer — and every form on it sent as the page offers it, by the same user. None
may answer 403 (the page showed a button the service refuses: the templates ask the policy
functions the services ask) or 405 (a form posting to nothing), nor refuse it (400) without a
word on the page about why (an edit form failing on a field it does not show). Each sending is undone before
the next, so every form is tried on the same records."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.conftest import AuthActions
from tests.pages import forms
from tests.test_roles import _rules
from tests.world import url_in, world_fixture  # noqa: F401 - the `world` fixture

#: sending these ends the test's own session; they are always allowed to the signed-in
NOT_SENT = {"auth.logout"}
ROLES = ["admin", "owner", "officer", "stranger", "viewer"]
#: how a refused form tells the user what to fix: a field's message or an alert
SAYS_WHY = ("invalid-feedback", "alert-danger", "alert-warning", 'role="alert"')


def _pages(app: Flask) -> list:
    return [
        r
        for r in _rules(app)
        if "GET" in r.methods and not r.rule.startswith("/api/") and r.endpoint != "auth.login"
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_form_a_page_offers_is_allowed_to_whoever_sees_it(app, world, undone, role):
    client = app.test_client()
    AuthActions(client).login(world["users"][role].username)
    adapter = app.url_map.bind("localhost")
    refused, sent = [], 0
    for rule in _pages(app):
        url = url_in(rule, world)
        page = client.get(url)
        if page.status_code != 200 or page.mimetype != "text/html":
            page.close()
            continue
        for form in forms(page.get_data(as_text=True), url):
            if form.method != "POST":
                continue
            try:
                endpoint, _ = adapter.match(form.path, "POST")
            except MethodNotAllowed:
                refused.append((url, form.action, 405))
                continue
            except NotFound:
                refused.append((url, form.action, 404))
                continue
            if endpoint in NOT_SENT:
                continue
            with undone():
                answer = client.post(form.action, data=form.data())
                sent += 1
            if answer.status_code in (403, 405):
                refused.append((url, form.action, answer.status_code))
            elif answer.status_code == 400 and answer.mimetype == "text/html":
                body = answer.get_data(as_text=True)
                if not any(mark in body for mark in SAYS_WHY):
                    refused.append((url, form.action, "400 without a word why"))
    assert not refused, refused
    assert sent >= (1 if role == "viewer" else 15), sent  # (a viewer: API tokens, password)
