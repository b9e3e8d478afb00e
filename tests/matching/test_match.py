"""The matcher: thesaurus expansion finds experts for owners' words, explained; CLI contract."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.institutions.models import Researcher
from crm.matching import cache, index, queries, services
from crm.needs.models import Need
from crm.text.docs import versions
from crm.text.models import MatchDoc
from crm.text.terms import pack


def test_owner_words_find_the_expert_through_the_thesaurus(experts):
    people, _, _ = experts
    found = services.match_text("马达一开就嗡嗡响，还发抖", top=5)
    assert found[0].kind == "researcher" and found[0].id == people["motor"].id
    terms = {m.term: m.via for m in found[0].matched}
    assert (
        terms["电机"] == "马达" and terms["振动"] == "发抖" and terms["噪声"] in ("嗡嗡响", "嗡嗡")
    )
    # the near-miss that shares 电 but not the problem is not suggested
    assert people["grid"].id not in [c.id for c in found if c.kind == "researcher"]


def test_literal_terms_outweigh_expansions(experts):
    people, achievement, _ = experts
    found = services.match_text("真丝领带容易起皱", top=5)
    assert (found[0].kind, found[0].id) == ("achievement", achievement.id)
    contributions = {m.term: m for m in found[0].matched}
    assert contributions["抗皱"].via == "起皱" and contributions["真丝"].via is None
    assert [m.contribution for m in found[0].matched] == sorted(
        (m.contribution for m in found[0].matched), reverse=True
    )


def test_a_need_matches_with_its_title_and_description(experts):
    people, _, need = experts
    found = services.match_need(need, top=3, kinds=("researcher",))
    assert [c.kind for c in found] == ["researcher"] * len(found)
    assert found[0].id == people["motor"].id and found[0].institution == "中国计量大学"


def test_nothing_known_gives_nothing(experts):
    assert services.match_text("区块链") == []
    assert services.match_text("") == []


def test_cli_json_contract(experts, runner, tmp_path):
    people, _, need = experts
    result = runner.invoke(args=["match", "--text", "马达嗡嗡响", "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert 1 <= len(rows) <= 3
    assert set(rows[0]) == {
        "kind",
        "id",
        "name",
        "institution",
        "score",
        "matched_terms",
        "semantic",  # added by issue 18; null here: nothing is embedded yet
    }
    assert rows[0]["semantic"] is None
    assert rows[0]["kind"] == "researcher" and rows[0]["id"] == people["motor"].id
    assert rows == sorted(rows, key=lambda r: -r["score"])
    queries = tmp_path / "needs.txt"
    queries.write_text("马达嗡嗡响\n\n真丝领带容易起皱\n", encoding="utf-8")
    result = runner.invoke(args=["match", "--text-file", str(queries), "--json"])
    lines = result.output.strip().split("\n")
    assert len(lines) == 3 and json.loads(lines[1]) == []
    assert json.loads(lines[2])[0]["kind"] == "achievement"
    result = runner.invoke(args=["match", "--need", str(need.id), "--json"])
    assert json.loads(result.output)[0]["id"] == people["motor"].id
    result = runner.invoke(args=["match"])
    assert result.exit_code != 0 and "--text" in result.output


def test_a_saved_index_is_loaded_and_brought_up_to_date(experts, tmp_path):
    people, _, _ = experts
    path = tmp_path / "match.npz"
    connection = db.session.connection()
    built = cache.rebuild(connection)
    cache.save(built, path)
    saved_at = built.stamp
    loaded = cache.load(path, versions(connection))
    assert loaded is not None and loaded.terms == built.terms and (loaded.ids == built.ids).all()
    assert loaded.score({"电机": 1.0}) == built.score({"电机": 1.0})
    newcomer = Researcher(name="新来的", research_directions="电机控制")
    db.session.add(newcomer)
    db.session.commit()
    current = versions(db.session.connection())
    assert current["docs"] == saved_at + 1  # one committed transaction, one version
    loaded = cache.load(path, current)
    assert loaded is not None and loaded.absorb(db.session.connection(), current["docs"]) == 1
    assert newcomer.id in [i for _, i, _, _ in loaded.score({"控制": 1.0})]
    other_database = {**current, "epoch": current["epoch"] + 1}
    assert cache.load(path, other_database) is None
    restored_older = {**current, "docs": saved_at - 1}
    assert cache.load(path, restored_older) is None


def test_a_transaction_that_rolls_back_leaves_no_trace(experts):
    connection = db.session.connection()
    before = versions(connection)["docs"]
    db.session.add(Researcher(name="未提交", research_directions="电机控制"))
    db.session.flush()
    db.session.rollback()
    db.session.add(Need(enterprise_id=experts[2].enterprise_id, title="别的需求"))
    db.session.commit()  # a later commit must not stamp the rolled-back doc
    table = MatchDoc.__table__
    assert (
        db.session.execute(sa.select(table.c.version).where(table.c.version.is_(None))).all() == []
    )
    assert versions(db.session.connection())["docs"] == before + 1
    assert "未提交" not in [c.name for c in services.match_text("电机控制", top=20)]


def test_a_record_saved_after_the_build_is_absorbed_without_a_rebuild(experts):
    people, _, _ = experts
    built = cache.get_index(db.session.connection())
    before = built.size
    newcomer = Researcher(name="钱立群", research_directions="钕铁硼永磁材料；磁钢退磁")
    people["motor"].research_directions = "真丝染色"  # the motor expert changes field
    people["motor"].bio = None
    db.session.add(newcomer)
    db.session.commit()
    found = services.match_text("磁钢老是退磁", top=3)
    same = cache.get_index(db.session.connection())
    assert same is built and same.size == before and len(same.delta) == 2  # absorbed, not rebuilt
    assert found[0].id == newcomer.id
    assert people["motor"].id not in [
        c.id for c in services.match_text("马达嗡嗡响", top=5) if c.kind == "researcher"
    ]


def test_deleting_the_newest_record_does_not_rebuild_and_hides_it(experts):
    people, _, _ = experts
    newcomer = Researcher(name="钱立群", research_directions="钕铁硼永磁材料；磁钢退磁")
    db.session.add(newcomer)
    db.session.commit()
    built = cache.get_index(db.session.connection())
    assert services.match_text("磁钢退磁", top=1)[0].id == newcomer.id
    from crm.auth import services as auth
    from crm.auth.models import Role
    from crm.trash import services as trash

    admin = auth.create_user(auth.UserData("trashadmin", "管理员", Role.ADMIN, "a-long-password-1"))
    trash.delete(admin, "researcher", newcomer.id)
    db.session.commit()
    assert cache.get_index(db.session.connection()) is built  # no rebuild
    assert newcomer.id not in [c.id for c in services.match_text("磁钢退磁", top=3)]


def test_an_achievement_finds_the_enterprises_that_need_it(
    experts, make_enterprise, client, make_user
):
    from tests.conftest import AuthActions

    _, achievement, need = experts
    tie_maker = make_enterprise(name="嵊州市锦程领带有限公司", main_products="真丝领带")
    db.session.add(
        Need(enterprise_id=tie_maker.id, title="领带洗后起皱", description="客户嫌皱巴巴")
    )
    other = make_enterprise(name="嵊州市某茶叶公司", main_products="绿茶")
    db.session.commit()
    cache.rebuild(db.session.connection(), index.ADOPTERS)
    found = services.adopters(achievement)
    assert found[0].enterprise_id == tie_maker.id and found[0].reason == "需求：领带洗后起皱"
    assert {m.term: m.via for m in found[0].matched}.get("抗皱") in (None, "起皱")
    assert other.id not in [a.enterprise_id for a in found]
    AuthActions(client).login(make_user().username)
    html = client.get(f"/achievements/{achievement.id}").get_data(as_text=True)
    assert "成果推介" in html and "嵊州市锦程领带有限公司" in html


def test_an_owner_word_close_to_a_known_one_is_widened_and_explained(experts):
    """褶子 is in no profile and no thesaurus line, but shares 褶 with what owners are known
    to say (起褶 → 抗皱); 机械手 shares three characters with an expert's 机械手臂."""
    people, _, _ = experts
    found = services.match_text("领带打结就留下褶子")
    textile = next(c for c in found if c.id == people["textile"].id and c.kind == "researcher")
    assert {m.term: m.via for m in textile.matched}["抗皱"] == "褶子"

    built = index.MatchIndex.from_docs(
        [
            ("researcher", 1, pack({"机械手臂": 2.0, "码垛": 2.0})),
            ("researcher", 2, pack({"机械": 2.0})),
        ]
    )
    query = queries.Query({"机械手": 1.5, "码垛": 1.5}, {})
    widened = queries.widen(query, built)
    dice = 2 * 3 / (3 + 4)  # 机械手 / 机械手臂: three characters shared
    assert widened.weights["机械手臂"] == pytest.approx(1.5 * queries.FUZZY * dice)
    assert widened.via["机械手臂"] == "机械手"
    assert widened.weights["机械"] == pytest.approx(1.5 * queries.FUZZY * 0.8)  # 2 + 2 of 5
    assert widened.weights["码垛"] == 1.5 and "码垛" not in widened.via  # literal, as it was


def test_words_sharing_one_character_of_two_are_not_widened(experts):
    """区块 and 矿区, 计算 and 设计 share a character and nothing else: no expansion."""
    built = cache.get_index(db.session.connection())
    for text in ("区块链", "量子计算", "电机噪声", "马达", "磁"):
        query = queries.build_query(text)
        assert queries.widen(query, built).weights == query.weights, text
    assert services.match_text("量子计算芯片") == []


def test_the_worker_that_saves_takes_its_own_change_in_without_reading_it_back(
    experts, monkeypatch
):
    built = cache.get_index(db.session.connection())

    def no_reads(*_args, **_kwargs):
        raise AssertionError("read back from the database")

    monkeypatch.setattr(index.MatchIndex, "absorb", no_reads)
    db.session.add(Researcher(name="钱立群", research_directions="磁钢退磁机理"))
    db.session.commit()
    assert built.stamp == versions(db.session.connection())["docs"]
    assert services.match_text("磁钢退磁机理", top=1)[0].name == "钱立群"
    assert cache.get_index(db.session.connection()) is built
