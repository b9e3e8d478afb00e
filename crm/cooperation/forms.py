"""Moving a cooperation along the pipeline."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.db import max_length
from crm.forms import MoneyField, VersionField, choices, id_or_none
from crm.money import WAN_MOST
from crm.submissions import OnceForm


class MoveForm(FlaskForm):
    to = SelectField("推进到", choices=choices((s.value, s.label) for s in Stage))
    version = VersionField(validators=[DataRequired()])
    on = DateField("变动日期", validators=[Optional()], description="不填即今天")
    signed_on = DateField("签约日期", validators=[Optional()])
    parties = StringField(
        "签约各方", validators=[Optional(), Length(max=max_length(Cooperation.parties))]
    )
    contract_no = StringField("技术合同登记号", validators=[Optional(), Length(max=64)])
    reason = StringField(
        "终止原因", validators=[Optional(), Length(max=max_length(Cooperation.termination_reason))]
    )
    note = TextAreaField("备注", validators=[Optional(), Length(max=max_length(StageChange.note))])
    next = HiddenField()


class CooperationForm(OnceForm):
    """Register or edit a cooperation record (产学研合作)."""

    title = StringField("合作名称", validators=[DataRequired("请填写合作名称。"), Length(max=200)])
    type = SelectField("合作类型", choices=choices((t.value, t.label) for t in CooperationType))
    institution_id = SelectField("高校院所", choices=[], coerce=id_or_none, validate_choice=False)
    researcher_name = StringField(
        "专家姓名",
        validators=[Optional(), Length(max=64)],
        description="专家库里的姓名；不填即与院所合作",
    )
    amount = MoneyField(
        "合同金额（万元）",
        most=WAN_MOST,
        validators=[Optional(), NumberRange(min=0, message="金额不能为负数。")],
    )
    contract_no = StringField("技术合同登记号", validators=[Optional(), Length(max=64)])
    origin = SelectField(  # asked when registering only: the edit form does not show it
        "来源",
        choices=choices((o.value, o.label) for o in Origin if o != Origin.SUGGESTION),
        default=Origin.MANUAL.value,
    )
    notes = TextAreaField(
        "备注", validators=[Optional(), Length(max=max_length(Cooperation.notes))]
    )
    version = VersionField()
