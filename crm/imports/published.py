"""What a published project list (立项名单 / 验收名单 of the province or the city) says about
itself and its rows: which list it is (its title, a 验收结论 column), which programme (科技计划)
its title or a 计划类别 cell names among the admins' programmes (`settle`: or what the officer
chose), whether a row's place is this county (`seeds/dictionary/county.txt`), a 起止年限 and a
验收结论 read."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz

from crm.enterprises.models import Enterprise, Town
from crm.extensions import db
from crm.imports.table import ImportFileError
from crm.imports.values import BadValue
from crm.projects.models import Programme, Project, ProjectStage
from crm.text.normal import DICTIONARY, half_width, normalise, read_word_list

#: what is not part of a name when programmes and titles are compared: spaces, brackets, marks
_NOISE = re.compile(r"[\s()（）\[\]【】〔〕<>《》“”\"'‘’·・.,，、:：;；_\-—]+")
_BRACKETED = re.compile(r"[(（【\[〔][^)）】\]〕]*[)）】\]〕]")
_YEAR = re.compile(r"(?:19|20)\d{2}\s*年度?")
#: what a title says around the programme's name (关于下达…的通知 附件1, …项目立项名单)
_TITLE_HEAD = re.compile(r"^(?:附件\s*\d*)?\s*关于(?:下达|公布|印发|公示|发布)?")
_TITLE_TAIL = re.compile(
    r"(?:附件\s*\d*|第.批|的|通知|公告|公示|名单|结果|情况|一览表|汇总表|清单|表|"
    r"拟|立项|验收|结题|项目|经费|资助)+$"
)
APPROVED_WORDS = re.compile(r"立项|下达|资助")
ACCEPTED_WORDS = re.compile(r"验收|结题")
PROVISIONAL_WORDS = re.compile(r"拟立项|拟资助|公示")
_FAILED = re.compile(r"不通过|未通过|不合格|不予|不同意|暂缓|延期|整改|终止|撤销|未验收|未结题")
_PASSED = re.compile(r"通过|合格|优秀|良好|结题|同意|验收")
_DATE = re.compile(
    r"((?:19|20)\d{2})(?:\s*[.\-/年]\s*(\d{1,2})(?!\d)(?:\s*[.\-/月]\s*(\d{1,2})(?!\d))?)?"
)


def key(text: str | None) -> str:
    """A name as compared: normalised, without spaces, brackets and punctuation."""
    return _NOISE.sub("", normalise(text))


# ---- the list itself --------------------------------------------------------------------------


def stage_of(titles: list[str], has_result: bool) -> ProjectStage | None:
    """立项 or 验收, as the title says (验收/结题 win: “立项项目验收名单”), else a 验收结论
    column says 验收; None when nothing says."""
    text = normalise(" ".join(titles))
    if ACCEPTED_WORDS.search(text):
        return ProjectStage.ACCEPTED
    if APPROVED_WORDS.search(text):
        return ProjectStage.APPROVED
    return ProjectStage.ACCEPTED if has_result else None


def provisional(titles: list[str]) -> bool:
    """A 公示 / 拟立项 list: not yet the decision."""
    return bool(PROVISIONAL_WORDS.search(normalise(" ".join(titles))))


def programme_in_title(title: str) -> str:
    """The programme a title names, as written, for a message: 2026年度浙江省重点研发计划项目
    立项名单 → 浙江省重点研发计划; 关于下达2026年绍兴市科技计划项目的通知 附件1 → 绍兴市科技计划."""
    text = _YEAR.sub("", normalise(title)).strip()
    text = _TITLE_HEAD.sub("", text).strip()
    for _ in range(3):
        text = _TITLE_TAIL.sub("", _BRACKETED.sub("", text).strip()).strip()
    return text or title.strip()


@dataclass
class Found:
    programme: Programme | None
    candidates: tuple[str, ...] = ()  # several programmes fit: their names


class Programmes:
    """The admins' programmes by name, matched tolerant of spaces and brackets: exactly, then
    the one a text holds or is held by (the longest when several nest: 浙江省重点研发计划
    before 重点研发计划)."""

    def __init__(self) -> None:
        self.all = list(db.session.scalars(sa.select(Programme).order_by(Programme.id)))
        self.keys = {p.id: (key(p.name), key(_BRACKETED.sub("", p.name))) for p in self.all}

    def get(self, programme_id: int | None) -> Programme | None:
        return next((p for p in self.all if p.id == programme_id), None)

    def named(self, text: str | None) -> Found:
        """The programme a 计划类别 cell names."""
        k = key(text)
        if not k:
            return Found(None)
        exact = [p for p in self.all if k in self.keys[p.id]]
        if exact:
            return Found(exact[0])
        return self._best([p for p in self.all if _nests(k, self.keys[p.id])], k)

    def in_title(self, titles: list[str]) -> Found:
        """The programme a list's title (and subtitle) names."""
        k = key(" ".join(titles))
        if not k:
            return Found(None)
        return self._best([p for p in self.all if any(n and n in k for n in self.keys[p.id])], k)

    def _best(self, fits: list[Programme], k: str) -> Found:
        if not fits:
            return Found(None)
        length = max(len(self.keys[p.id][0]) for p in fits)
        longest = [p for p in fits if len(self.keys[p.id][0]) == length]
        active = [p for p in longest if p.active] or longest
        if len(active) == 1:
            return Found(active[0])
        return Found(None, tuple(p.name for p in active))


