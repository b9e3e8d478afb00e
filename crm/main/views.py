"""The home page: the signed-in officer's own work."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from crm.clock import local_today
from crm.policy import Level, access
from crm.visits import services as visits
from crm.visits.forms import TaskDoneForm

bp = Blueprint("main", __name__)


@bp.route("/")
@access(Level.SIGNED_IN)
def home() -> str:
    """Overdue tasks, today's and the next days', recent visits and enterprises not visited
    for a while (or, to a new officer, how to get some)."""
    today = local_today()
    overview = visits.officer_overview(
        current_user, today, int(current_app.config["STALE_VISIT_DAYS"])
    )
    return render_template(
        "main/home.html",
        overview=overview,
        today=today,
        ahead_days=visits.AHEAD_DAYS,
        done_form=TaskDoneForm(),
    )


@bp.route("/healthz")
@access(Level.PUBLIC)
def healthz() -> tuple[str, int, dict[str, str]]:
    """Liveness probe for the process manager / load balancer."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
