"""Enterprise list, detail (with timeline), create and edit."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.audit import pages as audit
from crm.auth.models import Department, User
from crm.auth.services import officers
from crm.clock import local_today
from crm.enterprises import lists, services, years
from crm.enterprises.forms import EnterpriseForm, FilterForm, YearForm
from crm.errors import Conflict, ValidationError
from crm.exports.downloads import download, export_format
from crm.exports.services import ExportSpec
from crm.extensions import db
from crm.forms import attach_error, choices
from crm.institutions import branches
from crm.institutions import services as institutions
from crm.keep import KEEP
from crm.matching import suggestions
from crm.money import to_wan
from crm.policy import Level, access
from crm.projects import services as project_services
from crm.timeline.services import timeline
from crm.web import list_args, paginate, save_form

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")


def _people_choices(blank: str, owner: User | None = None) -> tuple[list, list]:
    """Active officers and departments; and the enterprise's own officer even if deactivated
    since (an admin saving the form unchanged keeps them)."""
    people = [(str(u.id), u.display_name) for u in officers()]
    if owner is not None and not owner.active:
        people.append((str(owner.id), f"{owner.display_name}（已停用）"))
    departments = db.session.scalars(sa.select(Department).order_by(Department.name))
    return (
        choices([("", blank)] + people),
        choices([("", blank)] + [(str(d.id), d.name) for d in departments]),
    )


def _fill_choices(form: EnterpriseForm | FilterForm, blank: str, ent: Any = None) -> None:
    town_field = form.town_id if isinstance(form, EnterpriseForm) else form.town
    town_field.choices = choices([("", blank)] + [(str(t.id), t.name) for t in lists.towns()])
    industries = [(str(i.id), i.name) for i in lists.industries()]
    if isinstance(form, EnterpriseForm):
        form.industry_ids.choices = choices(industries)
        form.founding_achievement_ids.choices = _achievement_choices(ent)
        form.owner_id.choices, form.department_id.choices = _people_choices(
            "（未指定）", ent.owner if ent is not None else None
        )
    else:
        form.industry.choices = choices([("", blank)] + industries)
        form.owner.choices, form.department.choices = _people_choices(blank)


def _achievement_choices(ent: Any) -> list:
    """The achievement library (title and institution); and the firm's own founding
    achievements even if deleted since (saving the form unchanged keeps them)."""
    library = db.session.scalars(institutions.achievement_list(None)).all()
    pairs = [
        (str(a.id), a.title + (f"（{a.institution.name}）" if a.institution else ""))
        for a in library
    ]
    if ent is not None:
        pairs += [
            (str(a.id), f"{a.title}（已删除）") for a in ent.founding_achievements if a.deleted_at
        ]
    return choices(pairs)


@bp.route("/")
@access(Level.SIGNED_IN)
def index() -> str | Response:
    """All enterprises, filtered (town, industry, flag, owner, department, not visited);
    `?format=xlsx|csv` exports what the filter shows."""
    form = FilterForm(request.args)
    _fill_choices(form, "全部")
    form.validate()
    filters = lists.Filters(
        q=form.q.data or "",
        town_id=form.town.data,
        industry_id=form.industry.data,
        flag=form.flag.data or "",
        owner_id=form.owner.data,
        department_id=form.department.data,
        not_visited_days=None if form.not_visited.errors else form.not_visited.data,
        sort=form.sort.data or "name",
    )
    args = list_args()
    stmt = lists.list_query(filters, local_today())
    if fmt := export_format():
        return download(ExportSpec("enterprises", stmt, args), fmt)
    page = paginate(stmt)
    last = lists.last_visit_dates([e.id for e in page.items])
    return render_template("enterprises/index.html", form=form, page=page, args=args, last=last)


@bp.route("/<int:enterprise_id>")
@access(Level.SIGNED_IN)
def detail(enterprise_id: int) -> str:
    """One enterprise: facts, contacts, yearly figures and what happened with it."""
    ent = services.get_enterprise(enterprise_id)
    return render_template(
        "enterprises/detail.html",
        ent=ent,
        timeline=timeline(ent),
        hosted_branches=branches.hosted_by(ent.id),
        suggestions=suggestions.for_enterprise(ent.id),
        projects=project_services.of_enterprise(ent.id),
        can_edit=policy.can_edit_enterprise(current_user, ent),
        **audit.history_context(current_user, "enterprise", ent.id),
    )


def _data(form: EnterpriseForm) -> services.EnterpriseData:
    return services.EnterpriseData(
        name=form.name.data or "",
        uscc=form.uscc.data,
        town_id=form.town_id.data,
        industry_ids=[i for i in form.industry_ids.data or [] if i],
        address=form.address.data,
        main_products=form.main_products.data,
        is_above_scale=form.is_above_scale.data,
        notes=form.notes.data,
        founded_on=form.founded_on.data,
        founding_achievement_ids=[i for i in form.founding_achievement_ids.data or [] if i],
        # shown to admins only: a form without them leaves them as they are
        owner_id=form.owner_id.data if "owner_id" in request.form else KEEP,
        department_id=form.department_id.data if "department_id" in request.form else KEEP,
    )


def _detail_url(ent: Any) -> str:
    return url_for("enterprises.detail", enterprise_id=ent.id)


@bp.route("/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create() -> Response | tuple[str, int]:
    """Register an enterprise."""
    form = EnterpriseForm()
    _fill_choices(form, "（未指定）")
    return save_form(
        form,
        lambda: services.create_enterprise(current_user, _data(form)),
        template="enterprises/form.html",
        done=_detail_url,
        success=lambda ent: f"已登记企业 {ent.name}。",
        default_field="name",
        ent=None,
    )


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@access(Level.OFFICER)
def edit(enterprise_id: int) -> Response | tuple[str, int]:
    """Edit an enterprise (own or own department's); a stale form shows both versions."""
    ent = services.get_enterprise(enterprise_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, ent), "您只能修改本人或本科室负责的企业。"
    )
    form = EnterpriseForm(obj=ent if request.method == "GET" else None, enterprise_id=ent.id)
    _fill_choices(form, "（未指定）", ent)
    if request.method == "GET":
        form.industry_ids.data = [i.id for i in ent.industries]
        form.founding_achievement_ids.data = [a.id for a in ent.founding_achievements]
    return save_form(
        form,
        lambda: services.update_enterprise(
            current_user, ent, _data(form), int(form.version.data or 0)
        ),
        template="enterprises/form.html",
        done=_detail_url,
        default_field="name",
        record=ent,
        conflict=lambda: _data(form),
        ent=ent,
    )