def _nests(k: str, names: tuple[str, str]) -> bool:
    return any(n and len(min(n, k, key=len)) >= 4 and (n in k or k in n) for n in names)


_NOT_LISTED = "不在科技计划列表中：请管理员先在科技计划中添加它（系统不会自动新建计划），"
_CHOOSE = "请在上传时选择科技计划。"


@dataclass
class RowProgramme:
    programme: Programme | None
    problem: str | None = None  # why there is none
    kept: bool = False  # the 计划类别 named no programme: the title's is used, the cell kept


@dataclass
class Settings:
    """What a list is, as the officer chose or its title and columns say: 立项 or 验收, its
    programme (None: each row's 计划类别), its date, and how each was settled."""

    stage: ProjectStage
    programme: Programme | None
    on: date
    programmes: Programmes
    by_category: bool  # the list has a 计划类别 column
    chosen: frozenset[str]  # which of stage / programme / on the officer chose
    title_problem: str | None  # why the title names no programme, for the rows that need one

    def said(self) -> str:
        """The preview's line about the list."""
        how = "按您的选择" if "stage" in self.chosen else "按标题和表头判断"
        what = "立项日期" if self.stage == ProjectStage.APPROVED else "验收日期"
        today = "" if "on" in self.chosen else "（今天，可在预览页修改）"
        return (
            f"这是{self.stage.label}名单（{how}）；科技计划：{self.programme_said()}；"
            f"{what}：{self.on.isoformat()}{today}。"
        )

    def programme_said(self) -> str:
        if self.programme is not None:
            how = "您选择的" if "programme" in self.chosen else "按标题"
            return f"{how}“{self.programme.name}”"
        return "按每行的计划类别" if self.by_category else "未确定"

    def of_row(self, category: str | None) -> RowProgramme:
        """A row's programme: the officer's choice, else its 计划类别's, else the title's."""
        if "programme" in self.chosen or not category:
            if self.programme is not None:
                return RowProgramme(self.programme)
            return RowProgramme(
                None, self.title_problem or f"无法判断这一行属于哪个科技计划：{_CHOOSE}"
            )
        found = self.programmes.named(category)
        if found.programme is not None:
            return RowProgramme(found.programme)
        if self.programme is not None:
            return RowProgramme(self.programme, kept=self.programme.name not in found.candidates)
        if found.candidates:
            return RowProgramme(
                None,
                f"计划类别“{category}”可能指这几个科技计划：{'、'.join(found.candidates)}，{_CHOOSE}",
            )
        return RowProgramme(None, f"科技计划“{category}”{_NOT_LISTED}或{_CHOOSE}")


def settle(
    titles: list[str],
    columns: set[str],
    stage: str | None,
    programme_id: int | None,
    on: date | None,
    today: date,
) -> Settings:
    """The list's settings; ImportFileError when what the list is cannot be told (the officer
    then chooses it on the upload page)."""
    if on is not None and on > today:
        raise ImportFileError(f"名单日期（{on.isoformat()}）不能晚于今天。")
    chosen = frozenset(
        name for name, value in (("stage", stage), ("programme", programme_id), ("on", on)) if value
    )
    title = " ".join(titles)
    if stage:
        if stage not in (ProjectStage.APPROVED.value, ProjectStage.ACCEPTED.value):
            raise ImportFileError("名单类型只能是立项名单或验收名单。")
        found_stage = ProjectStage(stage)
    elif (found_stage := stage_of(titles, "result" in columns)) is None:
        said = f"标题“{title}”" if titles else "文件没有标题"
        raise ImportFileError(
            f"无法判断这是立项名单还是验收名单（{said}，也没有“验收结论”列）：请在上传时选择名单类型。"
        )
    programmes = Programmes()
    programme, problem = None, None
    if programme_id:
        if (programme := programmes.get(programme_id)) is None:
            raise ImportFileError("所选的科技计划不存在，请重新选择。")
    elif titles:
        found = programmes.in_title(titles)
        programme = found.programme
        if found.candidates:
            problem = f"标题“{title}”可能指这几个科技计划：{'、'.join(found.candidates)}，{_CHOOSE}"
        elif programme is None:
            named = programme_in_title(titles[0])
            problem = f"标题“{title}”中的科技计划“{named}”{_NOT_LISTED}或{_CHOOSE}"
    by_category = "category" in columns
    if programme is None and not by_category and found_stage == ProjectStage.APPROVED:
        raise ImportFileError(
            problem
            or "无法判断这份立项名单属于哪个科技计划（没有标题，也没有“计划类别”列）：" + _CHOOSE
        )
    return Settings(found_stage, programme, on or today, programmes, by_category, chosen, problem)


