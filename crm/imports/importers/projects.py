"""Published project lists (立项名单 / 验收名单 of the province or the city), row by row: each
row's firm is linked as every import links firms (USCC, name, alias, a near name the officer
confirms) and never created; what the row says of its project (number, title, programme, money,
period, 验收 result) is read here, and the project is found and moved by
`importers.project_links`. Rows of other counties are skipped and counted; the same list
imported again changes nothing."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, cast

from crm.clock import local_today
from crm.imports import published, values
from crm.imports.headers import header_year
from crm.imports.importers.base import FirmLinks, Importer
from crm.imports.importers.project_links import ProjectLinks
from crm.imports.importers.rows import Row
from crm.imports.published import Listed, number_key
from crm.projects.models import ProjectStage
from crm.sheets import SHEETS
from crm.text.normal import half_width, normalise

S = ProjectStage


class ProjectListImporter(Importer):
    sheet = SHEETS["project_lists"]

    def prepare(self) -> None:
        ctx = self.ctx
        self.settings = published.settle(
            ctx.titles,
            set(ctx.headers),
            ctx.list_stage,
            ctx.programme_id,
            ctx.listed_on,
            local_today(),
        )
        self.stage, self.on = self.settings.stage, self.settings.on
        ctx.note(None, None, self.settings.said(), "note")
        title = " ".join(ctx.titles)
        if published.provisional(ctx.titles) and self.stage == S.APPROVED:
            ctx.note(
                None,
                None,
                f"标题“{title}”像是公示或拟立项名单：正式立项以下达文件为准，请确认后再导入。",
                "warning",
            )
        source = f"“{ctx.titles[0]}”" if ctx.titles else f"“{ctx.filename}”"
        self.firms = FirmLinks(ctx)
        self.places = published.Places()
        self.projects = ProjectLinks(ctx, self.on, source, header_year(title))
        self.elsewhere: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()  # 计划类别 that are no programme: kept as notes

    # ---- a row ------------------------------------------------------------------------------

    def handle(self, row: Row) -> str:
        written = (row.get("enterprise") or "", row.get("title") or "")
        place = self.places.elsewhere(row.get("county"), row.get("city"))
        if place is not None:  # a province list covers every county
            self.elsewhere[place] += 1
            row.label, row.detail = "：".join(written), f"其他地区（{place}）"
            return "skipped"
        name = row.organisation("enterprise", 120, required="承担单位不能为空。")
        title = row.text("title", 200, required="项目名称不能为空。")
        number = row.text("number", 64)
        number = "".join(half_width(number).split()) if number else None
        facts = self._facts(row)
        uscc = row.uscc()
        category = row.get("category")
        found = self.settings.of_row(category)
        if found.kept and category:  # a sub-category of the title's programme: kept as a note
            self.categories[category] += 1
            row.extras.append(f"{self.ctx.headers.get('category', '计划类别')}：{category}")
        programme, problem = found.programme, found.problem
        result = self._result(row)
        if self.stage == S.APPROVED:
            if number is None:
                row.fail("number", "立项名单的这一行没有项目编号。")
            if problem:
                row.fail("category", problem)
        row.check()
        name, title = cast(str, name), cast(str, title)  # row.check() said they are there
        row.label = f"{name}：{title}"
        firm = self.firms.find(row, name, uscc)
        row.label = f"{firm.name}：{title}"
        said = [] if normalise(firm.name) == normalise(name) else [f"表中写作“{name}”"]
        if not self.first_time(number_key(number) or (firm.id, published.key(title)), row):
            return "skipped"
        if result is False:
            row.warn("result", f"验收结论为“{row.get('result')}”：未记为验收。")
            row.detail = "；".join([*said, "验收未通过，未记录"])
            return "skipped"
        listed = Listed(firm, title, number, programme, facts)
        approves = self.stage == S.APPROVED
        outcome = (
            self.projects.approve(row, listed) if approves else self.projects.accept(row, listed)
        )
        row.detail = "；".join([*said, *([row.detail] if row.detail else [])])
        return outcome

    def _facts(self, row: Row) -> dict[str, Any]:
        """What the list says of the project besides its stage: money and period; the leader and
        the notes go to the project's notes."""
        facts: dict[str, Any] = {
            "grant_amount": self._money(row, "grant"),
            "self_funding": self._money(row, "self_funding"),
        }
        period = row.tolerant("period", published.period)
        facts["starts_on"], facts["ends_on"] = period or (None, None)
        if leader := row.name("leader", 64):
            row.extras.append(f"{self.ctx.headers.get('leader', '项目负责人')}：{leader}")
        if notes := row.text("notes", 1000):
            row.extras.append(notes)
        return facts

    def _money(self, row: Row, key: str) -> Decimal | None:
        """万元 (or the header's unit) as yuan; anything but a figure is the row's error: a
        grant is what the list is about, not a remark."""
        cell = row.get(key)
        if cell is None:
            return None
        try:
            amount = values.number(cell)
            unit = self.ctx.units.get(key, Decimal(1))
            return values.wan_to_yuan(None if amount is None else amount * unit)
        except values.BadValue:
            header = self.ctx.headers.get(key, key)
            row.fail(key, f"{header}“{cell}”不是以万元计的数字。")
            return None

    def _result(self, row: Row) -> bool | None:
        cell = row.get("result")
        if cell is None or self.stage != S.ACCEPTED:
            return None
        try:
            return published.passed(cell)
        except values.BadValue as exc:
            row.fail("result", exc.message)
            return None

    def finish(self) -> None:
        ctx = self.ctx
        if self.elsewhere:
            places = "、".join(f"{p} {n} 行" for p, n in self.elsewhere.most_common(8))
            more = "等" if len(self.elsewhere) > 8 else ""
            total = sum(self.elsewhere.values())
            ctx.counts["elsewhere"] = total
            ctx.note(
                None, "county", f"其他县（市、区）的 {total} 行已跳过（{places}{more}）。", "note"
            )
        if self.categories:
            kinds = "、".join(f"“{c}”" for c in self.categories)
            ctx.note(
                None,
                "category",
                f"计划类别{kinds}不是科技计划列表中的计划：按{self.settings.programme_said()}记，"
                "类别写入项目备注。",
                "note",
            )
        counts = ctx.counts
        if counts["unchanged"] and not counts["created"] and not counts["updated"]:
            ctx.note(
                None,
                None,
                f"没有新增或更新：名单上找到的 {counts['unchanged']} 个项目都已是名单所说的样子"
                "（同一名单再次导入不会重复记录）。",
                "note",
            )
