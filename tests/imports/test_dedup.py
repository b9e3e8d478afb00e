"""Duplicates: normalised names, candidates for review, merge moves everything, undo restores."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.dedup import merge, services
from crm.dedup.models import MergeRecord
from crm.enterprises.models import Contact, Enterprise, EnterpriseAlias, EnterpriseYear
from crm.errors import PermissionDenied, ValidationError
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need
from crm.search import services as search
from crm.visits.models import Visit
from tests.conftest import AuthActions, csrf_token
from tests.imports.helpers import valid_uscc


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("浙江省嵊州市锦程领带有限公司", "锦程领带"),
        ("嵊州市锦程领带（嵊州）有限责任公司", "锦程领带"),
        ("绍兴市锦程领带股份有限公司", "锦程领带"),
        ("ＡＢＣ电机（嵊州）有限公司", "abc电机"),
        ("锦程 领带 有限公司", "锦程领带"),
        # a group and a branch are firms of their own; a place inside a name is part of it
        ("锦程领带集团有限公司", "锦程领带集团"),
        ("锦程领带有限公司嵊州分公司", "锦程领带有限公司嵊州分公司"),
        ("新嵊州电机有限公司", "新嵊州电机"),
        ("嵊州市越丰电机有限公司（原嵊州市越丰电器厂）", "越丰电机"),
    ],
)
def test_dedup_key(name, key):
    assert services.dedup_key(name) == key


def test_similar_pairs_and_differing_characters():
    names = ["锦程领带", "锦成领带", "好运电机", "华艺纺织", "华美纺织"]
    pairs = {(i, j): s for i, j, s in services.similar_pairs(names, None, 70)}
    assert (0, 1) in pairs and (3, 4) in pairs and (0, 2) not in pairs
    left, right = services.diff_segments("华艺纺织", "华美纺织")
    assert left == [("华", False), ("艺", True), ("纺织", False)]
    assert right == [("华", False), ("美", True), ("纺织", False)]


def test_candidates_respect_uscc_as_the_hard_key(app, make_enterprise):
    a = make_enterprise(name="嵊州市锦程领带有限公司", uscc=valid_uscc("91330683MA2BX0001"))
    b = make_enterprise(name="浙江锦程领带有限公司")
    c = make_enterprise(name="锦程领带（嵊州）有限公司", uscc=valid_uscc("91330683MA2BX0002"))
    make_enterprise(name="嵊州市好运电机有限公司")
    pairs = {(p.a.id, p.b.id) for p in services.candidates("enterprises", 85)}
    assert (a.id, b.id) in pairs and (b.id, c.id) in pairs
    assert (a.id, c.id) not in pairs  # two different valid codes: two firms


def test_researcher_candidates(app):
    inst = Institution(name="浙江大学", kind=InstitutionKind.UNIVERSITY)
    other = Institution(name="东华大学", kind=InstitutionKind.UNIVERSITY)
    db.session.add_all([inst, other])
    people = [
        Researcher(name="王志远", institution=inst, research_directions="永磁同步电机设计"),
        Researcher(name="王志远", institution=inst, research_directions="电机设计"),
        Researcher(name="王志远", research_directions="电机"),
        Researcher(name="王志远", institution=other, research_directions="真丝染色"),
    ]
    db.session.add_all(people)
    db.session.commit()
    found = {(p.a.id, p.b.id): p.reason for p in services.candidates("researchers", 85)}
    assert found[(people[0].id, people[1].id)] == "同名、同单位"
    assert found[(people[0].id, people[2].id)] == "同名，其中一位未填单位"
    assert (people[0].id, people[3].id) not in found  # same name, different field and place


@pytest.fixture
def pair(make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    officer = make_user()
    kept = make_enterprise(name="嵊州市锦程领带有限公司")
    gone = make_enterprise(
        name="浙江锦程领带有限公司", uscc=valid_uscc("91330683MA2BX0003"), address="甘霖镇工业园"
    )
    need = Need(enterprise_id=gone.id, title="领带起皱")
    visit = Visit(enterprise_id=gone.id, officer_id=officer.id, visited_on=date(2026, 10, 8))
    contact = Contact(enterprise_id=gone.id, name="王先生")
    year_kept = EnterpriseYear(enterprise_id=kept.id, year=2025)
    year_clash = EnterpriseYear(enterprise_id=gone.id, year=2025)
    year_moved = EnterpriseYear(enterprise_id=gone.id, year=2024)
    db.session.add_all([need, visit, contact, year_kept, year_clash, year_moved])
    db.session.commit()
    return (
        admin,
        kept,
        gone,
        {
            "need": need,
            "visit": visit,
            "contact": contact,
            "clash": year_clash,
            "moved": year_moved,
        },
    )


def test_merge_moves_everything_keeps_alias_fills_blanks_and_undo_restores(pair):
    admin, kept, gone, rows = pair
    record = merge.merge(admin, "enterprises", kept.id, gone.id)
    db.session.commit()
    db.session.expire_all()
    assert gone.deleted_at is not None
    for key in ("need", "visit", "contact", "moved"):
        assert rows[key].enterprise_id == kept.id, key
    assert rows["clash"].enterprise_id == gone.id  # kept already has 2025: it stays, reported
    assert record.details["stayed"] == {"enterprise_year.enterprise_id": 1}
    assert kept.uscc == valid_uscc("91330683MA2BX0003") and kept.address == "甘霖镇工业园"
    assert [a.alias for a in kept.aliases] == ["浙江锦程领带有限公司"]
    # the old name still finds the kept record
    assert [h.id for h in search.search("浙江锦程领带有限公司") if h.kind == "enterprise"] == [
        kept.id
    ]

    merge.undo(admin, record)
    db.session.commit()
    db.session.expire_all()
    assert gone.deleted_at is None and gone.uscc == valid_uscc("91330683MA2BX0003")
    assert kept.uscc is None and kept.address is None
    for key in ("need", "visit", "contact", "moved", "clash"):
        assert rows[key].enterprise_id == gone.id, key
    assert db.session.scalars(sa.select(EnterpriseAlias)).all() == []
    assert record.undone_at is not None
    with pytest.raises(ValidationError):
        merge.undo(admin, record)


def test_merge_moves_suggestions_of_researchers(make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    ent = make_enterprise()
    need = Need(enterprise_id=ent.id, title="电机噪声")
    a, b = Researcher(name="王志远"), Researcher(name="王志远", title="教授")
    db.session.add_all([need, a, b])
    db.session.flush()
    suggestion = Suggestion(need_id=need.id, researcher_id=b.id, score=3.2)
    db.session.add(suggestion)
    db.session.commit()
    merge.merge(admin, "researchers", a.id, b.id)
    db.session.commit()
    db.session.expire_all()
    assert suggestion.researcher_id == a.id and a.title == "教授"


def test_merge_refuses_two_codes_and_non_admins(make_user, make_enterprise):
    admin, officer = make_user(role=Role.ADMIN), make_user()
    a = make_enterprise(uscc=valid_uscc("91330683MA2BX0004"))
    b = make_enterprise(uscc=valid_uscc("91330683MA2BX0005"))
    with pytest.raises(ValidationError, match="信用代码不同"):
        merge.merge(admin, "enterprises", a.id, b.id)
    with pytest.raises(PermissionDenied):
        merge.merge(officer, "enterprises", a.id, b.id)
    with pytest.raises(ValidationError):
        merge.merge(admin, "enterprises", a.id, a.id)


def test_admin_page_lists_pairs_and_merges(app, client, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    a = make_enterprise(name="嵊州市华艺纺织有限公司")
    b = make_enterprise(name="嵊州市华艺纺织品有限公司")
    AuthActions(client).login(admin.username)
    html = client.get("/admin/duplicates/", query_string={"kind": "enterprises"}).get_data(
        as_text=True
    )
    assert "华艺纺织" in html and "<mark" in html
    token = csrf_token(client, "/admin/duplicates/")
    response = client.post(
        "/admin/duplicates/merge",
        data={"csrf_token": token, "kind": "enterprises", "keep": a.id, "merge": b.id},
    )
    assert response.status_code == 302
    record = db.session.scalars(sa.select(MergeRecord)).one()
    assert (record.kept_id, record.merged_id) == (a.id, b.id)
    response = client.post(f"/admin/duplicates/merges/{record.id}/undo", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enterprise, b.id).deleted_at is None
    officer = app.test_client()
    AuthActions(officer).login(make_user().username)
    assert officer.get("/admin/duplicates/").status_code == 403


def test_cli_dedup(runner, make_enterprise):
    make_enterprise(name="嵊州市锦程领带有限公司")
    make_enterprise(name="浙江锦程领带有限公司")
    result = runner.invoke(args=["dedup", "--kind", "enterprises"])
    assert result.exit_code == 0, result.output
    assert "锦程领带" in result.output and "共 1 对疑似重复" in result.output


def test_institution_names_keep_their_place():
    assert services.dedup_key("浙江大学", company=False) == "浙江大学"
    assert (
        services.dedup_key("香港理工大學（紡織及服裝學系）", company=False)
        == "香港理工大学纺织及服装学系"
    )


def test_a_pair_marked_not_duplicate_is_not_listed_again(app, client, make_user, make_enterprise):
    admin = make_user(role=Role.ADMIN)
    a = make_enterprise(name="嵊州市华艺纺织有限公司")
    b = make_enterprise(name="嵊州市华美纺织有限公司")
    assert {(p.a.id, p.b.id) for p in services.candidates("enterprises", 70)} == {(a.id, b.id)}
    AuthActions(client).login(admin.username)
    token = csrf_token(client, "/admin/duplicates/")
    response = client.post(
        "/admin/duplicates/dismiss",
        data={"csrf_token": token, "kind": "enterprises", "a": b.id, "b": a.id},
    )
    assert response.status_code == 302
    assert services.candidates("enterprises", 70) == []
    services.dismiss(admin, "enterprises", a.id, b.id)  # twice is harmless
    with pytest.raises(PermissionDenied):
        services.dismiss(make_user(), "enterprises", a.id, b.id)
