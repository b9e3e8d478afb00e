"""The visit form: quick to fill on a phone."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.audit.labels import register_forms
from crm.clock import local_today
from crm.db import max_length
from crm.forms import AtMost, Rule, VersionField, check, id_or_none
from crm.needs.models import Need
from crm.submissions import OnceForm
from crm.visits import services
from crm.visits.models import Visit

#: a visit has happened: not after today (the county's)
NOT_LATER = Rule(lambda day: services.check_visited_on(day, local_today()))


class NeedEntryForm(Form):
    title = StringField("需求名称", validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        "需求描述", validators=[Optional(), Length(max=max_length(Need.description))]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Each field's own check, then the rule across them (a description needs a title)."""
        valid = super().validate(extra_validators)
        entry = services.NeedEntry(self.title.data or "", self.description.data)
        check(self, lambda: services.check_need_entry(entry), default="title")
        return valid and not self.errors


class VisitForm(OnceForm):
    visited_on = DateField("走访日期", validators=[DataRequired("请选择走访日期。"), NOT_LATER])
    companions = SelectMultipleField(
        "同行人员（可选）", coerce=id_or_none, validate_choice=False, validators=[AtMost(20)]
    )
    notes = TextAreaField("走访记录", validators=[Optional(), Length(max=max_length(Visit.notes))])
    needs = FieldList(FormField(NeedEntryForm), min_entries=2, max_entries=10)
    next_step = StringField(
        "下一步（生成待办）", validators=[Optional(), Length(max=max_length(Visit.next_steps))]
    )
    next_due = DateField("待办截止日期", validators=[Optional()])
    submit = SubmitField("保存走访")


class TaskDoneForm(FlaskForm):
    """The 完成 / 重新打开 button (CSRF-protected)."""

    done = HiddenField(default="1")
    next = HiddenField()


class ReassignForm(FlaskForm):
    assignee_id = SelectField("改派给", coerce=id_or_none, validate_choice=False)
    next = HiddenField()
    submit = SubmitField("改派")


class VisitEditForm(FlaskForm):
    visited_on = DateField("走访日期", validators=[DataRequired("请选择走访日期。"), NOT_LATER])
    notes = TextAreaField("走访记录", validators=[Optional(), Length(max=max_length(Visit.notes))])
    version = VersionField()
    submit = SubmitField("保存")


# what the change history calls these records' fields (crm.audit.labels)
register_forms("visit", VisitEditForm)
register_forms("need", NeedEntryForm, secondary=True)  # after the need form's own labels
