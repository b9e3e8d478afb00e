"""年度目标: targets against actuals computed from the records, with the records behind each."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request

from crm.auth.models import Department
from crm.clock import local_today
from crm.extensions import db
from crm.policy import Level, access
from crm.targets import services
from crm.targets.metrics import BY_CODE

bp = Blueprint("targets", __name__)


def _year_and_department() -> tuple[int, int | None]:
    year_arg, department_arg = request.args.get("year", ""), request.args.get("department_id", "")
    year = int(year_arg) if year_arg.isdigit() and 1990 <= int(year_arg) <= 2100 else None
    department = int(department_arg) if department_arg.isdigit() else None
    return year or local_today().year, department


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
        rule=services.RULES[code],
        items=services.records_behind(code, year, department_id),
        year=year,
        department=db.session.get(Department, department_id) if department_id else None,
        department_id=department_id,
    )
