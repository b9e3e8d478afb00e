"""Need form."""

from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.audit.labels import register_forms
from crm.db import max_length
from crm.forms import MoneyField, VersionField, choices
from crm.money import YUAN_MOST
from crm.needs.models import Need, NeedStatus
from crm.submissions import OnceForm


class NeedForm(OnceForm):
    title = StringField("需求名称", validators=[DataRequired("请填写需求名称。"), Length(max=200)])
    description = TextAreaField(
        "需求描述", validators=[Optional(), Length(max=max_length(Need.description))]
    )
    budget = MoneyField(
        "预算（元）",
        most=YUAN_MOST,
        validators=[Optional(), NumberRange(min=0, message="预算不能为负数。")],
    )
    status = SelectField(
        "状态", choices=choices((s.value, s.label) for s in NeedStatus), default="open"
    )
    version = VersionField()
    submit = SubmitField("保存")


# what the change history calls these records' fields (crm.audit.labels)
register_forms("need", NeedForm)
