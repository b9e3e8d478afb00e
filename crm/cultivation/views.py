"""The cultivation pool (培育库): the board by stage, a candidate's page and its next step, and
putting a firm in the pool (from the board, by finding the firm; or from the firm's page)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.auth.models import Department
from crm.auth.services import officers
from crm.clock import as_local, local_today
from crm.cultivation import board, services
from crm.cultivation.forms import EntryForm, StepForm
from crm.cultivation.models import Candidate, PoolStage, StepKind
from crm.enterprises import lists as enterprise_lists
from crm.enterprises import services as enterprises
from crm.enterprises.models import RecognitionKind
from crm.extensions import db
from crm.policy import Level, access
from crm.visits.models import Visit
from crm.web import id_arg, save_form, save_step, year_arg

bp = Blueprint("cultivation", __name__)

PICK_LIMIT = 20  # firms the 加入培育库 page lists at once


def _kind_arg() -> RecognitionKind | None:
    value = request.args.get("kind", "")
    return RecognitionKind(value) if value in {k.value for k in RecognitionKind} else None


@bp.app_template_global("pool_entries")
def pool_entries(enterprise_id: int) -> list[Candidate]:
    """A firm's pool entries, for the 培育库 section of its page."""
    return board.entries_of(enterprise_id)


@bp.route("/cultivation")
@access(Level.SIGNED_IN)
def pool() -> str:
    """培育库: a year's candidates (of one recognition, or all) in a column per stage."""
    filters = board.Filters(
        year=year_arg(),
        kind=_kind_arg(),
        officer_id=id_arg("officer_id"),
        department_id=id_arg("department_id"),
    )
    columns, counts = board.board(filters)
    return render_template(
        "cultivation/pool.html",
        columns=columns,
        counts=counts,
        total=sum(counts.values()),
        stages=services.BOARD,
        per_column=board.PER_COLUMN,
        filters=filters,
        years=board.years(local_today().year),
        kinds=list(RecognitionKind),
        officers=officers(),
        departments=db.session.execute(
            sa.select(Department.id, Department.name).order_by(Department.name)
        ).all(),
        Stage=PoolStage,
    )


@bp.route("/cultivation/new")
@access(Level.OFFICER)
def pick() -> str:
    """加入培育库 from the board: the firms this user may edit (found by name, pinyin or
    initials), each with a button that puts it in the pool for the kind and year chosen."""
    q = request.args.get("q", "").strip()[:100]
    kind = _kind_arg() or RecognitionKind.HITECH_NATIONAL
    year = year_arg()
    today = local_today()
    stmt = enterprise_lists.list_query(enterprise_lists.Filters(q=q), today).where(
        policy.editable_enterprises(current_user)
    )
    firms = list(db.session.scalars(stmt.limit(PICK_LIMIT + 1)))
    return render_template(
        "cultivation/pick.html",
        q=q,
        kind=kind,
        year=year,
        kinds=list(RecognitionKind),
        years=range(today.year + 1, today.year - 2, -1),
        firms=firms[:PICK_LIMIT],
        more=len(firms) > PICK_LIMIT,
        there=board.pooled([f.id for f in firms], kind, year),
    )


@bp.route("/enterprises/<int:enterprise_id>/cultivation/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def add(enterprise_id: int) -> Response | tuple[str, int]:
    """Put a firm in the pool for a recognition in a year (at 入库)."""
    ent = enterprises.get_enterprise(enterprise_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, ent), "您只能把本人或本科室负责的企业加入培育库。"
    )
    form = EntryForm(enterprise=ent)
    people = officers()
    form.officer_id.choices = [(str(u.id), u.display_name) for u in people]
    if request.method == "GET":
        form.kind.data = (_kind_arg() or RecognitionKind.HITECH_NATIONAL).value
        form.year.data = year_arg()
        form.officer_id.data = ent.owner_id if ent.owner in people else current_user.id
    return save_form(
        form,
        lambda: services.add(current_user, ent, form.entry()),
        template="cultivation/add.html",
        done=lambda c: url_for("cultivation.candidate", candidate_id=c.id),
        success=lambda c: f"已将{ent.name}加入 {c.year} 年“{c.kind.label}”培育库。",
        default_field="kind",
        ent=ent,
        entries=board.entries_of(ent.id),
    )


@bp.route("/cultivation/<int:candidate_id>")
@access(Level.SIGNED_IN)
def candidate(candidate_id: int) -> tuple[str, int]:
    """A candidate: its firm, stage and steps, and the form for its next step."""
    found = services.get_candidate(candidate_id)
    return _page(found, _fresh_form(found))


def _fresh_form(found: Candidate) -> StepForm:
    """A step form at the record's version, dated today (the county's)."""
    return StepForm(formdata=None, version=found.version, on=local_today())


def _page(found: Candidate, form: StepForm, status: int = 200) -> tuple[str, int]:
    may = policy.can_edit_candidate(current_user, found)
    kinds = services.next_steps(found) if may else []
    form.kind.choices = [(k.value, k.label) for k in kinds]
    visits = db.session.execute(
        sa.select(Visit.id, Visit.visited_on)
        .where(Visit.enterprise_id == found.enterprise_id, Visit.deleted_at.is_(None))
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
        .limit(20)
    ).all()
    form.visit_id.choices = [("", "（不关联）")] + [
        (str(v.id), f"{v.visited_on.isoformat()} 的走访") for v in visits
    ]
    steps = sorted(found.steps, key=lambda s: (s.done_on, s.id), reverse=True)
    return render_template(
        "cultivation/candidate.html",
        candidate=found,
        form=form,
        kinds=kinds,
        steps=steps,
        ended=found.stage in services.ENDED,
        pooled_on=as_local(found.created_at).date(),
        StepKind=StepKind,
    ), status


@bp.route("/cultivation/<int:candidate_id>/steps", methods=["POST"])
@access(Level.OFFICER)
def record_step(candidate_id: int) -> Response | tuple[str, int]:
    """Record the next step by the rules; what is missing (证书编号, 原因 …) is asked on the
    page, every problem at once; a form loaded before someone else's step is refused (409)."""
    found = services.get_candidate(candidate_id)
    policy.authorize(
        policy.can_edit_candidate(current_user, found),
        "只有负责培育的联络员、本科室人员或管理员可以记录。",
    )
    form = StepForm(candidate=found)
    step = form.step()
    if not form.validate_on_submit() or step is None:
        return _page(found, form, 400)
    before = found.stage
    refused = save_step(
        form,
        lambda: services.record(current_user, found, step),
        reload=lambda: services.get_candidate(candidate_id),
        show=_page,
        fresh=_fresh_form,
        default="kind",
    )
    if refused is not None:
        return refused
    flash(_said(found, step.kind, before), "success")
    return redirect(url_for("cultivation.candidate", candidate_id=found.id))


def _said(found: Candidate, kind: StepKind, before: PoolStage) -> str:
    if kind == StepKind.GRANTED and found.recognition is not None:
        granted = found.recognition
        year = granted.granted_on.year
        return f"已记录认定（证书 {granted.certificate_no}），计入 {year} 年度目标。"
    moved = f"，进入“{found.stage.label}”阶段" if found.stage != before else ""
    return f"已记录“{kind.label}”{moved}。"
