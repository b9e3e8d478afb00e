"""What ends a user's API tokens: a password changed by the user, a password reset by an admin
(web or shell), and deactivation — and reactivation does not bring them back. Admins see and
revoke anyone's tokens on a page and from the shell."""

from __future__ import annotations

import sqlalchemy as sa

from crm.api.models import ApiToken
from crm.auth.models import Role
from crm.extensions import db
from tests.api.helpers import bearer, get
from tests.conftest import PASSWORD, AuthActions, csrf_token
from tests.pages import form_to

ME = "/api/v1/enterprises"


def _works(client, token: str) -> bool:
    status = get(client, ME, token).status_code
    assert status in (200, 401), status
    return status == 200


def test_an_admins_password_reset_ends_the_users_tokens(app, client, make_user):
    officer = make_user()
    admin = make_user(role=Role.ADMIN)
    token = bearer(officer)
    assert _works(client, token)
    AuthActions(client).login(admin.username)
    page = f"/admin/users/{officer.username}"
    form = form_to(client.get(page).get_data(as_text=True), page, page)
    saved = client.post(page, data=form.data(new_password="a-new-password-2026"))
    assert saved.status_code == 302
    assert not _works(app.test_client(), token)


def test_the_users_own_password_change_ends_their_tokens(app, client, make_user):
    officer = make_user()
    token = bearer(officer)
    AuthActions(client).login(officer.username)
    changed = client.post(
        "/password",
        data={
            "csrf_token": csrf_token(client, "/password"),
            "current_password": PASSWORD,
            "new_password": "another-password-2026",
            "confirm": "another-password-2026",
        },
    )
    assert changed.status_code == 302, changed.get_data(as_text=True)
    assert not _works(app.test_client(), token)


def test_deactivation_ends_tokens_and_reactivation_does_not_revive_them(app, client, make_user):
    officer = make_user()
    admin = make_user(role=Role.ADMIN)
    token = bearer(officer)
    AuthActions(client).login(admin.username)
    toggle = f"/admin/users/{officer.username}/active"
    off = client.post(toggle, data={"csrf_token": csrf_token(client, "/admin/users")})
    assert off.status_code == 302
    api = app.test_client()
    assert not _works(api, token)
    on = client.post(toggle, data={"csrf_token": csrf_token(client, "/admin/users"), "active": "y"})
    assert on.status_code == 302
    assert not _works(api, token)  # still dead: the user makes a new one
    assert _works(api, bearer(officer))


def test_the_shell_password_reset_ends_tokens_too(runner, client, make_user):
    officer = make_user()
    token = bearer(officer)
    result = runner.invoke(
        args=["user", "password", officer.username, "--password-stdin"],
        input="shell-password-2026\n",
    )
    assert result.exit_code == 0, result.output
    assert not _works(client, token)


def test_admins_list_and_revoke_anyones_tokens_on_the_page(app, client, make_user):
    officer = make_user(display_name="沈令牌")
    other = make_user()
    admin = make_user(role=Role.ADMIN)
    token = bearer(officer)
    kept = bearer(other)
    AuthActions(client).login(admin.username)
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "沈令牌" in page and page.count("吊销") >= 2
    mine = f"/admin/tokens?user={officer.username}"
    html = client.get(mine).get_data(as_text=True)
    assert "沈令牌" in html and other.username not in html
    stored = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == officer.id)).one()
    form = form_to(html, mine, f"/tokens/{stored.id}/revoke")
    answer = client.post(form.action, data=form.data())
    assert answer.status_code == 302 and answer.headers["Location"] == mine
    api = app.test_client()
    assert not _works(api, token) and _works(api, kept)
    assert "已吊销" in client.get(mine).get_data(as_text=True)


def test_officers_cannot_see_or_revoke_others_tokens(app, client, make_user):
    owner = make_user()
    token = bearer(owner)
    stored = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == owner.id)).one()
    AuthActions(client).login(make_user().username)
    assert client.get("/admin/tokens").status_code == 403
    refused = client.post(
        f"/tokens/{stored.id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")}
    )
    assert refused.status_code == 400
    assert _works(app.test_client(), token)


def test_crm_token_list_and_revoke(runner, client, make_user):
    officer = make_user()
    token = bearer(officer)
    other = bearer(officer)
    listed = runner.invoke(args=["token", "list", "--user", officer.username])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2 and all("\t有效\t" in line for line in lines)
    first_id = int(lines[-1].split("\t")[0])
    done = runner.invoke(args=["token", "revoke", str(first_id)])
    assert done.exit_code == 0 and "已吊销令牌" in done.output
    assert not _works(client, token) and _works(client, other)
    everything = runner.invoke(args=["token", "revoke", "--user", officer.username])
    assert everything.exit_code == 0
    assert not _works(client, other)
    assert runner.invoke(args=["token", "revoke", "999999"]).exit_code != 0
    assert runner.invoke(args=["token", "revoke"]).exit_code != 0
