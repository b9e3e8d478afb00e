"""The contact form."""

from __future__ import annotations

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from crm.audit.labels import register_forms
from crm.enterprises.services import check_email, check_phone
from crm.forms import Rule
from crm.submissions import OnceForm


class ContactForm(OnceForm):
    name = StringField("姓名", validators=[DataRequired("请输入联系人姓名。"), Length(max=64)])
    position = StringField("职务", validators=[Optional(), Length(max=64)])
    phone = StringField("电话", validators=[Optional(), Length(max=32), Rule(check_phone)])
    email = StringField("电子邮箱", validators=[Optional(), Length(max=120), Rule(check_email)])
    submit = SubmitField("添加联系人")


# what the change history calls these records' fields (crm.audit.labels)
register_forms("contact", ContactForm)
