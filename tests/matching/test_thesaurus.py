"""The thesaurus admins keep in the web: checked, versioned, and used at once by matching."""

from __future__ import annotations

import sqlalchemy as sa

from crm.auth.models import Role
from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching import queries, services
from crm.matching.models import ThesaurusEntry
from tests.conftest import AuthActions, csrf_token


def _admin(client, make_user):
    admin = make_user(role=Role.ADMIN)
    AuthActions(client).login(admin.username)
    return admin


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count(ThesaurusEntry.id)))


def test_an_added_line_is_used_by_the_next_match(experts, client, make_user):
    _admin(client, make_user)
    db.session.add(Researcher(name="赵老师", research_directions="陶瓷釉面针孔缺陷控制"))
    db.session.commit()
    assert "赵老师" not in [c.name for c in services.match_text("瓷砖表面有小麻点")]
    token = csrf_token(client, "/admin/thesaurus")
    response = client.post(
        "/admin/thesaurus",
        data={"csrf_token": token, "spoken": "小麻点，麻点", "experts": "针孔 0.8, 缺陷 0.5"},
    )
    assert response.status_code == 302
    entry = db.session.scalars(sa.select(ThesaurusEntry).filter_by(spoken="小麻点, 麻点")).one()
    assert entry.experts == "针孔 0.8, 缺陷 0.5" and entry.created_by_id is not None
    found = services.match_text("瓷砖表面有小麻点")
    assert found[0].name == "赵老师"
    assert {m.term: m.via for m in found[0].matched}["针孔"] == "小麻点"
    html = client.get("/admin/thesaurus?try=瓷砖表面有小麻点").get_data(as_text=True)
    assert "针孔 ← 小麻点" in html


def test_bad_lines_are_refused_in_chinese_and_nothing_is_written(experts, client, make_user):
    _admin(client, make_user)
    before = _count()
    token = csrf_token(client, "/admin/thesaurus")
    for experts, message in (
        ("电机 1.5", "权重要大于 0、小于 1"),
        ("电机 很高", "权重不是数字"),
        ("电机 0.8 0.6", "格式不对"),
        ("=> 电机", "不需要填写 =&gt;"),
    ):
        response = client.post(
            "/admin/thesaurus", data={"csrf_token": token, "spoken": "马达", "experts": experts}
        )
        assert response.status_code == 400, experts
        assert message in response.get_data(as_text=True), experts
    assert _count() == before


def test_a_stale_edit_is_refused_and_the_first_kept(experts, client, make_user):
    _admin(client, make_user)
    entry = db.session.scalars(sa.select(ThesaurusEntry).filter_by(spoken="马达")).first()
    assert entry is not None  # seeded from seeds/dictionary/thesaurus.txt
    path = f"/admin/thesaurus/{entry.id}"
    token = csrf_token(client, path)
    version = entry.version
    first = client.post(
        path,
        data={"csrf_token": token, "spoken": "马达", "experts": "电机 0.9", "version": version},
    )
    assert first.status_code == 302
    second = client.post(
        path,
        data={"csrf_token": token, "spoken": "马达", "experts": "电动机 0.5", "version": version},
    )
    assert second.status_code == 409 and "已被他人修改" in second.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.experts == "电机 0.9" and entry.version == version + 1
    weights = queries.build_query("马达").weights
    assert weights["电机"] == 0.9 * queries.TITLE_BOOST and "电动机" not in weights


def test_deleting_a_line_stops_its_expansion(experts, client, make_user):
    _admin(client, make_user)
    entry = db.session.scalars(sa.select(ThesaurusEntry).filter_by(spoken="马达")).first()
    assert "电机" in queries.build_query("马达").weights
    token = csrf_token(client, f"/admin/thesaurus/{entry.id}")
    response = client.post(
        f"/admin/thesaurus/{entry.id}/delete", data={"csrf_token": token, "version": entry.version}
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(ThesaurusEntry.id).filter_by(id=entry.id)) is None
    assert "电机" not in queries.build_query("马达").weights


def test_only_admins_keep_the_thesaurus(experts, client, make_user):
    officer = make_user(role=Role.OFFICER)
    AuthActions(client).login(officer.username)
    assert client.get("/admin/thesaurus").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(
        "/admin/thesaurus", data={"csrf_token": token, "spoken": "马达", "experts": "电机 0.5"}
    )
    assert response.status_code == 403


def test_an_unreadable_line_written_around_the_form_is_skipped_not_fatal(experts, caplog):
    """A line put in by hand (SQL, an old version) that cannot be read is left out and logged;
    matching goes on with the others."""
    from crm.text.docs import changed

    db.session.add(Researcher(name="钱老师", research_directions="陶瓷釉面针孔缺陷控制"))
    db.session.add(ThesaurusEntry(spoken="小麻点", experts="针孔 0.8"))
    db.session.add(ThesaurusEntry(spoken="坏行", experts="<img src=x> 不是权重"))
    db.session.flush()
    changed(db.session.connection(), "thesaurus")
    db.session.commit()
    found = services.match_text("瓷砖表面有小麻点")
    assert found and found[0].name == "钱老师"  # the readable line still expands
    assert "cannot be read" in caplog.text and "不是权重" in caplog.text
