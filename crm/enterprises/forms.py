"""Enterprise create/edit and list-filter forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.audit.labels import register_forms
from crm.db import max_length
from crm.enterprises import services
from crm.enterprises.lists import SORTS
from crm.enterprises.models import Enterprise, RecognitionKind
from crm.forms import AtMost, MoneyField, VersionField, check, choices, id_or_none
from crm.money import WAN_MOST
from crm.submissions import OnceForm, sent_before


class EnterpriseForm(OnceForm):
    name = StringField("企业名称", validators=[DataRequired("请输入企业名称。"), Length(max=120)])
    uscc = StringField(
        # room for a pasted code with spaces or in groups: the service reads it as 18 characters
        "统一社会信用代码",
        validators=[Optional(), Length(max=40, message="统一社会信用代码应为 18 位。")],
    )
    town_id = SelectField("所属乡镇街道", coerce=id_or_none, validate_choice=False)
    industry_ids = SelectMultipleField(
        "所属行业", coerce=id_or_none, validate_choice=False, validators=[AtMost(20)]
    )
    main_products = TextAreaField(
        "主营产品", validators=[Optional(), Length(max=max_length(Enterprise.main_products))]
    )
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    is_above_scale = BooleanField("规模以上工业企业")
    owner_id = SelectField("负责联络员", coerce=id_or_none, validate_choice=False)
    department_id = SelectField("负责科室", coerce=id_or_none, validate_choice=False)
    notes = TextAreaField("备注", validators=[Optional(), Length(max=max_length(Enterprise.notes))])
    founded_on = DateField("成立日期", validators=[Optional()])
    founding_achievement_ids = SelectMultipleField(
        "依托的科技成果",
        coerce=id_or_none,
        validate_choice=False,
        validators=[AtMost(20)],
        description="科技成果引进后直接创办的企业：选择它依托的成果（可多选），按成立年度计入年度目标",
    )
    version = VersionField()
    submit = SubmitField("保存")

    def __init__(self, *args: Any, enterprise_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enterprise_id = enterprise_id  # the one edited (None when registering)

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own check, then that no other firm has the name or the code (and the
        code's checksum), and that a firm founded on achievements has its 成立日期: said
        together with the other fields' errors."""
        valid = super().validate(extra_validators)
        if sent_before(self):
            return valid  # saved already: the save shows its result, not "name taken"
        if not self.founded_on.errors and not self.founding_achievement_ids.errors:
            chosen = [i for i in self.founding_achievement_ids.data or [] if i]
            check(
                self,
                lambda: services.check_founding(self.founded_on.data, chosen),
                default="founded_on",
            )
        if self.name.data and self.name.data.strip():
            check(
                self,
                lambda: services.check_name_free(self.name.data.strip(), self.enterprise_id),
                default="name",
            )
        uscc = self.uscc.data
        if uscc and uscc.strip():
            check(
                self,
                lambda: services.check_uscc_free(services.clean_uscc(uscc), self.enterprise_id),
                default="uscc",
            )
        return valid and not self.errors


class FilterForm(FlaskForm):
    """The list's filters, read from the query string (GET: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("名称或信用代码", validators=[Optional(), Length(max=100)])
    town = SelectField("乡镇街道", coerce=id_or_none, validate_choice=False)
    industry = SelectField("行业", coerce=id_or_none, validate_choice=False)
    flag = SelectField(
        "资质",
        choices=choices(
            [("", "全部"), ("above_scale", "规上企业")]
            + [(k.value, k.label) for k in RecognitionKind]
        ),
        validate_choice=False,
    )
    owner = SelectField("联络员", coerce=id_or_none, validate_choice=False)
    department = SelectField("科室", coerce=id_or_none, validate_choice=False)
    not_visited = IntegerField(
        "超过 N 天未走访", validators=[Optional(), NumberRange(1, 3650, "请输入 1–3650 天。")]
    )
    sort = SelectField(
        "排序", choices=choices(SORTS.items()), default="name", validate_choice=False
    )


#: a yearly figure: none, or not below zero (said with the other fields' errors)
AMOUNT = (Optional(), NumberRange(min=0, message="金额不能为负数。"))


class YearForm(FlaskForm):
    year = IntegerField("年度", validators=[DataRequired("请输入年度。"), NumberRange(1990, 2100)])
    above_scale = BooleanField("当年为规模以上工业企业")
    revenue_wan = MoneyField("主营业务收入（万元）", most=WAN_MOST, validators=AMOUNT)
    rnd_spend_wan = MoneyField("科技活动经费支出（万元）", most=WAN_MOST, validators=AMOUNT)
    industrial_output_wan = MoneyField("工业总产值（万元）", most=WAN_MOST, validators=AMOUNT)
    hitech_output_wan = MoneyField("高新技术产业产值（万元）", most=WAN_MOST, validators=AMOUNT)
    version = VersionField()
    submit = SubmitField("保存")


# what the change history calls these records' fields (crm.audit.labels)
register_forms("enterprise", EnterpriseForm)
register_forms("enterprise_year", YearForm)
