"""Search: jieba words, pinyin, aliases and near-misses, Traditional input; index kept in step."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind, Researcher
from crm.needs.models import Need
from crm.search import services
from crm.search.index import reindex
from crm.text.models import SearchTerm
from tests.conftest import AuthActions


@pytest.fixture
def records(app):
    polyu = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY, region="香港")
    polyu.aliases = [InstitutionAlias(alias=a) for a in ("港理工", "PolyU", "香港理工大學")]
    zstu = Institution(name="浙江理工大学", kind=InstitutionKind.UNIVERSITY)
    jincheng = Enterprise(name="浙江锦程领带有限公司")
    jinchuan = Enterprise(name="嵊州市金川领带有限公司")  # same initials: jcld
    miner = Enterprise(name="嵊州市华硅新材料有限公司")
    need = Need(
        enterprise=miner,
        title="原土纯度低",
        description="本地原土含铁多，急需硅藻土提纯技术，提高SiO2含量",
    )
    expert = Researcher(
        name="叶玉兰", institution=polyu, research_directions="纺织品功能整理；抗皱免烫整理"
    )
    db.session.add_all([polyu, zstu, jincheng, jinchuan, miner, need, expert])
    db.session.commit()
    return {
        "polyu": polyu,
        "jincheng": jincheng,
        "jinchuan": jinchuan,
        "need": need,
        "expert": expert,
        "miner": miner,
    }


def _top(q: str, n: int = 1) -> list[tuple[str, str]]:
    return [(h.kind, h.title) for h in services.search(q)[:n]]


def test_chinese_words_inside_longer_text(records):
    hits = services.search("硅藻土")
    assert ("need", "原土纯度低") in [(h.kind, h.title) for h in hits]
    need_hit = next(h for h in hits if h.kind == "need")
    assert "硅藻土" in need_hit.terms
    assert "硅藻土提纯" in need_hit.snippet


def test_pinyin_full_initials_and_mixed(records):
    assert sorted(_top("jcld", 2)) == [
        ("enterprise", "嵊州市金川领带有限公司"),
        ("enterprise", "浙江锦程领带有限公司"),
    ]
    assert _top("jinchengld") == [("enterprise", "浙江锦程领带有限公司")]
    assert _top("jinchenglingdai") == [("enterprise", "浙江锦程领带有限公司")]
    titles = [t for _, t in _top("jinchengld", 5)]
    assert "嵊州市金川领带有限公司" not in titles  # same initials, but not what was typed


@pytest.mark.parametrize("q", ["港理工", "PolyU", "polyu", "香港理工大學", "香港理工大学"])
def test_aliases_and_traditional_find_polyu(records, q):
    assert _top(q) == [("institution", "香港理工大学")]


def test_near_miss_of_a_name(records):
    assert _top("锦成领带") == [("enterprise", "浙江锦程领带有限公司")]


def test_traditional_text_query(records):
    assert ("need", "原土纯度低") in _top("矽藻土提純", 3)
    assert ("researcher", "叶玉兰") in _top("抗皺免燙", 3)


def test_index_follows_edits_and_deletes(records):
    need = records["need"]
    need.description = "需要钕铁硼磁钢降本"
    db.session.commit()
    assert ("need", "原土纯度低") not in _top("硅藻土", 5)
    assert ("need", "原土纯度低") in _top("钕铁硼", 5)
    need.deleted_at = utcnow()
    db.session.commit()
    assert ("need", "原土纯度低") not in _top("钕铁硼", 5)
    count = db.session.scalar(
        sa.select(sa.func.count()).where(SearchTerm.kind == "need", SearchTerm.record_id == need.id)
    )
    assert count == 0


def test_new_alias_is_searchable(records):
    records["polyu"].aliases.append(InstitutionAlias(alias="理大"))
    db.session.commit()
    assert _top("理大") == [("institution", "香港理工大学")]


def test_reindex_rebuilds_the_same_index(records):
    before = set(
        db.session.execute(sa.select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.term))
    )
    reindex(db.session)
    db.session.commit()
    after = set(
        db.session.execute(sa.select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.term))
    )
    assert after == before and len(after) > 20


def test_cli_json(records, runner):
    result = runner.invoke(args=["search", "港理工", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["kind"] == "institution" and data[0]["title"] == "香港理工大学"
    assert {"id", "score", "terms"} <= set(data[0])


def test_search_page_highlights_and_escapes(records, client, make_user, make_enterprise):
    make_enterprise(name="<img src=x onerror=alert(1)>硅藻土厂")
    AuthActions(client).login(make_user().username)
    body = client.get("/search", query_string={"q": "硅藻土"}).get_data(as_text=True)
    assert "<mark>硅藻土</mark>" in body
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;<mark>硅藻土</mark>厂" in body
    empty = client.get("/search", query_string={"q": "完全不存在的词"}).get_data(as_text=True)
    assert "没有找到" in empty


def test_highlight_escapes_before_marking():
    out = services.highlight("<b>硅藻土</b>", ["硅藻土", "b"])
    assert str(out) == "&lt;<mark>b</mark>&gt;<mark>硅藻土</mark>&lt;/<mark>b</mark>&gt;"


def test_every_hit_links_to_its_page(records, client, make_user):
    AuthActions(client).login(make_user().username)
    expected = {
        "港理工": f"/institutions/{records['polyu'].id}",
        "叶玉兰": f"/researchers/{records['expert'].id}",
        "原土纯度低": f"/needs/{records['need'].id}",
        "jcld": f"/enterprises/{records['jincheng'].id}",
    }
    for q, url in expected.items():
        body = client.get("/search", query_string={"q": q}).get_data(as_text=True)
        assert f'href="{url}"' in body, q
        page = client.get(url)
        assert page.status_code == 200, url


def test_record_pages_show_their_facts_and_hide_deleted(records, client, make_user):
    AuthActions(client).login(make_user().username)
    polyu = client.get(f"/institutions/{records['polyu'].id}").get_data(as_text=True)
    assert "港理工" in polyu and "叶玉兰" in polyu
    expert = client.get(f"/researchers/{records['expert'].id}").get_data(as_text=True)
    assert "抗皱免烫整理" in expert and "香港理工大学" in expert
    need = client.get(f"/needs/{records['need'].id}").get_data(as_text=True)
    assert "嵊州市华硅新材料有限公司" in need and "待匹配" in need
    records["expert"].deleted_at = utcnow()
    db.session.commit()
    assert client.get(f"/researchers/{records['expert'].id}").status_code == 404
    assert "叶玉兰" not in client.get(f"/institutions/{records['polyu'].id}").get_data(as_text=True)


def test_cli_reindex(records, runner):
    db.session.execute(sa.delete(SearchTerm))
    db.session.commit()
    assert [h.terms for h in services.search("港理工")] == [["≈港理工"]]  # fuzzy names only
    result = runner.invoke(args=["search", "--reindex"])
    assert result.exit_code == 0, result.output
    assert "已重建检索索引" in result.output
    assert "港理工" in services.search("港理工")[0].terms
    skipped = runner.invoke(args=["search", "--reindex", "--if-empty"])
    assert "跳过" in skipped.output
    usage = runner.invoke(args=["search"])
    assert usage.exit_code != 0 and "请给出要搜索的内容" in usage.output
