"""Enterprises: USCC checks, create/edit rights, lost-update protection, list filters, timeline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.clock import local_today
from crm.cooperation.models import Cooperation, CooperationType, Stage, StageChange
from crm.enterprises.models import Enterprise, Industry, Town
from crm.enterprises.services import clean_uscc
from crm.errors import ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind
from crm.needs.models import Need
from crm.seed.services import load_reference
from crm.visits.models import Visit
from tests.conftest import AuthActions, csrf_token

GOOD = "91330683AT6Y8A8U8C"  # checksum-valid (fictional, from seeds/demo)
BAD = "91330683AT6Y8A8U8D"


def test_uscc_is_checked_with_a_clear_message():
    assert clean_uscc(" 91330683at6y8a8u8c ") == GOOD
    assert clean_uscc("") is None
    with pytest.raises(ValidationError, match="校验位不正确") as info:
        clean_uscc(BAD)
    assert info.value.field == "uscc"
    with pytest.raises(ValidationError, match="18 位"):
        clean_uscc("9133068")
    # as phones and papers give it: full-width, in groups
    assert clean_uscc("９１３３０６８３ＡＴ６Ｙ８Ａ８Ｕ８Ｃ") == GOOD
    assert clean_uscc("913306 83AT6Y 8A8U8C") == GOOD


@pytest.fixture
def officer(make_user):
    return make_user(department="高新技术科", display_name="沈晓峰")


@pytest.fixture
def signed_in(client, officer):
    AuthActions(client).login(officer.username)
    return client


def _form(token: str, **fields):
    data = {"csrf_token": token, "name": "嵊州市锦程领带有限公司", "uscc": "", "town_id": ""}
    data.update(fields)
    return data


def test_officer_registers_an_enterprise_they_then_own(signed_in, officer):
    token = csrf_token(signed_in, "/enterprises/new")
    response = signed_in.post("/enterprises/new", data=_form(token, uscc=GOOD.lower()))
    assert response.status_code == 302
    ent = db.session.scalar(sa.select(Enterprise).where(Enterprise.uscc == GOOD))
    assert ent.owner_id == officer.id
    assert ent.department_id == officer.department_id
    assert response.headers["Location"] == f"/enterprises/{ent.id}"


def test_bad_and_duplicate_uscc_are_reported_on_the_field(signed_in, make_enterprise):
    token = csrf_token(signed_in, "/enterprises/new")
    response = signed_in.post("/enterprises/new", data=_form(token, uscc=BAD))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "统一社会信用代码校验位不正确" in body
    make_enterprise(name="已登记的企业", uscc=GOOD)
    response = signed_in.post("/enterprises/new", data=_form(token, uscc=GOOD))
    assert response.status_code == 400
    assert "已被“已登记的企业”使用" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 1


def test_officer_of_another_department_cannot_edit(client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    stranger = make_user(department="合作交流科")
    ent = make_enterprise(name="越丰电机", owner_id=owner.id, department_id=owner.department_id)
    AuthActions(client).login(stranger.username)
    assert client.get(f"/enterprises/{ent.id}/edit").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(
        f"/enterprises/{ent.id}/edit", data=_form(token, name="被改掉了", version="1")
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert ent.name == "越丰电机" and ent.version == 1


def test_colleague_edits_and_extra_fields_are_ignored(client, make_user, make_enterprise):
    owner = make_user(department="高新技术科")
    colleague = make_user(department="高新技术科")
    ent = make_enterprise(name="剡溪电机", owner_id=owner.id, department_id=owner.department_id)
    AuthActions(client).login(colleague.username)
    token = csrf_token(client, f"/enterprises/{ent.id}/edit")
    response = client.post(
        f"/enterprises/{ent.id}/edit",
        data=_form(
            token,
            name="剡溪电机有限公司",
            version="1",
            owner_id=str(colleague.id),
            department_id="",
            deleted_at="2020-01-01",
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert ent.name == "剡溪电机有限公司"
    assert ent.owner_id == owner.id  # only admins reassign
    assert ent.deleted_at is None
    assert ent.version == 2


def test_second_save_on_a_stale_form_is_refused_and_shows_both(
    client, app, officer, make_enterprise
):
    ent = make_enterprise(name="华彩丝绸", owner_id=officer.id, department_id=officer.department_id)
    first, second = client, app.test_client()
    AuthActions(first).login(officer.username)
    AuthActions(second).login(officer.username)
    t1 = csrf_token(first, f"/enterprises/{ent.id}/edit")
    t2 = csrf_token(second, f"/enterprises/{ent.id}/edit")
    ok = first.post(
        f"/enterprises/{ent.id}/edit", data=_form(t1, name="华彩丝绸（甲）", version="1")
    )
    assert ok.status_code == 302
    stale = second.post(
        f"/enterprises/{ent.id}/edit", data=_form(t2, name="华彩丝绸（乙）", version="1")
    )
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "已被他人修改" in body and "华彩丝绸（甲）" in body and "华彩丝绸（乙）" in body
    db.session.expire_all()
    assert ent.name == "华彩丝绸（甲）"


def test_viewer_reads_but_cannot_open_forms(client, make_user, make_enterprise):
    viewer = make_user(role=Role.VIEWER)
    ent = make_enterprise(name="领导能看的企业")
    AuthActions(client).login(viewer.username)
    page = client.get(f"/enterprises/{ent.id}")
    assert page.status_code == 200 and "领导能看的企业" in page.get_data(as_text=True)
    assert "记录走访" not in page.get_data(as_text=True)
    assert client.get("/enterprises/new").status_code == 403
    assert client.get(f"/enterprises/{ent.id}/visits/new").status_code == 403


def test_names_are_shown_as_text(signed_in, make_enterprise):
    ent = make_enterprise(name="<img src=x onerror=alert(1)>")
    for path in ("/enterprises/", f"/enterprises/{ent.id}"):
        body = signed_in.get(path).get_data(as_text=True)
        assert "<img src=x" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


def _names(client, **query) -> list[str]:
    body = client.get("/enterprises/", query_string=query).get_data(as_text=True)
    return [n for n in ("甲领带", "乙电机", "丙茶业") if n in body]


def test_list_filters(signed_in, officer, make_enterprise):
    load_reference()
    towns = {t.name: t for t in db.session.scalars(sa.select(Town))}
    inds = {i.code: i for i in db.session.scalars(sa.select(Industry))}
    today = local_today()
    a = make_enterprise(
        name="甲领带", town_id=towns["三江街道"].id, is_above_scale=True, owner_id=officer.id
    )
    a.industries = [inds["tie"]]
    b = make_enterprise(name="乙电机", town_id=towns["甘霖镇"].id)
    b.industries = [inds["motor"]]
    make_enterprise(name="丙茶业", town_id=towns["谷来镇"].id)
    db.session.add(Visit(enterprise_id=a.id, officer_id=officer.id, visited_on=today))
    db.session.add(
        Visit(enterprise_id=b.id, officer_id=officer.id, visited_on=today - timedelta(days=200))
    )
    db.session.commit()

    assert _names(signed_in) == ["甲领带", "乙电机", "丙茶业"]
    assert _names(signed_in, town=towns["甘霖镇"].id) == ["乙电机"]
    assert _names(signed_in, industry=inds["tie"].id) == ["甲领带"]
    assert _names(signed_in, flag="above_scale") == ["甲领带"]
    assert _names(signed_in, owner=officer.id) == ["甲领带"]
    assert _names(signed_in, not_visited=90) == ["乙电机", "丙茶业"]
    assert _names(signed_in, q="茶") == ["丙茶业"]
    bad = signed_in.get("/enterprises/", query_string={"not_visited": "-5"})
    assert bad.status_code == 200 and "1–3650" in bad.get_data(as_text=True)


def test_list_is_paginated(signed_in, make_enterprise, app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for i in range(5):
        make_enterprise(name=f"分页企业{i}")
    body = signed_in.get("/enterprises/", query_string={"page": 3}).get_data(as_text=True)
    assert "分页企业4" in body and "分页企业0" not in body
    assert "共 5 家" in body


def test_detail_timeline_has_visits_needs_and_cooperation(signed_in, officer, make_enterprise):
    ent = make_enterprise(name="华硅新材料")
    inst = Institution(name="中国科学院过程工程研究所", kind=InstitutionKind.CAS_INSTITUTE)
    coop = Cooperation(
        title="硅藻土提纯",
        enterprise_id=ent.id,
        institution=inst,
        type=CooperationType.DEVELOPMENT,
        stage=Stage.NEGOTIATION,
    )
    coop.history.append(StageChange(to_stage=Stage.NEGOTIATION, changed_on=date(2026, 3, 1)))
    db.session.add_all(
        [
            coop,
            Visit(
                enterprise_id=ent.id,
                officer_id=officer.id,
                visited_on=date(2026, 2, 1),
                notes="了解提纯需求",
            ),
            Need(enterprise_id=ent.id, title="硅藻土杂质多纯度低"),
        ]
    )
    db.session.commit()
    body = signed_in.get(f"/enterprises/{ent.id}").get_data(as_text=True)
    timeline = body.split('data-testid="timeline"')[1]
    assert "沈晓峰 走访" in timeline and "了解提纯需求" in timeline
    assert "技术需求：硅藻土杂质多纯度低（待匹配）" in timeline
    assert "合作“硅藻土提纯”进入洽谈" in timeline
    assert timeline.index("技术需求") < timeline.index("进入洽谈") < timeline.index("走访")


def test_deleted_enterprise_is_not_found(signed_in, make_enterprise):
    from crm.db import utcnow

    ent = make_enterprise(name="已删除企业", deleted_at=utcnow())
    assert signed_in.get(f"/enterprises/{ent.id}").status_code == 404
    assert "已删除企业" not in signed_in.get("/enterprises/").get_data(as_text=True)


def test_the_timeline_dates_a_need_on_the_countys_day(app, make_enterprise):
    """A need written at 01:30 in Shenzhou (17:30 UTC the day before) is that morning's."""
    from datetime import UTC, datetime

    from crm.timeline.services import timeline

    ent = make_enterprise(name="时区企业")
    need = Need(enterprise_id=ent.id, title="凌晨记下的需求")
    db.session.add(need)
    db.session.flush()
    need.created_at = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    db.session.flush()
    items = [i for i in timeline(ent) if i.kind == "need"]
    assert [i.when for i in items] == [date(2026, 12, 1)]


