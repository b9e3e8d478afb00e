"""GET /search?q=…: the nav bar's search box."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from crm.policy import Level, access
from crm.search import services

bp = Blueprint("search", __name__)


@bp.route("/search")
@access(Level.SIGNED_IN)
def index() -> str:
    """Ranked hits across enterprises, institutions, researchers, needs and achievements."""
    q = (request.args.get("q") or "").strip()[:200]
    hits = services.search(q, limit=30) if q else []
    return render_template("search/index.html", q=q, hits=hits, highlight=services.highlight)
