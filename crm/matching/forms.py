"""The decision on a suggestion."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from crm.audit.labels import register_forms
from crm.db import max_length
from crm.forms import VersionField, choices
from crm.matching.decisions import REJECT_REASONS
from crm.matching.models import Suggestion
from crm.submissions import OnceForm


class DecideForm(FlaskForm):
    status = HiddenField(validators=[DataRequired(), AnyOf(["contacted", "accepted", "rejected"])])
    version = VersionField(validators=[DataRequired()])
    reason = SelectField(
        "否决原因",
        choices=choices([("", "请选择原因")] + list(REJECT_REASONS.items())),
        validators=[Optional()],
    )
    note = StringField(
        "补充说明", validators=[Optional(), Length(max=max_length(Suggestion.reject_note))]
    )


class ThesaurusForm(OnceForm):
    """One thesaurus line: owners' words → experts' terms with weights."""

    spoken = StringField(
        "企业的说法",
        validators=[DataRequired("请填写企业的说法。"), Length(max=200)],
        description="企业老板、车间师傅怎么说，多个用逗号分开，例如：马达, 电动机",
    )
    experts = StringField(
        "对应的专业术语（带权重）",
        validators=[DataRequired("请填写对应的专业术语。"), Length(max=400)],
        description="专家用的词，每个后面跟 0 到 1 之间的权重，例如：电机 0.8, 电动机 0.6",
    )
    note = StringField("备注", validators=[Optional(), Length(max=200)])
    version = VersionField()


# what the change history calls these records' fields (crm.audit.labels)
register_forms("suggestion", DecideForm, renamed={"reject_reason": "reason", "reject_note": "note"})
register_forms("thesaurus_entry", ThesaurusForm)
