"""The branch (院校分支) pages: the county's 院所分支机构, registering and editing one.

They are routes of the institutions blueprint (`institutions.branches`, `.branch_new`,
`.branch_edit`), which `crm/institutions/views.py` adds with `register(bp)`. The rules a branch
follows are in `crm.institutions.branches`.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.institutions import branches as branch_services
from crm.institutions import services
from crm.institutions.forms import BranchForm
from crm.institutions.models import Branch, BranchKind
from crm.policy import Level, access
from crm.queries import get_live
from crm.web import id_arg, list_args, paginate, save_form


def register(bp: Blueprint) -> None:
    """Add the branch pages to the institutions blueprint."""
    bp.add_url_rule("/branches/", view_func=branches)
    bp.add_url_rule("/branches/new", view_func=branch_new, methods=["GET", "POST"])
    bp.add_url_rule(
        "/branches/<int:record_id>/edit", view_func=branch_edit, methods=["GET", "POST"]
    )


@access(Level.SIGNED_IN)
def branches() -> str:
    """院所分支机构 in the county, the latest first; by type or a word of a name or the park."""
    q, kind = (request.args.get("q") or "").strip()[:100], request.args.get("kind") or None
    return render_template(
        "institutions/branches.html",
        page=paginate(branch_services.branch_list(q, kind)),
        q=q,
        kind=kind,
        kinds=BranchKind,
        args=list_args(),
    )


def _branch_form(branch: Branch | None) -> Response | tuple[str, int]:
    form = BranchForm(obj=branch if request.method == "GET" else None, branch=branch)
    form.offer(current_user, services.institutions())
    if branch is None and request.method == "GET":  # from an institution's or a firm's page
        form.institution_id.data = id_arg("institution")
        form.host_enterprise_id.data = id_arg("enterprise")
        form.officer_id.data = current_user.id

    def save() -> Branch:
        # the version travels in the form
        version = int(form.version.data) if branch is not None and form.version.data else None
        return branch_services.save_branch(current_user, form.data_(), branch, version)

    def done(saved: Branch) -> str:
        return url_for(
            "institutions.institution", record_id=saved.institution_id, _anchor=f"branch-{saved.id}"
        )

    back = done(branch) if branch is not None else url_for("institutions.branches")
    return save_form(
        form,
        save,
        template="institutions/form.html",
        done=done,
        default_field="name",
        record=branch,
        heading="院所分支机构",
        back=back,
    )


@access(Level.OFFICER)
def branch_new() -> Response | tuple[str, int]:
    """Register a branch (?institution=, ?enterprise= preselect them)."""
    return _branch_form(None)


@access(Level.OFFICER)
def branch_edit(record_id: int) -> Response | tuple[str, int]:
    """Edit a branch: in a park, any officer; hosted by a firm, whoever may edit the firm."""
    branch = get_live(Branch, record_id)
    policy.authorize(policy.can_edit_branch(current_user, branch), branch_services.NOT_YOURS)
    return _branch_form(branch)
