"""A published list's row linked to its project and written: the project is found by number,
else by the firm, programme and a close title, and moved to 立项 / 验收 as the list proves
(`projects.stages.record_published`: forward only), taking the list's figures; a 立项 row
whose project nobody registered is registered directly at 立项. The row itself is read by
`importers.projects`."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import sqlalchemy as sa

from crm import policy
from crm.enterprises.models import Enterprise
from crm.errors import ValidationError
from crm.extensions import db
from crm.imports.importers.base import Importer
from crm.imports.importers.rows import Context, Row, RowError, with_extras
from crm.imports.published import Listed, closest, number_key
from crm.projects import services as project_services
from crm.projects import stages
from crm.projects.models import Programme, Project, ProjectStage

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


class ProjectLinks:
    """The projects a list's rows name, for one import: the known numbers read once (the ones
    this import registers added), and the projects it registered kept apart so that a later
    row with a close title is not taken for one of them."""

    def __init__(self, ctx: Context, on: date, source: str, title_year: int | None) -> None:
        self.ctx = ctx
        self.on = on  # the day the list records its steps on
        self.source = source  # the list's title, for the history's notes
        self.title_year = title_year  # the list's year: 2026年度…立项名单
        self.numbers: dict[str, tuple[int, int, bool]] = {}  # number → project, firm, deleted
        for pid, firm_id, number, deleted in db.session.execute(
            sa.select(Project.id, Project.enterprise_id, Project.number, Project.deleted_at).where(
                Project.number.is_not(None)
            )
        ):
            self.numbers[number_key(number)] = (pid, firm_id, deleted is not None)
        self.created: set[int] = set()

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

    def approve(self, row: Row, listed: Listed) -> str:
        """A 立项 row: its project moved to 立项, or registered there when nobody did."""
        firm, title, number, facts = listed.firm, listed.title, listed.number, listed.facts
        number = cast(str, number)  # a 立项 row has one (the importer's `handle` said so)
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

    def accept(self, row: Row, listed: Listed) -> str:
        """A 验收 row: its registered project moved to 验收."""
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
        changed = Importer.changes(project, facts | {"number": number})  # 申报's number replaced
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
