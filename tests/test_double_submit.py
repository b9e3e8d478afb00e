"""A create form sent twice — a double tap on a phone, a retry on a bad connection — creates
one record: the second sending, with the same one-time key, is shown the first result. Sent
at the same moment through gunicorn's workers too. And three people registering one USCC at
once: one firm, the others told why in Chinese — never a 500."""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.auth import services as auth
from crm.auth.models import Role
from crm.cooperation.models import Cooperation
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.needs.models import Need
from crm.submissions import FormSubmission
from crm.visits.models import Task, Visit
from tests.conftest import PASSWORD, AuthActions, Databases, make_test_app, today
from tests.pages import form_to
from tests.serving import at_once, gunicorn
from tests.test_concurrency import TOKEN, Browser

USCC = "91330683MA2BXM0C0T"


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _forms(ent_id: int, inst_id: int) -> list[tuple[str, dict[str, str], type]]:
    """(the create page, what is typed into it, the kind it creates)."""
    return [
        (
            f"/enterprises/{ent_id}/visits/new",
            {
                "visited_on": today().isoformat(),
                "notes": "连按两次",
                "needs-0-title": "领带面料起皱",
                "next_step": "约专家",
            },
            Visit,
        ),
        (f"/enterprises/{ent_id}/needs/new", {"title": "集成灶降噪"}, Need),
        (
            f"/enterprises/{ent_id}/cooperation/new",
            {"title": "抗皱整理合作", "type": "development", "institution_id": str(inst_id)},
            Cooperation,
        ),
        ("/enterprises/new", {"name": "嵊州市双击电机有限公司"}, Enterprise),
    ]


def _world(make_user, make_enterprise):
    officer = make_user()
    ent = make_enterprise(name="嵊州市连按领带有限公司", owner_id=officer.id)
    inst = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.commit()
    return officer, ent, inst


def test_the_same_form_sent_twice_creates_once_and_shows_the_first_result(
    client, make_user, make_enterprise
):
    officer, ent, inst = _world(make_user, make_enterprise)
    AuthActions(client).login(officer.username)
    for page, typed, kind in _forms(ent.id, inst.id):
        before = _count(kind)
        form = form_to(client.get(page).get_data(as_text=True), page, page)
        assert len(form.data()["submission_key"]) == 32, page
        first = client.post(page, data=form.data(**typed))
        assert first.status_code == 302, (page, first.get_data(as_text=True)[:2000])
        again = client.post(page, data=form.data(**typed))
        assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
        assert "已经提交过" in client.get(again.headers["Location"]).get_data(as_text=True)
        assert _count(kind) == before + 1, page
    assert _count(Task) == 1  # the visit's next step, once
    # a new page is a new key: the officer can register a second, different need
    page = f"/enterprises/{ent.id}/needs/new"
    form = form_to(client.get(page).get_data(as_text=True), page, page)
    assert client.post(page, data=form.data(title="第二条需求")).status_code == 302
    assert _count(Need) == 3  # two from the need form, one from the visit


def test_a_refused_first_sending_does_not_use_up_the_key(client, make_user, make_enterprise):
    officer, ent, _ = _world(make_user, make_enterprise)
    AuthActions(client).login(officer.username)
    page = f"/enterprises/{ent.id}/needs/new"
    form = form_to(client.get(page).get_data(as_text=True), page, page)
    refused = client.post(page, data=form.data(title=""))
    assert refused.status_code == 400
    assert client.post(page, data=form.data(title="补上名称")).status_code == 302
    assert _count(Need) == 1 and _count(FormSubmission) == 1


@pytest.fixture
def served(databases: Databases, tmp_path):
    url = databases.new()
    app = make_test_app(url, tmp_path)
    with app.app_context():
        upgrade()
        ids = {}
        for n in range(3):
            auth.create_user(auth.UserData(f"tap{n}", f"连按{n}", Role.ADMIN, PASSWORD))
        ent = Enterprise(name="嵊州市并发领带有限公司")
        inst = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
        db.session.add_all([ent, inst])
        db.session.commit()
        ids = {"enterprise": ent.id, "institution": inst.id}
        db.session.remove()
        db.engine.dispose()
    with gunicorn(url, workers=2) as base:
        yield app, base, ids
    with app.app_context():
        db.engine.dispose()


def test_a_double_tap_through_gunicorn_creates_once(served):
    app, base, ids = served
    officer = Browser(base)
    officer.post("/login", "/login", {"username": "tap0", "password": PASSWORD})
    counts = {}
    for page, typed, kind in _forms(ids["enterprise"], ids["institution"]):
        _, html = officer.get(page)
        form = form_to(html, base + page, page)
        body = form.data(**typed)
        answers = at_once([lambda body=body, page=page: officer.submit(page, body)] * 2)
        assert [status for status, _ in answers] == [302, 302], (page, answers)
        assert answers[0][1] == answers[1][1], answers  # both shown the one result
        counts[kind.__tablename__] = counts.get(kind.__tablename__, 0) + 1
    with app.app_context():
        for table, expected in counts.items():
            model = {m.__tablename__: m for m in (Visit, Need, Cooperation, Enterprise)}[table]
            extra = 1 if table == "enterprise" else 0  # the firm the others belong to
            extra += 1 if table == "need" else 0  # the visit's need
            assert _count(model) == expected + extra, table
        assert _count(Task) == 1
        db.session.remove()


def test_three_people_registering_one_uscc_at_once_get_one_firm_and_no_500(served):
    app, base, _ = served
    people = [Browser(base) for _ in range(3)]
    bodies = []
    for n, person in enumerate(people):
        person.post("/login", "/login", {"username": f"tap{n}", "password": PASSWORD})
        _, html = person.get("/enterprises/new")
        form = form_to(html, base + "/enterprises/new", "/enterprises/new")
        bodies.append(form.data(name=f"嵊州市同码企业{n}有限公司", uscc=USCC))

    def send(n: int):
        def go() -> tuple[int, str]:
            data = urllib.parse.urlencode(bodies[n]).encode()
            try:
                with people[n].opener.open(base + "/enterprises/new", data=data, timeout=60) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        return go

    answers = at_once([send(n) for n in range(3)])
    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 302 and all(s in (400, 409) for s in statuses[1:]), statuses
    for status, page in answers:
        if status != 302:
            assert "统一社会信用代码" in page and "Traceback" not in page
            assert TOKEN.search(page), "the form is shown again, with what was typed"
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Enterprise.id)).where(Enterprise.uscc == USCC)
            )
            == 1
        )
        db.session.remove()


def test_a_key_sent_by_another_user_shows_them_nothing(app, client, make_user, make_enterprise):
    officer, ent, _ = _world(make_user, make_enterprise)
    AuthActions(client).login(officer.username)
    page = f"/enterprises/{ent.id}/needs/new"
    form = form_to(client.get(page).get_data(as_text=True), page, page)
    first = client.post(page, data=form.data(title="甲的需求"))
    assert first.status_code == 302
    other = app.test_client()
    colleague = make_user(department=None)
    ent.owner_id = colleague.id  # so the colleague may register needs of it too
    db.session.commit()
    AuthActions(other).login(colleague.username)
    token = form_to(other.get(page).get_data(as_text=True), page, page).data()["csrf_token"]
    stolen = other.post(page, data=form.data(title="乙的需求", csrf_token=token))
    assert stolen.status_code == 400 and "表单已失效" in stolen.get_data(as_text=True)
    assert first.headers["Location"] not in stolen.headers.get("Location", "")
    assert _count(Need) == 1
