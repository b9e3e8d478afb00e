"""The upload form and the confirm-import form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.validators import ValidationError as FieldError

from crm.clock import local_today
from crm.forms import choices, id_or_none
from crm.imports.headers import IGNORE
from crm.imports.outcome import Options
from crm.projects import deadlines
from crm.projects.models import ProjectStage
from crm.queries import MAX_ID
from crm.sheets import SHEETS


def _not_future(_form: FlaskForm, field: DateField) -> None:
    if field.data is not None and field.data > local_today():
        raise FieldError("名单日期不能晚于今天。")


class ListFields(FlaskForm):
    """A published project list's settings (立项 / 验收名单): blank is what its title says."""

    list_stage = SelectField(
        "名单类型",
        choices=choices(
            [
                ("", "按标题判断"),
                (ProjectStage.APPROVED.value, "立项名单"),
                (ProjectStage.ACCEPTED.value, "验收名单"),
            ]
        ),
        validators=[Optional()],
    )
    programme_id = SelectField(
        "科技计划",
        coerce=id_or_none,
        validate_choice=False,
        description="留空：按标题和“计划类别”列判断。计划由管理员维护。",
    )
    listed_on = DateField(
        "名单日期",
        validators=[Optional(), _not_future],
        description="立项名单的立项日期或验收名单的验收日期；留空即今天。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.programme_id.choices = choices(
            [("", "按标题和计划类别判断")]
            + [(str(p.id), p.name) for p in deadlines.programmes(active_only=False)]
        )


class UploadForm(ListFields):
    file = FileField("表格文件（.xlsx 或 .csv）", validators=[FileRequired("请选择要导入的文件。")])
    kind = SelectField(
        "数据类型",
        choices=choices([("", "按表头自动识别")] + [(k, s.label) for k, s in SHEETS.items()]),
        validators=[Optional()],
    )

    def options(self) -> Options:
        return Options(kind=self.kind.data or None, **list_options(self))


def list_options(form: ListFields) -> dict[str, Any]:
    """The list settings as `Options` takes them."""
    return {
        "list_stage": form.list_stage.data or None,
        "programme_id": form.programme_id.data,
        "listed_on": form.listed_on.data,
    }


MAX_COLUMNS = 200  # columns a mapping may name; a sheet wider than this is not an office list
LIST_KINDS = ("project_lists",)  # the kinds the list settings apply to


class CommitForm(ListFields):
    """The preview's settings and its two buttons: 重新预览 with these settings, or 确认导入.

    The column mapping and the answers about firms are per column / per name, so they are read
    from `map-N` / `map-header-N` and `ask-N` / `ask-name-N` pairs (`mapping_from` and
    `decisions_from`), each checked against what the page offered."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])
    kind = SelectField("数据类型", choices=choices([(k, s.label) for k, s in SHEETS.items()]))
    sheet = SelectField("工作表", choices=[], validate_choice=False, validators=[Optional()])
    year = IntegerField(
        "年度数字的年份",
        validators=[Optional(), NumberRange(1990, 2100, "年份应在 1990–2100 之间。")],
        description="表头没有写年份的营业收入、研发投入等，以及规上名单，按这一年记。",
    )
    above_scale = SelectField(
        "规上企业",
        description="标题含“规上”“规模以上”时，按标题判断会把本表企业标为规上。",
        choices=choices(
            [
                ("", "按标题判断（标题含“规上”“规模以上”时标记）"),
                ("1", "本表企业都标为规上"),
                ("0", "不标记"),
            ]
        ),
        validators=[Optional()],
    )
    mapping = HiddenField()  # the officer's earlier choices, as JSON
    decided = HiddenField()  # earlier answers about firms, as JSON
    previewed = HiddenField()  # the settings the shown preview used

    def options(self, form_data: Mapping[str, str]) -> Options:
        kind = self.kind.data
        sheet = self.sheet.data or None  # sent only when the file has several sheets
        above = {"1": True, "0": False}.get(self.above_scale.data or "")
        # another kind or sheet than the page showed: its columns are another set
        same_columns = kind == form_data.get("kind-shown") and (sheet or "") == form_data.get(
            "sheet-shown", ""
        )
        return Options(
            kind=kind,
            sheet=sheet,
            mapping=mapping_from(kind, self.mapping.data, form_data) if same_columns else {},
            year=self.year.data,
            above_scale=above,
            decisions=decisions_from(self.decided.data, form_data),
            **(list_options(self) if kind in LIST_KINDS else {}),
        )


def mapping_from(kind: str, earlier: str | None, form_data: Mapping[str, str]) -> dict[str, str]:
    """The columns' chosen fields: earlier choices (JSON) updated by the selects, keeping only
    fields of this kind (or "" for 不导入)."""
    allowed = {c.key for c in SHEETS[kind].columns} | {IGNORE} if kind in SHEETS else {IGNORE}
    mapping: dict[str, str] = {}
    try:
        loaded = json.loads(earlier or "{}")
    except ValueError:
        loaded = {}
    if isinstance(loaded, dict):
        mapping.update(
            (str(h)[:100], v) for h, v in list(loaded.items())[:MAX_COLUMNS] if v in allowed
        )
    for i in _indices(form_data, "map-header-"):
        header = form_data.get(f"map-header-{i}") or ""
        value = form_data.get(f"map-{i}", "")
        auto = form_data.get(f"map-auto-{i}", "")
        if value in allowed and (value != auto or header.strip() in mapping):
            mapping[header.strip()[:100]] = value
    return mapping


def _indices(form_data: Mapping[str, str], prefix: str) -> list[int]:
    """The N of the `prefix-N` fields sent (the page skips columns without a header, so the
    numbers may have gaps), at most MAX_COLUMNS of them."""
    found = sorted(
        int(k[len(prefix) :])
        for k in form_data
        if k.startswith(prefix) and k[len(prefix) :].isdigit()
    )
    return found[:MAX_COLUMNS]


def decisions_from(earlier: str | None, form_data: Mapping[str, str]) -> dict[str, int]:
    """Answers to “which firm is this?”: a firm's id, or 0 for a new firm; unanswered left out.
    Earlier answers (JSON) stay: their questions are not asked again."""
    decisions: dict[str, int] = {}
    try:
        loaded = json.loads(earlier or "{}")
    except ValueError:
        loaded = {}
    if isinstance(loaded, dict):
        for name, value in list(loaded.items())[:MAX_COLUMNS]:
            if isinstance(value, int) and 0 <= value <= MAX_ID:
                decisions[str(name)[:120]] = value
    for i in _indices(form_data, "ask-name-"):
        name = form_data.get(f"ask-name-{i}") or ""
        value = form_data.get(f"ask-{i}", "")
        if value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID:
            decisions[name.strip()[:120]] = int(value)
    return decisions


NOTE = "note"  # a label alias's target: no town or industry, the label kept in the notes


class LabelAliasForm(FlaskForm):
    """One label as officers write it, and the town or industry it means (or none)."""

    label = StringField(
        "表中写的名称",
        validators=[DataRequired("请填写表中写的名称。"), Length(max=60, message="最多 60 字。")],
        description="如“经济开发区”“纺织”“厨具行业”。",
    )
    target = SelectField("对应到", choices=[], validators=[DataRequired("请选择对应到哪一项。")])


class DeleteForm(FlaskForm):
    """A delete button's form (its CSRF token)."""
