"""Read-only pages of institutions, researchers and achievements (search links here)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy.orm import selectinload

from crm.errors import NotFound
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Researcher
from crm.policy import Level, access

bp = Blueprint("records", __name__)


def _get(model: type, record_id: int, *options: Any) -> Any:
    record = db.session.get(model, record_id, options=options)
    if record is None or record.deleted_at is not None:
        raise NotFound("记录不存在或已被删除。")
    return record


@bp.route("/institutions/<int:record_id>")
@access(Level.SIGNED_IN)
def institution(record_id: int) -> str:
    """An institution with its aliases and researchers."""
    inst = _get(Institution, record_id, selectinload(Institution.aliases))
    researchers = [r for r in inst.researchers if r.deleted_at is None]
    return render_template("records/institution.html", inst=inst, researchers=researchers)


@bp.route("/researchers/<int:record_id>")
@access(Level.SIGNED_IN)
def researcher(record_id: int) -> str:
    """A researcher: institution, title, research directions, bio."""
    person = _get(Researcher, record_id, selectinload(Researcher.institution))
    return render_template("records/researcher.html", person=person)


@bp.route("/achievements/<int:record_id>")
@access(Level.SIGNED_IN)
def achievement(record_id: int) -> str:
    """A 科技成果 with its owner, maturity and transfer mode."""
    item = _get(Achievement, record_id)
    return render_template("records/achievement.html", item=item)
