"""Search as officers type: part of a firm's name, in characters, pinyin or initials, from its
start or from inside it; whole-name and prefix hits first; lists sorted by pinyin."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind, Researcher
from crm.search import names, services
from crm.text.pinyin import initials_of_mixed, name_pieces, spells

JINCHENG = "嵊州市锦程领带服饰有限公司"


@pytest.fixture
def firms(app):
    names = [
        JINCHENG,
        "嵊州市金川领带有限公司",  # initials jcld too, but not 锦程
        "浙江丽珩领带有限公司",
        "嵊州市程达电机有限公司",  # 程 starts this one's core: a prefix hit for 程
        "嵊州市华彩丝绸有限公司",
    ]
    db.session.add_all([Enterprise(name=n) for n in names])
    cas = Institution(name="中国科学院过程工程研究所", kind=InstitutionKind.CAS_INSTITUTE)
    cas.aliases = [InstitutionAlias(alias="中科院过程所")]
    db.session.add_all([cas, Researcher(name="金成林", title="教授")])
    db.session.commit()


def _titles(q: str) -> list[str]:
    return [h.title for h in services.search(q)]


@pytest.mark.parametrize(
    "query",
    [
        "jcld",
        "jincheng",
        "jinchenglingdai",
        "lingdai",
        "ldfs",
        "锦程",
        "领带服饰",
        "锦cld",
        "jinch",
    ],
)
def test_part_of_a_name_finds_the_firm(firms, query):
    assert JINCHENG in _titles(query)


def test_initials_of_another_name_do_not_pass_for_it(firms):
    assert "嵊州市金川领带有限公司" not in _titles("锦cld")
    assert "嵊州市金川领带有限公司" not in _titles("jincheng")
    assert "嵊州市华彩丝绸有限公司" not in _titles("lingdai")


def test_whole_name_and_prefix_hits_rank_above_infix_hits(firms):
    # 程: the start of 程达电机, inside 锦程领带服饰
    titles = _titles("chengda")
    assert titles[0] == "嵊州市程达电机有限公司"
    titles = _titles("cheng")
    assert titles.index("嵊州市程达电机有限公司") < titles.index(JINCHENG)
    # the whole core name first, though 锦程领带服饰 also starts with 锦程领带
    db.session.add(Enterprise(name="嵊州市锦程领带有限公司"))
    db.session.commit()
    assert _titles("锦程领带")[0] == "嵊州市锦程领带有限公司"
    # jcld: both whole cores (锦程领带, 金川领带) before the one it only starts
    top = _titles("jcld")
    assert set(top[:2]) == {"嵊州市锦程领带有限公司", "嵊州市金川领带有限公司"}
    assert top.index(JINCHENG) == 2


def test_institution_aliases_and_people_by_the_start_of_their_pinyin(firms):
    assert "中国科学院过程工程研究所" in _titles("过程所")
    assert "中国科学院过程工程研究所" in _titles("guocheng")
    assert "金成林" in _titles("jincl")
    assert "金成林" in _titles("金成")


def test_a_partial_hit_shows_what_was_typed_never_a_pinyin_key(firms):
    hit = next(h for h in services.search("领带服饰") if h.title == JINCHENG)
    assert "领带服饰" in hit.terms
    hit = next(h for h in services.search("lingdai") if h.title == JINCHENG)
    assert not any(t.startswith(("py:", "pyi:", "nx:")) for t in hit.terms)


def test_renamed_and_deleted_firms_follow(firms):
    firm = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == JINCHENG))
    firm.name = "嵊州市云锦服饰有限公司"
    db.session.commit()
    assert "嵊州市云锦服饰有限公司" in _titles("yunjin")
    assert "嵊州市云锦服饰有限公司" not in _titles("jincheng")
    assert firm.name_sort == "yun jin fu shi"


def test_spells_reads_characters_pinyin_initials_and_a_half_typed_last_syllable():
    pieces = name_pieces("锦程领带服饰")
    assert [s for _, s in pieces] == ["jin", "cheng", "ling", "dai", "fu", "shi"]
    for typed in ("锦cld", "jcld", "chengling", "lingd", "领dfs", "jinch"):
        assert spells(typed, pieces), typed
    for typed in ("金cld", "jcldx", "lingdaifushix", "jinchx"):
        assert not spells(typed, pieces), typed
    assert initials_of_mixed("锦cld") == {"jcld"}
    assert {"cl", "zl"} <= initials_of_mixed("长l")  # 长: chang or zhang


def test_enterprise_list_sorts_by_the_pinyin_of_the_name_people_say(client, firms, auth, make_user):
    auth.login(make_user(role=Role.ADMIN).username)
    page = client.get("/enterprises/?sort=name").get_data(as_text=True)
    # cheng da, hua cai, jin cheng, jin chuan, li heng: the core name's syllables
    order = [
        page.index(n) for n in ("程达电机", "华彩丝绸", "锦程领带服饰", "金川领带", "丽珩领带")
    ]
    assert order == sorted(order)


def test_sort_keys_are_filled_by_bulk_inserts_too(app):
    now = utcnow()
    db.session.execute(
        sa.insert(Researcher.__table__),
        [{"name": "张三丰", "version": 1, "created_at": now, "updated_at": now}],
    )
    db.session.commit()
    assert db.session.scalar(sa.select(Researcher.name_sort)) == "zhang san feng"


def test_list_filters_read_a_query_as_search_does(client, firms, auth, make_user):
    auth.login(make_user(role=Role.ADMIN).username)
    for query in ("jcld", "锦程", "lingdaifushi"):
        page = client.get("/enterprises/", query_string={"q": query}).get_data(as_text=True)
        assert JINCHENG in page, query
        assert "华彩丝绸" not in page
    page = client.get("/researchers/", query_string={"q": "jincl"}).get_data(as_text=True)
    assert "金成林" in page
    page = client.get("/institutions/", query_string={"q": "guocheng"}).get_data(as_text=True)
    assert "中国科学院过程工程研究所" in page


def test_a_uscc_is_shown_as_written(app):
    firm = Enterprise(name="嵊州市测试电器有限公司", uscc="91330683MA2BXXXX0X", notes="备注")
    db.session.add(firm)
    db.session.commit()
    hit = next(h for h in services.search("91330683ma2bxxxx0x") if h.id == firm.id)
    assert "91330683MA2BXXXX0X" in hit.snippet


def test_a_name_start_is_not_crowded_out_by_many_others(app, monkeypatch):
    """2,000 researchers named 程… in a county would fill a capped range before the firm 程达电机
    is read: each kind, and a name's start apart from its inside, has a range of its own."""
    monkeypatch.setattr(services, "POSTINGS_CAP", 20)
    monkeypatch.setattr(names, "NAMED_CAP", 20)
    db.session.add_all([Researcher(name=f"程安{chr(0x4E00 + i)}") for i in range(40)])
    db.session.add_all([Enterprise(name=f"嵊州市锦程{i}号领带有限公司") for i in range(40)])
    db.session.add(Enterprise(name="嵊州市程达电机有限公司"))
    db.session.commit()
    assert "嵊州市程达电机有限公司" in _titles("cheng")
    firm = db.session.scalar(sa.select(Enterprise.id).where(Enterprise.name.like("%程达%")))
    assert firm in names.named("enterprise", "cheng")
    assert firm in names.named("enterprise", "程")


