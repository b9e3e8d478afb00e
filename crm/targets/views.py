"""年度目标: targets against actuals computed from the records, with the records behind each."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.auth.models import Department
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.policy import Level, access
from crm.targets import rules, services, setting
from crm.targets.forms import metric_errors, share_name, targets_form, total_name
from crm.targets.metrics import BY_CODE, METRICS
from crm.targets.models import Target
from crm.web import id_arg, year_arg

bp = Blueprint("targets", __name__)


def _year_and_department() -> tuple[int, int | None]:
    return year_arg(), id_arg("department_id")


@bp.route("/targets")
@access(Level.SIGNED_IN)
def index() -> str:
    year, department_id = _year_and_department()
    return render_template(
        "targets/index.html",
        overview=services.overview(year, department_id),
        departments=db.session.scalars(sa.select(Department).order_by(Department.name)).all(),
        year=year,
        department_id=department_id,
    )


@bp.route("/targets/<code>")
@access(Level.SIGNED_IN)
def drill(code: str) -> str:
    """The records an actual counts."""
    if code not in BY_CODE:
        abort(404)
    year, department_id = _year_and_department()
    return render_template(
        "targets/drill.html",
        metric=BY_CODE[code],
        rule=rules.RULES[code],
        items=services.records_behind(code, year, department_id),
        year=year,
        department=db.session.get(Department, department_id) if department_id else None,
        department_id=department_id,
    )


@bp.route("/targets/edit", methods=["GET", "POST"])
@access(Level.ADMIN)
def edit() -> Response | tuple[str, int]:
    """Set a year's targets and split them across departments (admins)."""
    year, _ = _year_and_department()
    departments = db.session.scalars(
        sa.select(Department).where(Department.active.is_(True)).order_by(Department.name)
    ).all()
    form = targets_form([d.id for d in departments])
    errors: dict[str, str] = {}
    status = 200
    if form.validate_on_submit():
        values = {m.code: form[total_name(m.code)].number for m in METRICS}
        shares = {
            (m.code, d.id): form[share_name(m.code, d.id)].number
            for m in METRICS
            for d in departments
        }
        try:
            setting.save_year(current_user, year, values, shares, form.seen.data or "")
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "warning")
            status = 409
        except ValidationError as exc:
            db.session.rollback()
            errors[exc.field or ""] = exc.message
            status = 400
        else:
            db.session.commit()
            flash(f"已保存 {year} 年度目标。", "success")
            return redirect(url_for("targets.index", year=year))
    elif errors := metric_errors(form):
        status = 400
    current = {
        t.metric: t for t in db.session.scalars(sa.select(Target).where(Target.year == year))
    }
    return render_template(
        "targets/edit.html",
        year=year,
        metrics=METRICS,
        departments=departments,
        current=current,
        shares={(t.metric, s.department_id): s.value for t in current.values() for s in t.shares},
        submitted=request.form if status != 200 else None,
        errors=errors,
        seen=setting.fingerprint(year),
        form=form,
    ), status
