"""Login, password and user-management forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from crm.audit.labels import register_forms
from crm.auth.models import Role
from crm.forms import VersionField, choices
from crm.submissions import OnceForm


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。")])
    submit = SubmitField("登录")


class PasswordForm(FlaskForm):
    current_password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。")])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码。")])
    confirm = PasswordField(
        "再次输入新密码",
        validators=[
            DataRequired("请再次输入新密码。"),
            EqualTo("new_password", "两次输入不一致。"),
        ],
    )
    submit = SubmitField("修改密码")


class UserForm(OnceForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    role = SelectField(
        "角色", choices=choices((r.value, r.label) for r in Role), default=Role.OFFICER.value
    )
    department = SelectField("科室", choices=[], validate_choice=False)
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码。")])
    submit = SubmitField("创建用户")


class UserEditForm(FlaskForm):
    """An admin changes a user's name, role, department or password."""

    display_name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    role = SelectField("角色", choices=choices((r.value, r.label) for r in Role))
    department = SelectField("科室", choices=[], validate_choice=False)
    new_password = PasswordField("新密码（不修改请留空）", validators=[Optional()])
    version = VersionField(validators=[DataRequired()])
    submit = SubmitField("保存")


class ActiveForm(FlaskForm):
    """A button that switches an account on or off (CSRF-protected)."""

    active = BooleanField()
    submit = SubmitField()


# what the change history calls these records' fields (crm.audit.labels)
register_forms("user", UserEditForm, UserForm)