@bp.route("/<int:enterprise_id>/years", methods=["GET", "POST"])
@access(Level.OFFICER)
def year(enterprise_id: int) -> Response | tuple[str, int] | str:
    """Add a year's figures, or correct one (?year=2025), entered in 万元."""
    ent = services.get_enterprise(enterprise_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, ent), "您只能修改本人或本科室负责的企业。"
    )
    existing = next((y for y in ent.years if y.year == request.args.get("year", type=int)), None)
    form = YearForm()
    if existing is not None and request.method == "GET":
        form.year.data, form.above_scale.data = existing.year, existing.above_scale
        form.version.data = str(existing.version)
        for name in ("revenue", "rnd_spend", "industrial_output", "hitech_output"):
            value = getattr(existing, name)
            getattr(form, f"{name}_wan").data = to_wan(value)
    if form.validate_on_submit():
        data = years.YearData(
            year=form.year.data,
            above_scale=form.above_scale.data,
            revenue_wan=form.revenue_wan.data,
            rnd_spend_wan=form.rnd_spend_wan.data,
            industrial_output_wan=form.industrial_output_wan.data,
            hitech_output_wan=form.hitech_output_wan.data,
        )
        version = int(form.version.data) if form.version.data else None
        try:
            years.save_year(current_user, ent, data, version)
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "warning")
            return redirect(url_for("enterprises.detail", enterprise_id=ent.id))
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default="year")
        else:
            db.session.commit()
            flash(f"已保存 {data.year} 年度数据。", "success")
            return redirect(url_for("enterprises.detail", enterprise_id=ent.id))
    status = 400 if form.errors else 200
    return render_template("enterprises/year_form.html", form=form, ent=ent), status
