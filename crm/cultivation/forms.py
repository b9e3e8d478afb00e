"""Putting a firm in the cultivation pool, and recording a candidate's next step."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.audit.labels import register_forms
from crm.clock import local_today
from crm.cultivation import services
from crm.cultivation.models import Candidate, CoachingStep, StepKind
from crm.db import max_length
from crm.enterprises.models import Enterprise, RecognitionKind
from crm.forms import VersionField, add_errors, choices, id_or_none
from crm.submissions import OnceForm

KINDS = choices((k.value, k.label) for k in RecognitionKind)
REASON_MAX = 200
#: the reason and the note are kept together as the step's note ("reason；note")
NOTE_MAX = max_length(CoachingStep.note) - REASON_MAX - 1


def _choice(kind: type[Any], value: Any) -> Any:
    """The choice a select's value names, or None."""
    return kind(value) if value in {k.value for k in kind} else None


class EntryForm(OnceForm):
    """加入培育库: a firm, for a recognition, in a year."""

    kind = SelectField("认定类型", choices=KINDS, validate_choice=False)
    year = IntegerField("申报年度", validators=[DataRequired("请填写申报年度。")])
    officer_id = SelectField("培育联络员", coerce=id_or_none, validate_choice=False)
    notes = TextAreaField("备注", validators=[Optional(), Length(max=max_length(Candidate.notes))])

    def __init__(self, *args: Any, enterprise: Enterprise, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise

    def entry(self) -> services.Entry:
        return services.Entry(
            kind=_choice(RecognitionKind, self.kind.data),
            year=self.year.data,
            officer_id=self.officer_id.data,
            notes=self.notes.data,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then every pool rule (already there, already held)."""
        valid = super().validate(extra_validators)
        problems = services.entry_problems(self.enterprise, self.entry(), local_today())
        add_errors(self, problems, default="kind")
        return valid and not self.errors


class StepForm(FlaskForm):
    """Record a candidate's next step; the fields a step asks for are shown for it."""

    kind = SelectField(
        "记录", choices=choices((k.value, k.label) for k in StepKind), validate_choice=False
    )
    version = VersionField(validators=[DataRequired()])
    on = DateField("日期", validators=[Optional()], description="不填即今天")
    certificate_no = StringField(
        "证书编号", validators=[Optional(), Length(max=services.CERTIFICATE_MAX)]
    )
    reason = StringField("原因", validators=[Optional(), Length(max=REASON_MAX)])
    visit_id = SelectField("关联走访", coerce=id_or_none, validate_choice=False)
    note = TextAreaField("备注", validators=[Optional(), Length(max=NOTE_MAX)])

    def __init__(self, *args: Any, candidate: Candidate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidate = candidate  # the record the step is for: its rules are checked too

    def step(self) -> services.Step | None:
        """The step asked for (None if the kind asked for is none)."""
        kind = _choice(StepKind, self.kind.data)
        if kind is None:
            return None
        return services.Step(
            kind=kind,
            version=int(self.version.data or 0),
            on=self.on.data,
            certificate_no=self.certificate_no.data,
            reason=self.reason.data,
            visit_id=self.visit_id.data,
            note=self.note.data,
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then every rule the step breaks (认定 without its
        certificate and dated tomorrow: both said at once). A stale form is left to the
        service's Conflict."""
        valid = super().validate(extra_validators)
        step = self.step()
        if step is None:
            self.kind.errors = [*self.kind.errors, "请选择要记录的步骤。"]
        elif self.candidate is not None and step.version == self.candidate.version:
            problems = services.problems(self.candidate, step, local_today())
            add_errors(self, problems, default="kind")
        return valid and not self.errors


# what the change history calls these records' fields (crm.audit.labels)
register_forms("candidate", EntryForm)
