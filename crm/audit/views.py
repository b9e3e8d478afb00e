"""The admin's audit page: every change, login and failed login, filtered."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from crm.audit import labels, pages, services
from crm.audit.models import ACTION_LABELS, AuditEntry
from crm.auth.models import User
from crm.extensions import db
from crm.policy import Level, access
from crm.web import id_arg, paginate

bp = Blueprint("audit", __name__)


@bp.route("/admin/audit")
@access(Level.ADMIN)
def index() -> str:
    """Browse the audit trail (read-only: nobody edits or deletes entries)."""
    table = request.args.get("table") or None
    action = request.args.get("action") or None
    user_id = id_arg("user")
    page = paginate(
        services.browse(table, action, user_id), int(current_app.config["PER_PAGE"]) * 2
    )
    users = list(db.session.scalars(sa.select(User).order_by(User.display_name)))
    tables = db.session.scalars(
        sa.select(AuditEntry.table_name).distinct().order_by(AuditEntry.table_name)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/index.html",
        page=page,
        items=pages.describe(list(page.items), current_user),
        users=users,
        tables={t: labels.kind_label(t) for t in tables},
        actions=ACTION_LABELS,
        args=args,
        table=table,
        action=action,
        user_id=user_id,
    )
