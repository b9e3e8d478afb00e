"""Logging a visit from an enterprise's page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.auth.models import Role, User
from crm.clock import local_today
from crm.enterprises.services import get_enterprise
from crm.errors import ValidationError
from crm.extensions import db
from crm.forms import attach_error, choices
from crm.policy import Level, access
from crm.visits import services
from crm.visits.forms import VisitForm

bp = Blueprint("visits", __name__)


@bp.route("/enterprises/<int:enterprise_id>/visits/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create(enterprise_id: int) -> Response | tuple[str, int] | str:
    """Log a visit: date, notes, needs found and the next step, in one form."""
    ent = get_enterprise(enterprise_id)
    today = local_today()
    form = VisitForm()
    colleagues = db.session.scalars(
        sa.select(User)
        .where(User.active, User.role != Role.VIEWER, User.id != current_user.id)
        .order_by(User.display_name)
    )
    form.companions.choices = choices((str(u.id), u.display_name) for u in colleagues)
    if not form.is_submitted():
        form.visited_on.data = today
    if form.validate_on_submit():
        data = services.VisitData(
            visited_on=form.visited_on.data,
            notes=form.notes.data,
            companion_ids=form.companions.data or [],
            needs=[
                services.NeedEntry(e.form.title.data or "", e.form.description.data)
                for e in form.needs
            ],
            next_step=form.next_step.data,
            next_due=form.next_due.data,
        )
        try:
            visit = services.log_visit(current_user, ent, data, today)
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default="notes")
        else:
            db.session.commit()
            found = len(visit.needs)
            flash(f"已记录走访{f'，新增 {found} 条技术需求' if found else ''}。", "success")
            return redirect(url_for("enterprises.detail", enterprise_id=ent.id))
    status = 400 if form.errors else 200
    return render_template("visits/form.html", form=form, ent=ent, today=today), status
