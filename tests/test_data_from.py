"""Filling a service's dataclass from a form or an API body by its field names."""

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from crm.institutions.models import Maturity
from crm.institutions.services import AchievementData
from crm.records import data_from


@dataclass
class _Plain:
    name: str
    note: str | None = None


def test_a_body_fills_fields_by_name_and_choices_from_their_values():
    data = data_from(AchievementData, {"title": "抗皱整理", "maturity": "pilot", "extra": 1})
    assert data.title == "抗皱整理"
    assert data.maturity is Maturity("pilot")
    assert data.transfer_mode is None  # absent: the dataclass default


def test_a_blank_choice_is_none_and_given_values_win():
    data = data_from(AchievementData, {"title": "x", "maturity": ""}, title="给定")
    assert data.maturity is None
    assert data.title == "给定"


def test_a_form_is_read_by_its_fields(app):
    from flask_wtf import FlaskForm
    from wtforms import StringField

    class Form(FlaskForm):
        name = StringField()
        other = StringField()

    with app.test_request_context(method="POST"):
        form = Form(formdata=MultiDict({"name": "王伟", "other": "不是字段"}), meta={"csrf": False})
        data = data_from(_Plain, form)
    assert data == _Plain(name="王伟", note=None)
