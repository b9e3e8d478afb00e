"""The API and the web agree about what is gone: a deleted enterprise takes its needs, visits
and their suggestions along — 404 on their pages and through the API, out of every list, and
not editable — until an admin restores it. And a sync asked for changes after the end of time
gets none."""

from __future__ import annotations

from datetime import date

import pytest

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need
from crm.trash import services as trash
from crm.visits.models import Visit
from tests.api.helpers import bearer, get, send
from tests.conftest import AuthActions


@pytest.fixture
def gone(make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise(name="嵊州市已删领带有限公司", owner_id=admin.id)
    need = Need(enterprise_id=ent.id, title="领带起皱")
    visit = Visit(enterprise_id=ent.id, officer_id=admin.id, visited_on=date(2026, 11, 2))
    person = Researcher(name="抗皱专家")
    db.session.add_all([need, visit, person])
    db.session.flush()
    suggestion = Suggestion(need_id=need.id, researcher_id=person.id, score=0.8)
    db.session.add(suggestion)
    db.session.commit()
    synced_until = utcnow()  # a mirror's last sync, before the firm was deleted
    trash.delete(admin, "enterprise", ent.id)
    db.session.commit()
    return admin, ent, {"needs": need, "visits": visit, "suggestions": suggestion}, synced_until


def test_a_deleted_firms_records_are_gone_from_the_api_as_from_the_web(client, gone):
    admin, ent, records, synced_until = gone
    token = bearer(admin)
    since = synced_until.isoformat().replace("+00:00", "Z")
    for kind, record in records.items():
        one = get(client, f"/api/v1/{kind}/{record.id}", token)
        assert one.status_code == 404 and one.is_json, kind
        listed = get(client, f"/api/v1/{kind}", token).get_json()
        assert record.id not in [item["id"] for item in listed["items"]], kind
        synced = get(client, f"/api/v1/{kind}?updated_since=2000-01-01T00:00:00Z", token).get_json()
        (item,) = [i for i in synced["items"] if i["id"] == record.id]
        assert item["deleted"] is True, kind  # a mirror drops it
    for kind in ("needs", "visits"):
        path = f"/api/v1/{kind}/{records[kind].id}"
        patched = send(client, "PATCH", path, token, {"notes": "x"}, If_Match='"1.1"')
        assert patched.status_code == 404, kind

    web = client
    AuthActions(web).login(admin.username)
    assert web.get(f"/needs/{records['needs'].id}").status_code == 404
    assert web.get(f"/visits/{records['visits'].id}/edit").status_code == 404

    restored_at = utcnow()
    trash.restore(admin, "enterprise", ent.id)  # back, with everything that went with it
    db.session.commit()
    since = restored_at.isoformat().replace("+00:00", "Z")
    for kind, record in records.items():
        assert get(client, f"/api/v1/{kind}/{record.id}", token).status_code == 200, kind
        synced = get(client, f"/api/v1/{kind}?updated_since={since}", token).get_json()
        (item,) = [i for i in synced["items"] if i["id"] == record.id]
        assert item["deleted"] is False, kind  # and the sync after brings it back
    assert web.get(f"/needs/{records['needs'].id}").status_code == 200


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999999-14:00"],
)
def test_updated_since_after_the_end_of_time_returns_nothing(client, make_user, moment):
    admin = make_user(role=Role.ADMIN)
    token = bearer(admin)
    assert send(client, "POST", "/api/v1/enterprises", token, {"name": "甲"}).status_code == 201
    answer = get(client, "/api/v1/enterprises", token, **{})
    assert answer.get_json()["total"] == 1
    later = client.get(
        "/api/v1/enterprises",
        query_string={"updated_since": moment},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert later.status_code == 200 and later.get_json()["total"] == 0, moment
