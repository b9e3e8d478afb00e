"""Registering an event."""

from __future__ import annotations

from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.audit.labels import register_forms
from crm.db import max_length
from crm.events.models import Event, EventKind
from crm.forms import choices
from crm.submissions import OnceForm


class EventForm(OnceForm):
    kind = SelectField("类型", choices=choices((k.value, k.label) for k in EventKind))
    title = StringField("活动名称", validators=[DataRequired("请填写活动名称。"), Length(max=200)])
    starts_on = DateField("开始日期", validators=[DataRequired("请填写开始日期。")])
    ends_on = DateField("结束日期", validators=[Optional()])
    place = StringField("地点", validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        "说明", validators=[Optional(), Length(max=max_length(Event.description))]
    )


# what the change history calls these records' fields (crm.audit.labels)
register_forms("event", EventForm)
