"""Institutions' branches in the county (院所分支机构): their rules, said at once; the pages that
register, list and show them; stale edits and who may write. And firms founded on an
achievement (科技成果引进后直接创办企业): the enterprise form's 成立日期 and founding
achievements, shown on both records' pages and through the API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.clock import local_today
from crm.cooperation.models import Cooperation, CooperationType
from crm.errors import PermissionDenied, ValidationError
from crm.extensions import db
from crm.institutions import branches
from crm.institutions.models import Achievement, Branch, BranchKind, Institution, InstitutionKind
from tests.api.helpers import bearer, get, send
from tests.conftest import AuthActions, csrf_token
from tests.pages import form_to


def invalid(body: str) -> set[str]:
    """The names of the fields a page shows in error."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", body)
    return {
        re.search(r'name="([^"]+)"', tag).group(1)
        for tag in tags
        if re.search(r'class="[^"]*\bis-invalid\b', tag)
    }


@pytest.fixture
def town(make_user, make_enterprise):
    """An officer with a firm of their department, another department's firm, an institution."""
    officer = make_user(department="分支科")
    stranger = make_user(department="别的科")
    firm = make_enterprise(
        name="嵊州分支宿主有限公司", owner_id=officer.id, department_id=officer.department_id
    )
    other = make_enterprise(name="别科企业有限公司", department_id=stranger.department_id)
    inst = Institution(name="分支测试大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add(inst)
    db.session.flush()
    coop = Cooperation(
        title="共建联合实验室",
        enterprise_id=firm.id,
        institution_id=inst.id,
        type=CooperationType.JOINT_RND_CENTRE,
    )
    theirs = Cooperation(
        title="别科的合作",
        enterprise_id=other.id,
        institution_id=inst.id,
        type=CooperationType.DEVELOPMENT,
    )
    db.session.add_all([coop, theirs])
    db.session.commit()
    return {
        "officer": officer,
        "stranger": stranger,
        "firm": firm,
        "other": other,
        "inst": inst,
        "coop": coop,
        "theirs": theirs,
    }


def _data(town, **changes) -> branches.BranchData:
    values = {
        "name": "分支测试联合实验室",
        "kind": BranchKind.LAB,
        "institution_id": town["inst"].id,
        "host_enterprise_id": town["firm"].id,
        "established_on": local_today() - timedelta(days=3),
        "cooperation_id": town["coop"].id,
        "officer_id": town["officer"].id,
    }
    values.update(changes)
    return branches.BranchData(**values)


# ---- the rules ---------------------------------------------------------------------------------


def test_every_rule_a_branch_breaks_is_said_at_once(town):
    today = local_today()
    empty = branches.BranchData(name=" ", kind=BranchKind.BRANCH)
    found = {e.field: e.message for e in branches.problems(empty, None, today)}
    assert found == {
        "name": "请输入分支机构名称。",
        "institution_id": "请选择创办的高校院所或技术转移中心。",
        "host_enterprise_id": "请选择所在企业，或填写所在园区（如“经济开发区”）。",
        "established_on": "请填写设立日期。",
    }
    future = _data(town, established_on=today + timedelta(days=1))
    assert [e.message for e in branches.problems(future, None, today)] == ["设立日期不能晚于今天。"]
    wrong_coop = _data(town, cooperation_id=town["theirs"].id)
    assert [e.field for e in branches.problems(wrong_coop, None, today)] == ["cooperation_id"]
    in_park = _data(
        town, host_enterprise_id=None, host_place="经济开发区", cooperation_id=town["theirs"].id
    )
    assert branches.problems(in_park, None, today) == []  # a park's: any firm's cooperation
    town["inst"].deleted_at = datetime.now(UTC)
    db.session.flush()
    gone = branches.problems(_data(town), None, today)
    assert [e.message for e in gone] == ["所选高校院所不存在或已被删除。"]


def test_a_branch_keeps_what_it_names_when_saved_unchanged(town):
    branch = branches.save_branch(town["officer"], _data(town))
    db.session.commit()
    town["inst"].deleted_at = datetime.now(UTC)  # the institution is deleted since
    db.session.commit()
    assert branches.problems(_data(town), branch, local_today()) == []
    with pytest.raises(ValidationError, match="所选高校院所不存在"):
        branches.save_branch(town["officer"], _data(town))  # a new one may not name it


def test_who_may_register_and_edit_a_branch(town, make_user):
    viewer = make_user(role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        branches.save_branch(viewer, _data(town, host_enterprise_id=None, host_place="开发区"))
    with pytest.raises(PermissionDenied):  # another department's firm
        branches.save_branch(town["stranger"], _data(town, cooperation_id=None))
    hosted = branches.save_branch(town["officer"], _data(town))
    park = branches.save_branch(
        town["stranger"], _data(town, host_enterprise_id=None, host_place="经济开发区")
    )
    db.session.commit()
    with pytest.raises(PermissionDenied):
        branches.save_branch(town["stranger"], _data(town, name="改名"), hosted, hosted.version)
    edited = branches.save_branch(
        town["officer"],
        _data(town, host_enterprise_id=None, host_place="经济开发区", name="园区工作站"),
        park,
        park.version,
    )
    assert edited.name == "园区工作站" and edited.version == 2
    with pytest.raises(PermissionDenied):  # nor move one into a firm not theirs
        branches.save_branch(
            town["officer"],
            _data(town, host_enterprise_id=town["other"].id, cooperation_id=None),
            park,
            park.version,
        )


# ---- the pages ---------------------------------------------------------------------------------


def test_an_officer_registers_a_branch_from_the_institutions_page(client, town):
    AuthActions(client).login(town["officer"].username)
    inst, firm = town["inst"], town["firm"]
    page = client.get(f"/institutions/{inst.id}").get_data(as_text=True)
    assert f'href="/branches/new?institution={inst.id}"' in page
    new = f"/branches/new?institution={inst.id}"
    html = client.get(new).get_data(as_text=True)
    form = form_to(html, new, new)
    assert dict(form.fields)["institution_id"] == str(inst.id)  # preselected
    assert dict(form.fields)["officer_id"] == str(town["officer"].id)
    hosts = re.search(r'<select[^>]*name="host_enterprise_id".*?</select>', html, re.S).group(0)
    assert "嵊州分支宿主有限公司" in hosts and "别科企业有限公司" not in hosts  # theirs only
    on = (local_today() - timedelta(days=10)).isoformat()
    sent = form.data(
        name="分支测试大学嵊州联合实验室",
        kind="lab",
        host_enterprise_id=str(firm.id),
        established_on=on,
        cooperation_id=str(town["coop"].id),
        notes="面向领带面料的联合实验室",
    )
    response = client.post(new, data=sent)
    branch = db.session.scalars(sa.select(Branch)).one()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/institutions/{inst.id}#branch-{branch.id}")
    assert (branch.kind, branch.host_enterprise_id, branch.established_on) == (
        BranchKind.LAB,
        firm.id,
        date.fromisoformat(on),
    )
    assert branch.cooperation_id == town["coop"].id and branch.officer_id == town["officer"].id
    shown = client.get(f"/institutions/{inst.id}").get_data(as_text=True)
    assert f'id="branch-{branch.id}"' in shown and "分支测试大学嵊州联合实验室" in shown
    assert "共建联合实验室" in shown  # the cooperation it came from
    host_page = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    section = host_page.split('id="ent-branches"', 1)[1]
    assert (
        f'href="/institutions/{inst.id}#branch-{branch.id}">分支测试大学嵊州联合实验室' in section
    )
    assert f'href="/branches/new?enterprise={firm.id}"' in section
    listed = client.get("/branches/?q=宿主").get_data(as_text=True)
    assert "分支测试大学嵊州联合实验室" in listed and f"/branches/{branch.id}/edit" in listed
    assert "分支测试大学嵊州联合实验室" not in client.get("/branches/?kind=station").get_data(
        as_text=True
    )


def test_a_branch_in_a_park_and_the_form_from_a_firms_page(client, town):
    AuthActions(client).login(town["officer"].username)
    url = f"/branches/new?enterprise={town['firm'].id}"
    html = client.get(url).get_data(as_text=True)
    form = form_to(html, url, url)
    assert dict(form.fields)["host_enterprise_id"] == str(town["firm"].id)
    sent = form.data(
        name="开发区技术转移分中心",
        kind="transfer",
        institution_id=str(town["inst"].id),
        host_enterprise_id="",
        host_place="经济开发区",
        established_on=local_today().isoformat(),
    )
    assert client.post(url, data=sent).status_code == 302
    branch = db.session.scalars(sa.select(Branch)).one()
    assert branch.host_enterprise_id is None and branch.host_place == "经济开发区"
    listed = client.get("/branches/?q=开发区").get_data(as_text=True)
    assert "开发区技术转移分中心" in listed and "经济开发区" in listed


def test_the_form_says_every_missing_field_at_once(client, town):
    AuthActions(client).login(town["officer"].username)
    token = csrf_token(client, "/branches/new")
    future = (local_today() + timedelta(days=2)).isoformat()
    response = client.post(
        "/branches/new",
        data={"csrf_token": token, "name": "", "kind": "lab", "established_on": future},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert invalid(body) == {"name", "institution_id", "host_enterprise_id", "established_on"}
    assert "设立日期不能晚于今天" in body and "或填写所在园区" in body
    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 0


def test_a_stale_edit_is_refused_and_shows_why(client, town):
    branch = branches.save_branch(town["officer"], _data(town))
    db.session.commit()
    AuthActions(client).login(town["officer"].username)
    url = f"/branches/{branch.id}/edit"
    html = client.get(url).get_data(as_text=True)
    form = form_to(html, url, url)
    assert dict(form.fields)["version"] == "1" and dict(form.fields)["kind"] == "lab"
    # a colleague saves first
    branches.save_branch(town["officer"], _data(town, name="同事改的名"), branch, 1)
    db.session.commit()
    response = client.post(url, data=form.data(name="我改的名"))
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "已被他人修改" in body
    assert 'value="2"' in body  # the form now carries the stored version
    db.session.expire_all()
    assert db.session.get(Branch, branch.id).name == "同事改的名"
    again = client.post(url, data=form_to(body, url, url).data(name="我改的名"))
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(Branch, branch.id).name == "我改的名"


def test_viewers_read_branches_and_write_none(client, town, make_user):
    branch = branches.save_branch(town["officer"], _data(town))
    db.session.commit()
    AuthActions(client).login(make_user(role=Role.VIEWER).username)
    listed = client.get("/branches/")
    html = listed.get_data(as_text=True)
    assert listed.status_code == 200 and "分支测试联合实验室" in html
    assert "/branches/new" not in html and f"/branches/{branch.id}/edit" not in html
    inst_page = client.get(f"/institutions/{town['inst'].id}").get_data(as_text=True)
    assert f'id="branch-{branch.id}"' in inst_page and "登记分支机构" not in inst_page
    assert client.get("/branches/new").status_code == 403
    token = csrf_token(client, "/")
    sent = {
        "csrf_token": token,
        "name": "看客的分支",
        "kind": "branch",
        "institution_id": str(town["inst"].id),
        "host_place": "经济开发区",
        "established_on": local_today().isoformat(),
    }
    assert client.post("/branches/new", data=sent).status_code == 403
    assert client.post(f"/branches/{branch.id}/edit", data=sent).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 1


def test_an_officer_of_another_department_cannot_touch_a_firms_branch(client, town):
    branch = branches.save_branch(town["officer"], _data(town))
    db.session.commit()
    AuthActions(client).login(town["stranger"].username)
    assert client.get(f"/branches/{branch.id}/edit").status_code == 403
    listed = client.get("/branches/").get_data(as_text=True)
    assert f"/branches/{branch.id}/edit" not in listed  # no button that is then refused
    token = csrf_token(client, "/branches/new")
    sent = {
        "csrf_token": token,
        "name": "挂到别科企业",
        "kind": "lab",
        "institution_id": str(town["inst"].id),
        "host_enterprise_id": str(town["firm"].id),  # not in their choices: a crafted form
        "established_on": local_today().isoformat(),
    }
    assert client.post("/branches/new", data=sent).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 1


# ---- firms founded on an achievement -----------------------------------------------------------


@pytest.fixture
def library(town):
    inst = town["inst"]
    one = Achievement(title="真丝抗皱整理工艺", institution_id=inst.id)
    two = Achievement(title="领带面料数码印花", institution_id=inst.id)
    db.session.add_all([one, two])
    db.session.commit()
    return one, two


def test_a_firm_founded_on_an_achievement_round_trip(client, town, library):
    one, two = library
    firm = town["firm"]
    AuthActions(client).login(town["officer"].username)
    url = f"/enterprises/{firm.id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert "真丝抗皱整理工艺（分支测试大学）" in html  # picked from the achievement library
    form = form_to(html, url, url)
    founded = (local_today() - timedelta(days=30)).isoformat()
    sent = form.data(founded_on=founded, founding_achievement_ids=[str(one.id), str(two.id)])
    assert client.post(url, data=sent).status_code == 302
    db.session.expire_all()
    assert firm.founded_on == date.fromisoformat(founded)
    assert {a.id for a in firm.founding_achievements} == {one.id, two.id}
    again = client.get(url).get_data(as_text=True)
    chosen = dict(form_to(again, url, url).data())["founding_achievement_ids"]
    assert sorted(chosen) == sorted([str(one.id), str(two.id)])  # the form shows them chosen
    page = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    founding = page.split('data-testid="founding"', 1)[1].split("</dd>", 1)[0]
    assert f'href="/achievements/{one.id}">真丝抗皱整理工艺</a>' in founding
    assert founded in page
    achievement = client.get(f"/achievements/{one.id}").get_data(as_text=True)
    firms = achievement.split('data-testid="founded-firms"', 1)[1]
    assert f'href="/enterprises/{firm.id}">嵊州分支宿主有限公司</a>' in firms
    assert f"{founded} 成立" in firms
    # chosen no more: the achievement's page no longer names the firm
    form = form_to(again, url, url)
    sent = {k: v for k, v in form.data().items() if k != "founding_achievement_ids"}
    sent["founding_achievement_ids"] = str(two.id)
    assert client.post(url, data=sent).status_code == 302
    assert 'data-testid="founded-firms"' not in client.get(f"/achievements/{one.id}").get_data(
        as_text=True
    )


def test_a_founding_achievement_needs_a_date_and_a_live_achievement(client, town, library):
    one, _ = library
    gone = Achievement(title="已删的成果", deleted_at=datetime.now(UTC))
    db.session.add(gone)
    db.session.commit()
    AuthActions(client).login(town["officer"].username)
    url = f"/enterprises/{town['firm'].id}/edit"
    form = form_to(client.get(url).get_data(as_text=True), url, url)
    undated = client.post(url, data=form.data(founding_achievement_ids=str(one.id)))
    body = undated.get_data(as_text=True)
    assert undated.status_code == 400 and invalid(body) == {"founded_on"}
    assert "选择了依托的科技成果，请填写成立日期" in body
    future = (local_today() + timedelta(days=1)).isoformat()
    late = client.post(url, data=form.data(founded_on=future))
    assert late.status_code == 400 and "成立日期不能晚于今天" in late.get_data(as_text=True)
    deleted = client.post(
        url, data=form.data(founded_on="2020-05-01", founding_achievement_ids=str(gone.id))
    )
    assert deleted.status_code == 400
    assert "所选科技成果不存在或已被删除" in deleted.get_data(as_text=True)
    db.session.expire_all()
    assert town["firm"].founded_on is None and town["firm"].founding_achievements == []


def test_a_firms_own_founding_achievement_stays_when_deleted_since(client, town, library):
    one, _ = library
    firm = town["firm"]
    firm.founded_on, firm.founding_achievements = date(2020, 5, 1), [one]
    db.session.commit()
    one.deleted_at = datetime.now(UTC)
    db.session.commit()
    AuthActions(client).login(town["officer"].username)
    url = f"/enterprises/{firm.id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert "真丝抗皱整理工艺（已删除）" in html
    assert client.post(url, data=form_to(html, url, url).data()).status_code == 302
    db.session.expire_all()
    assert [a.id for a in firm.founding_achievements] == [one.id]


def test_the_api_shows_and_writes_the_founding_date(client, town, library):
    one, _ = library
    firm = town["firm"]
    firm.founding_achievements = [one]
    firm.founded_on = date(2021, 3, 1)
    db.session.commit()
    token = bearer(town["officer"])
    shown = get(client, f"/api/v1/enterprises/{firm.id}", token)
    assert shown.status_code == 200 and shown.get_json()["founded_on"] == "2021-03-01"
    etag = shown.headers["ETag"]
    patched = send(
        client,
        "PATCH",
        f"/api/v1/enterprises/{firm.id}",
        token,
        {"founded_on": "2021-04-01"},
        If_Match=etag,
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["founded_on"] == "2021-04-01"
    db.session.expire_all()
    assert [a.id for a in firm.founding_achievements] == [one.id]  # not written by the API
    cleared = send(
        client,
        "PATCH",
        f"/api/v1/enterprises/{firm.id}",
        token,
        {"founded_on": None},
        If_Match=patched.headers["ETag"],
    )
    assert cleared.status_code == 422
    assert "请填写成立日期" in cleared.get_json()["error"]["fields"]["founded_on"]


def test_a_deleted_branch_leaves_the_pages_and_the_target(client, town):
    from crm.targets.rules import RULES

    branch = branches.save_branch(town["officer"], _data(town))
    db.session.commit()
    year = local_today().year
    assert RULES["institution_branches"].actual(year, None) == 1
    AuthActions(client).login(town["officer"].username)
    page_url = f"/institutions/{town['inst'].id}"
    delete = form_to(
        client.get(page_url).get_data(as_text=True), page_url, f"/trash/branch/{branch.id}/delete"
    )
    assert client.post(delete.path, data=delete.data()).status_code == 302
    assert f'id="branch-{branch.id}"' not in client.get(page_url).get_data(as_text=True)
    assert "分支测试联合实验室" not in client.get("/branches/").get_data(as_text=True)
    assert RULES["institution_branches"].actual(year, None) == 0
