"""Moving a cooperation along the pipeline."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.audit.labels import register_forms
from crm.clock import local_today
from crm.cooperation import services, stages
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.db import max_length
from crm.forms import MoneyField, VersionField, add_errors, check, choices, id_or_none
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

    def __init__(self, *args: Any, coop: Cooperation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coop = coop  # the record moved: its stage rules are checked with the fields

    def step(self) -> stages.Move | None:
        """The move asked for (None if the stage asked for is none)."""
        if self.to.data not in {s.value for s in Stage}:
            return None
        return stages.Move(
            to=Stage(self.to.data),
            version=int(self.version.data or 0),
            on=self.on.data,
            signed_on=self.signed_on.data,
            parties=self.parties.data,
            contract_no=self.contract_no.data,
            reason=self.reason.data,
            note=self.note.data,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then every stage rule the move breaks (签约 without its
        date and parties: both said at once). A stale form is left to the move's Conflict."""
        valid = super().validate(extra_validators)
        step = self.step()
        if self.coop is not None and step is not None and step.version == self.coop.version:
            add_errors(self, stages.problems(self.coop, step, local_today()), default="to")
        return valid and not self.errors


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

    def __init__(self, *args: Any, coop: Cooperation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coop = coop  # the record edited (None when registering)

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then whether the partner is one (院所 or 专家, found)."""
        valid = super().validate(extra_validators)
        if not self.institution_id.errors and not self.researcher_name.errors:
            check(
                self,
                lambda: services.partner(
                    self.institution_id.data, self.researcher_name.data, coop=self.coop
                ),
                default="institution_id",
            )
        return valid and not self.errors


# what the change history calls these records' fields (crm.audit.labels)
register_forms(
    "cooperation",
    CooperationForm,
    MoveForm,
    renamed={"stage_changed_on": "on", "termination_reason": "reason"},
)
