"""Institutions, researchers and achievements: lists, pages, create and edit; and the blueprint
the branch pages (`crm.institutions.pages`) are added to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from crm.audit import pages as audit
from crm.enterprises.models import Contact
from crm.exports.downloads import download, export_format
from crm.exports.services import ExportSpec
from crm.extensions import db
from crm.forms import choices
from crm.institutions import branches as branch_services
from crm.institutions import pages as branch_pages
from crm.institutions import services
from crm.institutions.forms import AchievementForm, InstitutionForm, ResearcherForm
from crm.institutions.models import (
    Achievement,
    Institution,
    InstitutionKind,
    Researcher,
)
from crm.keep import KEEP
from crm.matching import services as matching
from crm.policy import Level, access
from crm.projects.models import Project
from crm.queries import get_live
from crm.records import data_from
from crm.web import id_arg, list_args, paginate, save_form

bp = Blueprint("institutions", __name__)


def _page(stmt: sa.Select[Any]) -> Any:
    per_page = int(current_app.config["PER_PAGE"])
    return paginate(stmt, per_page)


def _back(detail: str, listing: str, record: Any) -> str:
    return url_for(detail, record_id=record.id) if record is not None else url_for(listing)


def _institution_choices(blank: str, current: Institution | None = None) -> list:
    """Live institutions; and the one the record has, even if deleted since (so that saving
    the form unchanged keeps it)."""
    pairs = [("", blank)] + [(str(i.id), i.name) for i in services.institutions()]
    if current is not None and current.deleted_at is not None:
        pairs.append((str(current.id), f"{current.name}（已删除）"))
    return choices(pairs)


def _save(
    form: FlaskForm,
    save: Callable[[int | None], Any],
    record: Any,
    done: Callable[[Any], str],
    default_field: str,
    **context: Any,
) -> Response | tuple[str, int]:
    """save_form for the shared records: the version travels in the form."""

    def call() -> Any:
        version = int(form.version.data) if record is not None and form.version.data else None
        return save(version)

    return save_form(
        form,
        call,
        template="institutions/form.html",
        done=done,
        default_field=default_field,
        record=record,
        **context,
    )


# ---- institutions ------------------------------------------------------------------------------


@bp.route("/institutions/")
@access(Level.SIGNED_IN)
def institutions() -> str | Response:
    """高校院所, filtered by type or a word of the name / an alias; or their export."""
    q, kind = (request.args.get("q") or "").strip()[:100], request.args.get("kind") or None
    stmt = services.institution_list(q, kind)
    if fmt := export_format():
        return download(ExportSpec("institutions", stmt, list_args()), fmt)
    page = _page(stmt)
    return render_template(
        "institutions/institutions.html",
        page=page,
        q=q,
        kind=kind,
        kinds=InstitutionKind,
        args=list_args(),
    )


@bp.route("/institutions/<int:record_id>")
@access(Level.SIGNED_IN)
def institution(record_id: int) -> str:
    """An institution with its aliases, researchers and branches in the county."""
    inst = get_live(Institution, record_id, selectinload(Institution.aliases))
    researchers = [r for r in inst.researchers if r.deleted_at is None]
    contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.institution_id == inst.id, Contact.deleted_at.is_(None))
        .order_by(Contact.id)
    ).all()
    return render_template(
        "institutions/institution.html",
        inst=inst,
        researchers=researchers,
        contacts=contacts,
        branches=branch_services.of_institution(inst.id),
        **audit.history_context(current_user, "institution", inst.id),
    )


def _institution_data(form: InstitutionForm) -> services.InstitutionData:
    aliases = services.parse_aliases(form.aliases.data)
    return data_from(services.InstitutionData, form, name=form.name.data or "", aliases=aliases)


@bp.route("/institutions/new", methods=["GET", "POST"])
@bp.route("/institutions/<int:record_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def institution_form(record_id: int | None = None) -> Response | tuple[str, int] | str:
    """Register or edit an institution and its aliases."""
    inst = get_live(Institution, record_id) if record_id else None
    form = InstitutionForm(obj=inst if request.method == "GET" else None)
    if inst is not None and request.method == "GET":
        form.aliases.data = "\n".join(a.alias for a in inst.aliases)
    return _save(
        form,
        lambda version: services.save_institution(
            current_user, _institution_data(form), inst, version
        ),
        inst,
        lambda saved: url_for("institutions.institution", record_id=saved.id),
        "name",
        heading="高校院所",
        back=_back("institutions.institution", "institutions.institutions", inst),
    )


@bp.route("/researchers/")
@access(Level.SIGNED_IN)
def researchers() -> str | Response:
    """专家, filtered by institution or a word of the name / research directions; or export."""
    q = (request.args.get("q") or "").strip()[:100]
    institution_id = id_arg("institution")
    stmt = services.researcher_list(q, institution_id)
    if fmt := export_format():
        return download(ExportSpec("researchers", stmt, list_args()), fmt)
    page = _page(stmt)
    return render_template(
        "institutions/researchers.html",
        page=page,
        q=q,
        institution_id=institution_id,
        institutions=services.institutions(),
        args=list_args(),
    )


@bp.route("/researchers/<int:record_id>")
@access(Level.SIGNED_IN)
def researcher(record_id: int) -> str:
    """A researcher: institution, title, research directions, bio."""
    person = get_live(Researcher, record_id, selectinload(Researcher.institution))
    return render_template(
        "institutions/researcher.html",
        person=person,
        **audit.history_context(current_user, "researcher", person.id),
    )


@bp.route("/researchers/new", methods=["GET", "POST"])
@bp.route("/researchers/<int:record_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def researcher_form(record_id: int | None = None) -> Response | tuple[str, int] | str:
    """Register or edit a researcher."""
    person = get_live(Researcher, record_id) if record_id else None
    form = ResearcherForm(obj=person if request.method == "GET" else None)
    form.institution_id.choices = _institution_choices(
        "（未填）", person.institution if person else None
    )

    def save(version: int | None) -> Researcher:
        data = data_from(services.ResearcherData, form, name=form.name.data or "")
        return services.save_researcher(current_user, data, person, version)

    return _save(
        form,
        save,
        person,
        lambda saved: url_for("institutions.researcher", record_id=saved.id),
        "name",
        heading="专家",
        back=_back("institutions.researcher", "institutions.researchers", person),
    )


# ---- achievements ------------------------------------------------------------------------------


@bp.route("/achievements/")
@access(Level.SIGNED_IN)
def achievements() -> str | Response:
    """科技成果, filtered by a word of the title or description; or their export."""
    q = (request.args.get("q") or "").strip()[:100]
    stmt = services.achievement_list(q)
    if fmt := export_format():
        return download(ExportSpec("achievements", stmt, list_args()), fmt)
    page = _page(stmt)
    return render_template("institutions/achievements.html", page=page, q=q, args=list_args())


@bp.route("/achievements/<int:record_id>")
@access(Level.SIGNED_IN)
def achievement(record_id: int) -> str:
    """A 科技成果 with its owner, maturity and transfer mode."""
    item = get_live(Achievement, record_id)
    return render_template(
        "institutions/achievement.html",
        item=item,
        adopters=matching.adopters(item),
        **audit.history_context(current_user, "achievement", item.id),
    )


@bp.route("/achievements/new", methods=["GET", "POST"])
@bp.route("/achievements/<int:record_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def achievement_form(record_id: int | None = None) -> Response | tuple[str, int] | str:
    """Register or edit an achievement."""
    item = get_live(Achievement, record_id) if record_id else None
    form = AchievementForm(obj=item if request.method == "GET" else None)
    form.institution_id.choices = _institution_choices(
        "（未填）", item.institution if item else None
    )
    people = db.session.scalars(
        sa.select(Researcher)
        .where(Researcher.deleted_at.is_(None))
        .where(
            Researcher.institution_id == item.institution_id
            if item and item.institution_id
            else sa.true()
        )
        .order_by(Researcher.name_sort)
        .limit(500)
    )
    pairs = [("", "（未填）")] + [(str(r.id), r.name) for r in people]
    if item is not None and item.researcher is not None and item.researcher.deleted_at is not None:
        pairs.append((str(item.researcher.id), f"{item.researcher.name}（已删除）"))
    form.researcher_id.choices = choices(pairs)
    projects = db.session.execute(
        sa.select(Project.id, Project.title, Project.year)
        .where(
            Project.deleted_at.is_(None),
            sa.or_(
                Project.approved_on.is_not(None), Project.id == (item.project_id if item else None)
            ),
        )
        .order_by(Project.year.desc(), Project.title)
        .limit(500)
    )
    form.project_id.choices = choices(
        [("", "（无）")] + [(str(i), f"{title}（{year}）") for i, title, year in projects]
    )
    if item is not None and request.method == "GET":
        form.maturity.data = item.maturity.value if item.maturity else ""
        form.transfer_mode.data = item.transfer_mode.value if item.transfer_mode else ""

    def save(version: int | None) -> Achievement:
        data = data_from(
            services.AchievementData,
            form,
            title=form.title.data or "",
            project_id=form.project_id.data if "project_id" in request.form else KEEP,
        )
        return services.save_achievement(current_user, data, item, version)

    return _save(
        form,
        save,
        item,
        lambda saved: url_for("institutions.achievement", record_id=saved.id),
        "title",
        heading="科技成果",
        back=_back("institutions.achievement", "institutions.achievements", item),
    )


# ---- branches: their pages are in crm/institutions/pages.py, on this blueprint -----------------

branch_pages.register(bp)