def test_institutions_keep_their_place_names_in_their_keys(app):
    db.session.add_all(
        [
            Institution(name="浙江大学", kind=InstitutionKind.UNIVERSITY),
            Institution(name="绍兴文理学院", kind=InstitutionKind.UNIVERSITY),
        ]
    )
    db.session.commit()
    for query in ("zjdx", "zhejiang", "浙江大"):
        assert _titles(query)[:1] == ["浙江大学"], query
    assert _titles("sxwl")[:1] == ["绍兴文理学院"]
    ids = names.named("institution", "shaoxingwenli")
    assert [
        i.name for i in db.session.scalars(sa.select(Institution).where(Institution.id.in_(ids)))
    ] == ["绍兴文理学院"]


def test_a_character_read_several_ways_is_read_its_usual_way_first(app):
    db.session.add(Researcher(name="单田芳"))
    db.session.commit()
    assert "单田芳" in _titles("单tianfang")
    assert "单田芳" in _titles("单tf")


def test_names_with_rarer_characters_are_pieced_like_others(app):
    db.session.add(Enterprise(name="嵊州市〇〇七电器厂"))
    db.session.commit()
    for query in ("七dq", "〇〇七", "lingqi"):
        assert "嵊州市〇〇七电器厂" in _titles(query), query
