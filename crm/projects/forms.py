"""Registering a 科技项目, moving it along, and the programmes admins keep."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.audit.labels import register_forms
from crm.clock import local_today
from crm.db import max_length
from crm.forms import AtMost, MoneyField, VersionField, add_errors, choices, id_or_none
from crm.money import WAN_MOST, to_yuan
from crm.projects import services, stages
from crm.projects.models import Level, Programme, Project, ProjectStage, ProjectStageChange
from crm.records import data_from
from crm.submissions import OnceForm

LEVELS = [(level.value, level.label) for level in Level]


class ProjectForm(OnceForm):
    """Register or edit a project (its stage moves are `MoveForm`'s)."""

    title = StringField("项目名称", validators=[DataRequired("请填写项目名称。"), Length(max=200)])
    programme_id = SelectField(
        "科技计划", coerce=id_or_none, validate_choice=False, description="计划由管理员维护"
    )
    level = SelectField(
        "项目级别", choices=choices([("", "（按计划）"), *LEVELS]), validators=[Optional()]
    )
    year = IntegerField(
        "申报年度",
        validators=[Optional(), NumberRange(1990, 2100, "申报年度应在 1990–2100 之间。")],
    )
    number = StringField(
        "项目编号", validators=[Optional(), Length(max=64)], description="立项后填写"
    )
    grant_amount = MoneyField(
        "财政资助（万元）",
        most=WAN_MOST,
        validators=[Optional(), NumberRange(min=0, message="财政资助不能为负数。")],
    )
    self_funding = MoneyField(
        "企业自筹（万元）",
        most=WAN_MOST,
        validators=[Optional(), NumberRange(min=0, message="自筹经费不能为负数。")],
    )
    applied_on = DateField("申报日期", validators=[Optional()])
    starts_on = DateField("实施开始", validators=[Optional()])
    ends_on = DateField("实施结束", validators=[Optional()])
    officer_id = SelectField("负责联络员", coerce=id_or_none, validate_choice=False)
    partner_institution_ids = SelectMultipleField(
        "合作院所", coerce=id_or_none, validate_choice=False, validators=[AtMost(20)]
    )
    partner_researchers = StringField(
        "合作专家",
        validators=[Optional(), Length(max=500)],
        description="专家库里的姓名，多位用“、”隔开",
    )
    partner_enterprises = StringField(
        "合作企业",
        validators=[Optional(), Length(max=1000)],
        description="企业全称，多家用“、”隔开",
    )
    notes = TextAreaField("备注", validators=[Optional(), Length(max=max_length(Project.notes))])
    cooperation_id = HiddenField()
    suggestion_id = HiddenField()
    version = VersionField()

    def __init__(
        self,
        *args: Any,
        project: Project | None = None,
        enterprise_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.enterprise_id = enterprise_id  # the lead firm, when registering

    def data_(self) -> services.ProjectData:
        """The service's input from the fields (amounts typed in 万元, stored in yuan)."""
        return data_from(
            services.ProjectData,
            self,
            grant_amount=to_yuan(self.grant_amount.data),
            self_funding=to_yuan(self.self_funding.data),
            level=Level(self.level.data) if self.level.data else None,
            officer_id=self.officer_id.data,
            partner_institution_ids=[i for i in self.partner_institution_ids.data or [] if i],
            cooperation_id=id_or_none(self.cooperation_id.data or None),
            suggestion_id=id_or_none(self.suggestion_id.data or None),
            enterprise_id=self.enterprise_id,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then every rule the service would refuse, at once."""
        valid = super().validate(extra_validators)
        try:
            data = self.data_()
        except (ValueError, TypeError):
            return False
        add_errors(self, services.problems(data, self.project), default="title")
        return valid and not self.errors


class MoveForm(FlaskForm):
    to = SelectField("推进到", choices=choices((s.value, s.label) for s in ProjectStage))
    version = VersionField(validators=[DataRequired()])
    on = DateField("日期", validators=[Optional()], description="不填即今天")
    number = StringField("项目编号", validators=[Optional(), Length(max=64)])
    reason = StringField(
        "原因", validators=[Optional(), Length(max=max_length(Project.end_reason))]
    )
    note = TextAreaField(
        "备注", validators=[Optional(), Length(max=max_length(ProjectStageChange.note))]
    )
    next = HiddenField()

    def __init__(self, *args: Any, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def step(self) -> stages.Move | None:
        if self.to.data not in {s.value for s in ProjectStage}:
            return None
        return stages.Move(
            to=ProjectStage(self.to.data),
            version=int(self.version.data or 0),
            on=self.on.data,
            number=self.number.data,
            reason=self.reason.data,
            note=self.note.data,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        step = self.step()
        if self.project is not None and step is not None and step.version == self.project.version:
            add_errors(self, stages.problems(self.project, step, local_today()), default="to")
        return valid and not self.errors


class ProgrammeForm(FlaskForm):
    name = StringField("计划名称", validators=[DataRequired("请填写计划名称。"), Length(max=120)])
    level = SelectField("级别", choices=choices(LEVELS))
    department = StringField("主管部门", validators=[Optional(), Length(max=60)])
    deadline = DateField("本轮申报截止", validators=[Optional()])
    active = BooleanField("在用", default=True)
    notes = TextAreaField("说明", validators=[Optional(), Length(max=max_length(Programme.notes))])
    version = VersionField()


# what the change history calls these records' fields (crm.audit.labels)
register_forms(
    "project", ProjectForm, MoveForm, renamed={"stage_changed_on": "on", "end_reason": "reason"}
)
register_forms("programme", ProgrammeForm)
