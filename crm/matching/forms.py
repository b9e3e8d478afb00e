"""The decision on a suggestion."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from crm.forms import choices
from crm.matching.suggestions import REJECT_REASONS


class DecideForm(FlaskForm):
    status = HiddenField(validators=[DataRequired(), AnyOf(["contacted", "accepted", "rejected"])])
    version = HiddenField(validators=[DataRequired()])
    reason = SelectField(
        "否决原因",
        choices=choices([("", "请选择原因")] + list(REJECT_REASONS.items())),
        validators=[Optional()],
    )
    note = StringField("补充说明", validators=[Optional(), Length(max=500)])
