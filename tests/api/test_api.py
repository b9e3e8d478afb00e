"""/api/v1/: personal tokens (shown once, stored hashed, revocable, expiring, capped at the
owner's role), JSON errors, pages, `updated_since` sync and ETags."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from crm import policy
from crm.api import tokens
from crm.api.models import ApiToken
from crm.auth.models import Role
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.errors import ValidationError
from crm.extensions import db
from tests.api.helpers import bearer as _token
from tests.api.helpers import get as _get
from tests.conftest import AuthActions, csrf_token

NEW_TOKEN = re.compile(r'data-testid="new-token">.*?<code[^>]*>(khn_[^<]+)</code>', re.S)


def test_a_token_is_shown_once_and_stored_only_as_a_digest(client, make_user):
    officer = make_user()
    AuthActions(client).login(officer.username)
    page = client.post(
        "/tokens",
        data={
            "csrf_token": csrf_token(client, "/tokens"),
            "name": "省技术市场同步",
            "role": "viewer",
            "days": "90",
        },
    )
    assert page.status_code == 200
    text = NEW_TOKEN.search(page.get_data(as_text=True)).group(1)
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.digest == tokens.digest(text) and text not in (stored.digest, stored.prefix)
    assert stored.role == Role.VIEWER and stored.name == "省技术市场同步"
    again = client.get("/tokens").get_data(as_text=True)
    assert text not in again and stored.prefix in again  # listed by its first characters only
    assert _get(client, "/api/v1/enterprises", text).status_code == 200


def test_a_token_never_has_a_higher_role_than_its_owner(client, make_user):
    viewer = make_user(role=Role.VIEWER)
    with pytest.raises(ValidationError, match="不能高于"):
        tokens.create(viewer, tokens.TokenData("越权", Role.ADMIN, 90))
    AuthActions(client).login(viewer.username)
    refused = client.post(
        "/tokens",
        data={
            "csrf_token": csrf_token(client, "/tokens"),
            "name": "x",
            "role": "officer",
            "days": "90",
        },
    )
    assert refused.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_an_officers_viewer_token_acts_as_a_viewer(app, make_user):
    officer = make_user()
    token, _ = tokens.create(officer, tokens.TokenData("只读", Role.VIEWER, 30))
    with app.test_request_context("/api/v1/enterprises"):
        assert policy.user_level(officer) == policy.Level.OFFICER
        g.api_token = token
        assert policy.user_level(officer) == policy.Level.SIGNED_IN
        assert not policy.can_write(officer)


def test_without_a_live_token_the_api_answers_401_in_json(client, make_user):
    officer = make_user()
    AuthActions(client).login(officer.username)  # a session cookie is not enough here
    for token in (None, "khn_made-up", "not-even-the-prefix"):
        response = _get(client, "/api/v1/enterprises", token)
        assert response.status_code == 401, token
        assert response.is_json and response.get_json()["error"]["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    text = _token(officer)
    stored = db.session.scalars(sa.select(ApiToken)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _get(client, "/api/v1/enterprises", text).status_code == 401  # expired
    stored.expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert _get(client, "/api/v1/enterprises", text).status_code == 200
    client.post(f"/tokens/{stored.id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")})
    assert _get(client, "/api/v1/enterprises", text).status_code == 401  # revoked
    other = _token(officer)
    officer.active = False
    db.session.commit()
    assert _get(client, "/api/v1/enterprises", other).status_code == 401  # owner disabled


def test_lists_page_and_errors_are_json_with_the_field(client, make_user, make_enterprise):
    text = _token(make_user())
    for i in range(5):
        make_enterprise(name=f"接口企业{i}")
    first = _get(client, "/api/v1/enterprises?per_page=2", text).get_json()
    assert [e["name"] for e in first["items"]] == ["接口企业0", "接口企业1"]
    following = urlsplit(first["next"])
    assert first["total"] == 5 and following.path == "/api/v1/enterprises"
    assert parse_qs(following.query) == {"page": ["2"], "per_page": ["2"]}
    last = _get(client, "/api/v1/enterprises?per_page=2&page=3", text).get_json()
    assert len(last["items"]) == 1 and last["next"] is None
    bad = _get(client, "/api/v1/enterprises?per_page=1000", text)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["fields"] == {"per_page": "per_page 应为 1 到 100 之间的整数。"}
    missing = _get(client, "/api/v1/enterprises/999999", text)
    assert missing.status_code == 404 and missing.is_json


def test_updated_since_returns_what_changed_deleted_ones_included(
    client, make_user, make_enterprise
):
    text = _token(make_user(role=Role.ADMIN))
    old, changed, removed = (
        make_enterprise(name=n) for n in ("旧企业", "改过的企业", "删掉的企业")
    )
    earlier = utcnow() - timedelta(days=2)
    db.session.execute(sa.update(Enterprise).values(created_at=earlier, updated_at=earlier))
    db.session.commit()
    db.session.expire_all()
    since = (utcnow() - timedelta(hours=1)).isoformat()
    changed.notes = "改了备注"
    removed.deleted_at = utcnow()
    db.session.commit()
    query = {"updated_since": since}
    synced = client.get(
        "/api/v1/enterprises", query_string=query, headers={"Authorization": f"Bearer {text}"}
    ).get_json()
    assert [(e["name"], e["deleted"]) for e in synced["items"]] == [
        ("改过的企业", False),
        ("删掉的企业", True),
    ]
    live = _get(client, "/api/v1/enterprises", text).get_json()
    assert {e["name"] for e in live["items"]} == {"旧企业", "改过的企业"}  # no deleted ones
    earliest = client.get(
        "/api/v1/enterprises",
        query_string={"updated_since": "0001-01-01T00:00:00+08:00"},  # before year 1 in UTC
        headers={"Authorization": f"Bearer {text}"},
    )
    assert earliest.status_code == 200 and earliest.get_json()["total"] == 3
    naive = _get(client, "/api/v1/enterprises?updated_since=2026-11-01T00:00:00", text)
    assert naive.status_code == 400 and "updated_since" in naive.get_json()["error"]["fields"]


def test_a_record_carries_its_version_as_an_etag(client, make_user, make_enterprise):
    text = _token(make_user())
    e = make_enterprise(name="带版本的企业")
    first = _get(client, f"/api/v1/enterprises/{e.id}", text)
    assert first.status_code == 200 and first.get_json()["version"] == 1
    etag = first.headers["ETag"]
    assert (
        _get(client, f"/api/v1/enterprises/{e.id}", text, **{"If-None-Match": etag}).status_code
        == 304
    )
    e.notes = "新备注"
    db.session.commit()
    fresh = _get(client, f"/api/v1/enterprises/{e.id}", text, **{"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag


def test_only_the_owner_or_an_admin_revokes_a_token(app, client, make_user):
    owner, other = make_user(), make_user()
    text = _token(owner)
    stored = db.session.scalars(sa.select(ApiToken)).one()
    AuthActions(client).login(other.username)
    refused = client.post(
        f"/tokens/{stored.id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")}
    )
    assert refused.status_code == 400
    db.session.expire_all()
    assert stored.revoked_at is None
    assert _get(app.test_client(), "/api/v1/enterprises", text).status_code == 200


def test_every_resource_lists_and_shows_its_records(client, make_user, records):
    from crm.api.resources import RESOURCES

    _, made = records
    text = _token(make_user(role=Role.VIEWER))
    assert set(RESOURCES) == set(made)
    for name, record in made.items():
        listed = _get(client, f"/api/v1/{name}", text)
        assert listed.status_code == 200, name
        assert record.id in [item["id"] for item in listed.get_json()["items"]], name
        one = _get(client, f"/api/v1/{name}/{record.id}", text)
        assert one.status_code == 200 and one.get_json()["id"] == record.id, name
        assert one.headers["ETag"] == f'"{record.id}.{record.version}"', name


def test_a_suggestion_is_decided_with_if_match_and_a_stale_one_is_412(client, make_user, records):
    from crm.cooperation.models import Cooperation

    officer, made = records
    suggestion = made["suggestions"]
    text = _token(officer)
    path = f"/api/v1/suggestions/{suggestion.id}/decision"
    auth = {"Authorization": f"Bearer {text}"}
    unconditioned = client.post(path, json={"status": "accepted"}, headers=auth)
    assert unconditioned.status_code == 428
    stale = client.post(
        path, json={"status": "accepted"}, headers={**auth, "If-Match": f'"{suggestion.id}.9"'}
    )
    assert stale.status_code == 412 and stale.is_json
    bad = client.post(
        path, json={"status": "maybe"}, headers={**auth, "If-Match": f'"{suggestion.id}.1"'}
    )
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Cooperation.id))) == 1  # nothing yet
    done = client.post(
        path, json={"status": "accepted"}, headers={**auth, "If-Match": f'"{suggestion.id}.1"'}
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "accepted" and body["version"] == 2 and body["lead_id"]
    lead = db.session.get(Cooperation, body["lead_id"])
    assert lead.suggestion_id == suggestion.id and lead.enterprise_id == made["enterprises"].id


def test_writes_follow_the_same_rules_as_the_web(client, make_user, records):
    officer, made = records
    suggestion = made["suggestions"]
    path = f"/api/v1/suggestions/{suggestion.id}/decision"
    headers = {"If-Match": f'"{suggestion.id}.1"'}
    for token in (
        _token(officer, Role.VIEWER),  # the officer's own read-only token
        _token(make_user(role=Role.VIEWER)),  # leadership
        _token(make_user(department="别的科")),  # an officer of another department
    ):
        refused = client.post(
            path,
            json={"status": "contacted"},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 403 and refused.is_json
    db.session.expire_all()
    assert suggestion.version == 1
