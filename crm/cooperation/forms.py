"""Moving a cooperation along the pipeline."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.cooperation.models import Stage
from crm.forms import choices


class MoveForm(FlaskForm):
    to = SelectField("推进到", choices=choices((s.value, s.label) for s in Stage))
    version = HiddenField(validators=[DataRequired()])
    on = DateField("变动日期", validators=[Optional()], description="不填即今天")
    signed_on = DateField("签约日期", validators=[Optional()])
    parties = StringField("签约各方", validators=[Optional(), Length(max=500)])
    contract_no = StringField("技术合同登记号", validators=[Optional(), Length(max=64)])
    reason = StringField("终止原因", validators=[Optional(), Length(max=500)])
    note = TextAreaField("备注", validators=[Optional(), Length(max=1000)])
    next = HiddenField()
