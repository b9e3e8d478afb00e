"""Hostile input on the pages officers use: SQL in search boxes, made-up sort orders, fields a
form does not have (mass assignment), and redirects off the site. Each is ignored or refused
and changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from tests.conftest import PASSWORD, AuthActions, csrf_token

HOSTILE = (
    "' OR 1=1--",
    '"; DROP TABLE enterprise; --',
    '%\' UNION SELECT password_hash FROM "user"--',
)


def test_sql_in_search_and_filters_is_only_text(client, make_user, make_enterprise):
    make_enterprise(name="嵊州市正常企业有限公司")
    AuthActions(client).login(make_user().username)
    for q in HOSTILE:
        for path in (f"/search?q={q}", f"/enterprises/?q={q}", f"/needs/?q={q}"):
            response = client.get(path)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, path
            assert "嵊州市正常企业有限公司" not in html and "scrypt" not in html, path  # no match
        quick = client.get(f"/match?q={q}")  # its save-as-need list names one's enterprises
        assert quick.status_code == 200 and "scrypt" not in quick.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 1  # still there


def test_a_made_up_sort_order_falls_back_to_the_default(client, make_user, make_enterprise):
    make_enterprise(name="甲企业")
    AuthActions(client).login(make_user().username)
    for sort in ("name; DROP TABLE enterprise", "password_hash", "../../etc/passwd", "1=1"):
        assert client.get(f"/enterprises/?sort={sort}").status_code in (200, 400)
    assert "甲企业" in client.get("/enterprises/?sort=name").get_data(as_text=True)


def test_fields_a_form_does_not_have_are_not_assigned(client, make_user):
    officer = make_user()
    AuthActions(client).login(officer.username)
    token = csrf_token(client, "/enterprises/new")
    response = client.post(
        "/enterprises/new",
        data={
            "csrf_token": token,
            "name": "嵊州市新登记企业有限公司",
            "deleted_at": "2020-01-01 00:00:00",
            "created_by_id": "999",
            "version": "77",
            "id": "4242",
        },
    )
    assert response.status_code == 302
    made = db.session.scalars(
        sa.select(Enterprise).filter_by(name="嵊州市新登记企业有限公司")
    ).one()
    assert made.deleted_at is None and made.id != 4242 and made.version == 1
    assert made.created_by_id == officer.id


def test_login_never_redirects_off_the_site(client, make_user):
    user = make_user(role=Role.OFFICER)
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        token = csrf_token(client)
        response = client.post(
            f"/login?next={target}",
            data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        location = response.headers["Location"]
        assert "evil.example" not in location and not location.startswith("javascript"), target
        AuthActions(client).logout()