def test_the_same_firm_is_not_registered_twice(signed_in, make_enterprise, make_user):
    """However the name is typed again: Traditional characters, a full-width space, padding.
    Firms that only share a core name may be two and are let in."""
    owner = make_user(display_name="钱丽萍")
    make_enterprise(name="浙江锦程领带有限公司", owner_id=owner.id)
    token = csrf_token(signed_in, "/enterprises/new")
    for typed in ("浙江锦程领带有限公司", "浙江錦程領帶有限公司", "浙江锦程\u3000领带有限公司 "):
        response = signed_in.post("/enterprises/new", data=_form(token, name=typed, uscc=BAD))
        body = response.get_data(as_text=True)
        assert response.status_code == 400, typed
        assert "已登记过同名企业“浙江锦程领带有限公司”（钱丽萍负责）" in body
        assert "统一社会信用代码校验位不正确" in body  # said together
    response = signed_in.post("/enterprises/new", data=_form(token, name="嵊州市锦程领带有限公司"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 2


def test_a_town_that_does_not_exist_is_refused_in_chinese(signed_in, officer, make_enterprise):
    """town_id=999999 (in range, no such row): the foreign key would refuse it on PostgreSQL
    with a 500; the service refuses it first, on the field, and nothing is written."""
    token = csrf_token(signed_in, "/enterprises/new")
    response = signed_in.post("/enterprises/new", data=_form(token, town_id="999999"))
    assert response.status_code == 400
    assert "所选乡镇街道不存在或已被删除" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 0
    ent = make_enterprise(
        name="嵊州市已有企业有限公司", owner_id=officer.id, department_id=officer.department_id
    )
    token = csrf_token(signed_in, f"/enterprises/{ent.id}/edit")
    data = _form(token, name=ent.name, town_id="999999", version=str(ent.version))
    response = signed_in.post(f"/enterprises/{ent.id}/edit", data=data)
    assert response.status_code == 400
    assert "所选乡镇街道不存在或已被删除" in response.get_data(as_text=True)
    assert db.session.get(Enterprise, ent.id).town_id is None
