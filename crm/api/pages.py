"""API令牌 in the user's menu: create (the token shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from crm import policy, submissions
from crm.api import tokens
from crm.auth.models import Role
from crm.auth.services import require_user
from crm.errors import ValidationError
from crm.extensions import db
from crm.forms import attach_error, choices
from crm.policy import Level, access
from crm.submissions import OnceForm
from crm.urls import is_safe_next

bp = Blueprint("tokens", __name__)


class TokenForm(OnceForm):
    name = StringField("名称", validators=[DataRequired("请给令牌起个名字。"), Length(max=80)])
    role = SelectField("权限")
    days = SelectField("有效期", choices=choices((str(d), f"{d} 天") for d in tokens.LIFETIMES))


def _form() -> TokenForm:
    form = TokenForm()
    mine = policy.ROLE_LEVEL[current_user.role.value]
    form.role.choices = choices(
        (r.value, r.label) for r in Role if policy.ROLE_LEVEL[r.value] <= mine
    )
    if not form.is_submitted():
        form.role.data, form.days.data = Role.VIEWER.value, "90"
    return form


@bp.route("/tokens", methods=["GET", "POST"])
@access(Level.SIGNED_IN, self_service=True)
def index() -> tuple[str, int] | str:
    """The user's API tokens; a new one is shown once, on the page that creates it."""
    form = _form()
    created = None
    status = 200
    if form.validate_on_submit():
        data = tokens.TokenData(form.name.data, Role(form.role.data), int(form.days.data))
        try:
            claimed = submissions.claim(form, current_user.id)  # pressed twice: one token
            _, created = tokens.create(current_user, data)
            submissions.fulfil(claimed, url_for("tokens.index"))
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default="name")
            status = 400
        else:
            db.session.commit()
    elif form.is_submitted():
        status = 400
    page = render_template(
        "api/tokens.html",
        form=form,
        created=created,
        mine=tokens.owned(current_user),
        state=tokens.state,
    )
    return page, status


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@access(Level.SIGNED_IN, self_service=True)
def revoke(token_id: int) -> Response:
    """吊销: one's own token, or (admins) anyone's; back to the list it was pressed on."""
    if FlaskForm().validate_on_submit():
        token = tokens.revoke(current_user, token_id)  # not theirs: 400, in Chinese
        db.session.commit()
        flash(f"令牌“{token.name}”已吊销，用它的请求从现在起被拒绝。", "success")
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("tokens.index"))


@bp.route("/admin/tokens")
@access(Level.ADMIN)
def every() -> str:
    """Every user's API tokens (admins): whose, what they may do, when last used; 吊销."""
    owner = None
    if name := (request.args.get("user") or "").strip():
        owner = require_user(name)
    return render_template(
        "api/all_tokens.html", tokens=tokens.every(owner), owner=owner, state=tokens.state
    )
