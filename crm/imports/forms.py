"""The upload form and the confirm-import form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Optional, Regexp

from crm.forms import choices
from crm.imports.columns import SHEETS


class UploadForm(FlaskForm):
    file = FileField("表格文件（.xlsx 或 .csv）", validators=[FileRequired("请选择要导入的文件。")])
    kind = SelectField(
        "数据类型",
        choices=choices([("", "按表头自动识别")] + [(k, s.label) for k, s in SHEETS.items()]),
        validators=[Optional()],
    )


class CommitForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])
    kind = HiddenField(validators=[DataRequired()])
