"""/dashboard: the year at a glance for leadership (charts with ECharts, served locally)."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.dashboard import report, services
from crm.extensions import db
from crm.policy import Level, access
from crm.targets import services as targets
from crm.web import year_arg

bp = Blueprint("dashboard", __name__)


@bp.route("/dashboard")
@access(Level.SIGNED_IN)
def index() -> str:
    year = year_arg()
    known = targets.actuals(year)  # overall and per department, one query per rule
    overview = targets.overview(year, known=known)
    funnel = services.funnel(year)
    visits = services.visits_by_officer(year)
    industries = services.cooperation_by_industry(year)
    institutions = services.cooperation_by_institution(year)
    departments = services.by_department(year, known)
    charts = {
        "progress": [
            {"label": r.metric.label, "percent": r.percent}
            for r in overview.rows
            if r.percent is not None
        ],
        "funnel": [{"label": s.label, "count": s.count} for s in funnel],
        "visits": [{"name": name, "months": months} for name, months in visits.items()],
        "industries": [{"name": n, "value": v} for n, v in industries],
        "institutions": [{"name": n, "value": v} for n, v in institutions],
    }
    return render_template(
        "dashboard/index.html",
        year=year,
        headline=services.headline(year),
        overview=overview,
        funnel=funnel,
        departments=departments,
        split=services.split_metrics(departments),
        stalled=services.stalled(current_user),
        charts=charts,
        visits_total=sum(sum(m) for m in visits.values()),
    )


@bp.route("/dashboard/report.xlsx")
@access(Level.SIGNED_IN)
def report_download() -> Response:
    """The printable report of a year (or one month of it)."""
    month_arg = request.args.get("month", "")
    month = (
        int(month_arg)
        if month_arg.isascii() and month_arg.isdigit() and 1 <= int(month_arg) <= 12
        else None
    )
    period = report.Period(year_arg(), month)
    buffer = io.BytesIO()
    report.write(current_user, period, buffer)
    db.session.commit()
    name = f"科技工作报表-{period.year}" + (f"-{period.month:02d}" if period.month else "")
    return send_file(
        io.BytesIO(buffer.getvalue()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{name}.xlsx",
    )
