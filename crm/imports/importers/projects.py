"""Published project lists (立项名单 / 验收名单 of the province or the city): each row's firm is
linked as every import links firms (USCC, name, alias, a near name the officer confirms) and
never created; its project is found by number, else by the firm, programme and title, and moved
to 立项 / 验收 as the list proves (`projects.stages.record_published`: forward only). A 立项 row
whose project nobody registered is registered directly at 立项. Rows of other counties are
skipped and counted; the same list imported again changes nothing."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa

from crm import policy
from crm.clock import local_today
from crm.enterprises.models import Enterprise
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports import published, values
from crm.imports.headers import header_year
from crm.imports.importers.base import FirmLinks, Importer
from crm.imports.importers.rows import Row, RowError, with_extras
from crm.imports.published import Listed, closest, number_key
from crm.projects import services as project_services
from crm.projects import stages
from crm.projects.models import Programme, Project, ProjectStage
from crm.sheets import SHEETS
from crm.text.normal import half_width, normalise

S = ProjectStage
SAME_TITLE = 80.0  # a registered project's title this close to the list's is the same project
#: a service's field → the list's column, for its messages
FIELDS = {"title": "title", "programme_id": "category", "number": "number", "year": "period"}
FIELDS |= {"grant_amount": "grant", "self_funding": "self_funding", "ends_on": "period"}
#: a project's field → the list's column that feeds it, and its name when the list has none
COLUMNS = {"grant_amount": "grant", "starts_on": "period", "ends_on": "period"}
LABELS = {
    "grant_amount": "财政资助",
    "self_funding": "自筹经费",
    "notes": "备注",
    "number": "项目编号",
}
LABELS |= {"starts_on": "起止年限", "ends_on": "起止年限"}


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
        self.title_year = header_year(title)  # the list's year: 2026年度…立项名单
        self.source = f"“{ctx.titles[0]}”" if ctx.titles else f"“{ctx.filename}”"
        self.firms = FirmLinks(ctx)
        self.places = published.Places()
        self.numbers: dict[str, tuple[int, int, bool]] = {}  # number → project, firm, deleted
        for pid, firm_id, number, deleted in db.session.execute(
            sa.select(Project.id, Project.enterprise_id, Project.number, Project.deleted_at).where(
                Project.number.is_not(None)
            )
        ):
            self.numbers[number_key(number)] = (pid, firm_id, deleted is not None)
        self.elsewhere: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()  # 计划类别 that are no programme: kept as notes
        self.created: set[int] = set()

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
        outcome = self._approve(row, listed) if approves else self._accept(row, listed)
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

    # ---- finding and moving the project -------------------------------------------------------

    def _by_number(self, number: str | None, firm: Enterprise) -> Project | None:
        hit = self.numbers.get(number_key(number)) if number else None
        if hit is None:
            return None
        pid, firm_id, deleted = hit
        project = db.session.get(Project, pid)
        if project is None:
            return None
        if deleted:
            raise RowError(
                "number",
                f"项目编号“{number}”属于回收站中的项目“{project.title}”：请先恢复它再导入。",
            )
        if firm_id != firm.id:
            raise RowError(
                "number",
                f"项目编号“{number}”已是“{project.enterprise.name}”的项目“{project.title}”的编号，"
                f"与本行的承担单位“{firm.name}”不符，请核对。",
            )
        return project

    def _projects(self, firm: Enterprise, programme: Programme | None) -> list[Project]:
        stmt = sa.select(Project).where(
            Project.enterprise_id == firm.id, Project.deleted_at.is_(None)
        )
        if programme is not None:
            stmt = stmt.where(Project.programme_id == programme.id)
        return list(db.session.scalars(stmt.order_by(Project.id)))

    def _approve(self, row: Row, listed: Listed) -> str:
        firm, title, number, facts = listed.firm, listed.title, listed.number, listed.facts
        number = cast(str, number)  # a 立项 row has one (`handle` said so)
        project = self._by_number(number, firm)
        if project is not None:
            return self._record(row, project, S.APPROVED, facts)
        theirs = [p for p in self._projects(firm, listed.programme) if p.id not in self.created]
        waiting = closest(
            [p for p in theirs if p.stage in stages.BEFORE_APPROVAL], title, SAME_TITLE
        )
        if waiting is not None:
            return self._record(row, waiting, S.APPROVED, facts, number=number)
        approved = closest([p for p in theirs if p.stage in stages.APPROVED], title, 100.0)
        if approved is not None:
            raise RowError(
                "number",
                f"“{firm.name}”的项目“{approved.title}”已立项，编号为“{approved.number}”，"
                f"与名单上的“{number}”不同，请核对。",
            )
        return self._create(row, listed)

    def _accept(self, row: Row, listed: Listed) -> str:
        firm, title, number = listed.firm, listed.title, listed.number
        project = self._by_number(number, firm)
        if project is None:
            project = closest(self._projects(firm, listed.programme), title, SAME_TITLE)
            if project is not None and number and project.number:
                raise RowError(
                    "number",
                    f"“{firm.name}”的项目“{project.title}”编号为“{project.number}”，"
                    f"与名单上的“{number}”不同，请核对。",
                )
        if project is None:
            what = f"编号“{number}”、" if number else ""
            raise RowError(
                "number" if number else "title",
                f"找不到这个项目（{what}“{firm.name}”的“{title}”）：验收名单只记录已登记的项目，"
                "请先导入它的立项名单或在项目页登记立项。",
            )
        return self._record(row, project, S.ACCEPTED, listed.facts)

    def _record(
        self,
        row: Row,
        project: Project,
        to: ProjectStage,
        facts: dict[str, Any],
        number: str | None = None,
    ) -> str:
        """Move a registered project to where the list says (if it is not there yet) and take
        the list's figures; unchanged when it already says all that."""
        if project.stage in (S.REJECTED, S.TERMINATED):
            row.warn(
                None,
                f"项目“{project.title}”记为“{project.stage.label}”，名单却列为{to.label}："
                "未改动，请核对。",
            )
            row.detail = f"记为“{project.stage.label}”，未改动"
            return "unchanged"
        moves = stages.FLOW.index(project.stage) < stages.FLOW.index(to)
        changed = self.changes(project, facts | {"number": number})  # 申报's number replaced
        notes = with_extras(project.notes, row.extras)
        if notes != project.notes:
            changed["notes"] = notes
        if not moves and not changed:
            row.detail = f"已是“{project.stage.label}”"
            return "unchanged"
        if not policy.can_edit_project(self.ctx.user, project):
            raise RowError(
                None, f"您无权修改“{project.enterprise.name}”的项目（不是您或本科室负责的企业）。"
            )
        before = project.stage
        if moves:
            if number is not None:
                project.number = number
            try:
                stages.record_published(project, to, self.on, self.ctx.user.id, f"据{self.source}")
            except ValidationError as exc:
                raise RowError(None, exc.message) from None
        for k, v in changed.items():
            setattr(project, k, v)
        db.session.flush()
        fields = [self.ctx.headers.get(COLUMNS.get(k, k)) or LABELS.get(k, k) for k in changed]
        parts = [f"{before.label} → {to.label}"] if moves else []
        row.detail = "；".join(
            [*parts, *(["改动：" + "、".join(dict.fromkeys(fields))] * bool(fields))]
        )
        return "updated"

    def _create(self, row: Row, listed: Listed) -> str:
        """A project nobody registered, registered directly at 立项 with the list in its history."""
        user, firm, programme, facts = self.ctx.user, listed.firm, listed.programme, listed.facts
        number, programme = cast(str, listed.number), cast(Programme, programme)  # a 立项 row's
        if not policy.can_edit_enterprise(user, firm):
            raise RowError(None, f"您只能为本人或本科室负责的企业登记项目（“{firm.name}”）。")
        starts = facts["starts_on"]
        data = project_services.ProjectData(
            title=listed.title,
            programme_id=programme.id,
            year=self.title_year or (starts.year if starts else self.on.year),
            number=number,
            **facts,
        )
        if found := project_services.problems(data):
            raise RowError.of([(FIELDS.get(e.field or "", None), e.message) for e in found])
        project = Project(
            enterprise_id=firm.id,
            enterprise=firm,
            programme_id=programme.id,
            programme=programme,
            title=listed.title,
            level=programme.level,
            year=data.year,
            number=number,
            stage=S.APPROVED,
            approved_on=self.on,
            officer_id=firm.owner_id or user.id,
            notes=row.notes_with_extras(None),
            **{k: v for k, v in facts.items() if v is not None},
        )
        stages.start(project, user.id, self.on, f"据{self.source}登记立项")
        db.session.add(project)
        db.session.flush()
        self.created.add(project.id)
        self.numbers[number_key(number)] = (project.id, firm.id, False)
        row.detail = "登记为立项"
        return "created"

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
