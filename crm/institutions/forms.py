"""Institution, researcher and achievement forms."""

from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.db import max_length
from crm.forms import VersionField, choices, id_or_none
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionKind,
    Maturity,
    Researcher,
    TransferMode,
)
from crm.submissions import OnceForm


class InstitutionForm(OnceForm):
    name = StringField("单位名称", validators=[DataRequired("请输入单位名称。"), Length(max=120)])
    kind = SelectField("类型", choices=choices((k.value, k.label) for k in InstitutionKind))
    region = StringField("所在地区", validators=[Optional(), Length(max=60)])
    aliases = TextAreaField(
        "别名（每行一个，或用逗号分隔）", validators=[Optional(), Length(max=2000)]
    )
    website = StringField("网址", validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        "简介", validators=[Optional(), Length(max=max_length(Institution.description))]
    )
    version = VersionField()
    submit = SubmitField("保存")


class ResearcherForm(OnceForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    institution_id = SelectField("所在单位", coerce=id_or_none, validate_choice=False)
    title = StringField("职称", validators=[Optional(), Length(max=64)])
    research_directions = TextAreaField(
        "研究方向",
        validators=[Optional(), Length(max=max_length(Researcher.research_directions))],
    )
    team = StringField("团队", validators=[Optional(), Length(max=120)])
    bio = TextAreaField("个人简介", validators=[Optional(), Length(max=max_length(Researcher.bio))])
    version = VersionField()
    submit = SubmitField("保存")


class AchievementForm(OnceForm):
    title = StringField("成果名称", validators=[DataRequired("请输入成果名称。"), Length(max=200)])
    institution_id = SelectField("完成单位", coerce=id_or_none, validate_choice=False)
    researcher_id = SelectField("完成人", coerce=id_or_none, validate_choice=False)
    maturity = SelectField(
        "成熟度", choices=choices([("", "（未填）")] + [(m.value, m.label) for m in Maturity])
    )
    transfer_mode = SelectField(
        "转化方式", choices=choices([("", "（未填）")] + [(t.value, t.label) for t in TransferMode])
    )
    description = TextAreaField(
        "成果简介", validators=[Optional(), Length(max=max_length(Achievement.description))]
    )
    version = VersionField()
    submit = SubmitField("保存")
