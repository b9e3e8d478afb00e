"""Text analysis shared by search and matching."""

from __future__ import annotations

import pytest

from crm.text.analyzer import Analyzer, get_analyzer
from crm.text.normal import normalise
from crm.text.pinyin import pinyin_keys


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return get_analyzer()


def test_normalise_width_script_case_and_space():
    assert normalise("ＰｏｌｙＵ　香港理工大學  ") == "polyu 香港理工大学"
    assert normalise("矽藻土提純") == "硅藻土提纯"  # Taiwan's word for diatomite, too
    assert normalise(None) == ""


def test_domain_words_survive_as_tokens(analyzer):
    tokens = analyzer.tokens("本地硅藻土原土含铁多，急需提纯技术")
    assert "硅藻土" in tokens and "提纯" in tokens
    assert "集成灶" in analyzer.tokens("集成灶吸油烟效率不够")
    assert "钕铁硼" in analyzer.tokens("钕铁硼磁钢价格波动大")


def test_search_mode_yields_sub_words_of_long_compounds(analyzer):
    tokens = analyzer.tokens("永磁同步电机降噪")
    assert {"永磁同步电机", "永磁", "电机", "同步电机", "降噪"} <= set(tokens)


def test_stop_words_and_punctuation_are_dropped(analyzer):
    tokens = analyzer.tokens("嵊州市锦程领带有限公司：我们希望提高抗皱性能！")
    assert "有限公司" not in tokens and "我们" not in tokens and "希望" not in tokens
    assert "州市" not in tokens and "：" not in tokens and "！" not in tokens
    assert {"锦程", "领带", "抗皱"} <= set(tokens)


def test_traditional_and_full_width_input_give_the_same_tokens(analyzer):
    assert analyzer.tokens("領帶面料抗皺整理") == analyzer.tokens("领带面料抗皱整理")
    assert analyzer.tokens("ＩＥ４能效") == analyzer.tokens("IE4能效") == ["ie4", "能效"]


def test_the_dictionary_is_data(tmp_path):
    (tmp_path / "domain_words.txt").write_text("# comment\n嗡嗡响 5000 n\n", encoding="utf-8")
    (tmp_path / "stopwords.txt").write_text("我们\n", encoding="utf-8")
    custom = Analyzer.from_files(tmp_path)
    assert custom.domain_words == [("嗡嗡响", 5000, "n")]
    assert "我们" in custom.stop_words
    assert "嗡嗡响" in custom.tokens("我们的马达嗡嗡响")
    assert custom.thesaurus == {}  # no thesaurus file: no expansion
    (tmp_path / "thesaurus.txt").write_text("马达 => 电机 0.8\n", encoding="utf-8")
    assert Analyzer.from_files(tmp_path).expand(["马达"])["电机"] == (0.8, "马达")


def test_pinyin_keys():
    assert pinyin_keys("锦程领带") == ("jinchenglingdai", "jcld")
    assert pinyin_keys("IE4电机") == ("ie4dianji", "ie4dj")
    assert pinyin_keys("") == ("", "")


def test_thesaurus_maps_how_owners_talk_to_expert_terms(analyzer):
    tokens = analyzer.tokens("马达一开就嗡嗡响，还发抖")
    assert {"马达", "嗡嗡响", "发抖"} <= set(tokens)
    terms = analyzer.expand(tokens)
    assert terms["马达"] == (1.0, None)
    weight, source = terms["电机"]
    assert 0 < weight < 1 and source == "马达"  # expanded terms weigh less, and say why
    assert terms["噪声"][1] == "嗡嗡响" and terms["振动"][1] == "发抖"


def test_literal_term_is_not_lowered_by_an_expansion(analyzer):
    terms = analyzer.expand(analyzer.tokens("电机马达"))
    assert terms["电机"] == (1.0, None)


def test_thesaurus_lines_are_checked():
    from crm.text.analyzer import parse_thesaurus

    assert parse_thesaurus(["起皱, 起褶 => 抗皱 0.7, 免烫 0.5"])["起褶"] == (
        ("抗皱", 0.7),
        ("免烫", 0.5),
    )
    with pytest.raises(ValueError):
        parse_thesaurus(["马达 电机"])
    with pytest.raises(ValueError):
        parse_thesaurus(["马达 => 电机 1.5"])