# ---- a row's place -----------------------------------------------------------------------------


@functools.cache
def _places() -> tuple[tuple[str, ...], tuple[str, ...]]:
    county: list[str] = []
    city: list[str] = []
    for line in read_word_list(DICTIONARY / "county.txt"):
        label, _, names = half_width(line).partition(":")
        target = county if label.strip() == "县" else city if label.strip() == "市" else None
        if target is not None:
            target += [key(n) for n in re.split(r"[、,，]", names) if key(n)]
    return tuple(county), tuple(city)


class Places:
    """Whether a row's 县（市、区） / 设区市 is this county: its own name or one of its towns is
    ours; the city's name alone says nothing (a city-level column); anything else is not."""

    def __init__(self) -> None:
        self.county, self.city = _places()
        self.towns = {key(name) for name in db.session.scalars(sa.select(Town.name)) if name}

    def elsewhere(self, county: str | None, city: str | None) -> str | None:
        """The place as written when the row is another county's, else None."""
        for cell, level in ((county, "county"), (city, "city")):
            k = key(cell)
            if not k:
                continue
            if any(n in k for n in self.county) or k in self.towns:
                return None
            if k in self.city or (level == "city" and any(n in k for n in self.city)):
                continue
            return cell
        return None


# ---- a row's cells ----------------------------------------------------------------------------


def period(text: str) -> tuple[date, date]:
    """起止年限: 2026.01-2027.12, 2026-2027, 2026年1月至2027年12月, 2026.1.1—2027.12.31 → the
    first day of the start and the last day of the end."""
    found = _DATE.findall(half_width(text))
    if len(found) != 2:
        raise BadValue(
            f"起止年限“{text}”看不懂（应写作 2026.01-2027.12 或 2026-2027），已放入备注。",
            extra=text,
        )
    try:
        (y1, m1, d1), (y2, m2, d2) = found
        starts = date(int(y1), int(m1 or 1), int(d1 or 1))
        if d2:
            ends = date(int(y2), int(m2), int(d2))
        else:
            month = int(m2 or 12)
            nxt = date(int(y2) + (month == 12), month % 12 + 1, 1)
            ends = date.fromordinal(nxt.toordinal() - 1)
    except ValueError:
        raise BadValue(f"起止年限“{text}”中的日期不存在，已放入备注。", extra=text) from None
    if ends < starts:
        raise BadValue(f"起止年限“{text}”的结束早于开始，已放入备注。", extra=text)
    return starts, ends


def passed(text: str) -> bool:
    """验收结论: 通过 / 优秀 / 结题 … or 不通过 / 暂缓 / 延期 …; BadValue when it says neither."""
    value = normalise(text)
    if _FAILED.search(value):
        return False
    if _PASSED.search(value):
        return True
    raise BadValue(f"验收结论“{text}”看不出是否通过（请写“通过”或“不通过”）。")


@dataclass
class Listed:
    """A row of a list as read: its firm, the project's title and number, the programme it
    belongs to and what else the list says of it (money, period)."""

    firm: Enterprise
    title: str
    number: str | None
    programme: Programme | None
    facts: dict[str, Any]


def number_key(text: str | None) -> str:
    """A project number as compared: half-width, without spaces, upper case."""
    return "".join(half_width(text or "").split()).upper()


def closest(projects: list[Project], title: str, least: float) -> Project | None:
    """The project whose title is closest to the list's, if at least `least` alike."""
    scored = [(title_score(p.title, title), p) for p in projects]
    scored = [(score, p) for score, p in scored if score >= least]
    return max(scored, key=lambda sp: sp[0])[1] if scored else None


def title_score(a: str, b: str) -> float:
    """How alike two project titles are (0–100): the same once normalised, one holding the
    other (a longer title with 及产业化), or close spelling."""
    ka, kb = key(a), key(b)
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 100.0
    if min(len(ka), len(kb)) >= 6 and (ka in kb or kb in ka):
        return 90.0
    return float(fuzz.ratio(ka, kb))
