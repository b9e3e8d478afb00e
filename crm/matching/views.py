"""生成匹配 on a need, and the officer's decision on each suggestion."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm import policy, submissions
from crm.enterprises.models import Enterprise
from crm.enterprises.services import get_enterprise
from crm.errors import Conflict, ValidationError
from crm.extensions import db
from crm.matching import decisions, embedder, runs, services, suggestions
from crm.matching import thesaurus as thesaurus_service
from crm.matching.forms import DecideForm, ThesaurusForm
from crm.matching.models import MatchRun, Suggestion, SuggestionStatus, ThesaurusEntry
from crm.matching.queries import build_query, widen
from crm.needs.services import NeedData, create_need, get_need
from crm.policy import Level, access
from crm.queries import get_live
from crm.search.services import highlight
from crm.submissions import OnceForm
from crm.web import id_arg, save_form, version_arg

bp = Blueprint("matching", __name__)


@bp.route("/needs/<int:record_id>/match", methods=["POST"])
@access(Level.OFFICER)
def generate(record_id: int) -> Response:
    """Match the need now and keep the best candidates as suggestions."""
    need = get_need(record_id)
    if FlaskForm().validate_on_submit():
        result = suggestions.generate(current_user, need)
        db.session.commit()
        if result.added or result.refreshed:
            message = f"已生成匹配：新增 {result.added} 条推荐，更新 {result.refreshed} 条。"
        elif result.kept:
            message = f"推荐已是最新：{result.kept} 条推荐没有变化。"
        else:
            message = "没有找到匹配对象：可以换个说法补充需求描述，或请管理员补充同义词表。"
        flash(message, "success" if result.added or result.refreshed or result.kept else "info")
    return redirect(url_for("needs.detail", record_id=need.id, _anchor="suggestions"))


@bp.route("/enterprises/<int:enterprise_id>/match", methods=["POST"])
@access(Level.OFFICER)
def generate_for_enterprise(enterprise_id: int) -> Response:
    """生成匹配 for all of an enterprise's open needs."""
    ent = get_enterprise(enterprise_id)
    if FlaskForm().validate_on_submit():
        result = suggestions.generate_for_enterprise(current_user, ent.id)
        db.session.commit()
        flash(f"已为该企业的待匹配需求生成推荐：新增 {result.added} 条。", "success")
    return redirect(url_for("enterprises.detail", enterprise_id=ent.id, _anchor="ent-suggestions"))


@bp.route("/suggestions/<int:suggestion_id>/decide", methods=["POST"])
@access(Level.OFFICER)
def decide(suggestion_id: int) -> Response:
    """已联系 / 采纳 (→ 合作意向) / 否决 with a reason."""
    suggestion = get_live(Suggestion, suggestion_id)  # not of a deleted firm's need
    form = DecideForm()
    back = url_for("needs.detail", record_id=suggestion.need_id, _anchor="suggestions")
    if not form.validate_on_submit():
        flash("请求无效，请刷新页面后重试。", "warning")
        return redirect(back)
    status = SuggestionStatus(form.status.data)
    try:
        lead = decisions.decide(
            current_user,
            suggestion,
            status,
            int(form.version.data),
            form.reason.data or None,
            form.note.data,
        )
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(back)
    db.session.commit()
    if lead is not None:
        flash(f"已采纳，合作意向“{lead.title}”已进入合作管道。", "success")
    else:
        flash(f"已标记为“{status.label}”。", "success")
    return redirect(back)


QUICK_LIMIT = 500  # characters of a typed need


def _my_enterprises() -> list[Enterprise]:
    """What a quick match can be saved to: the officer's own and department's enterprises."""
    stmt = (
        sa.select(Enterprise)
        .where(Enterprise.deleted_at.is_(None), policy.editable_enterprises(current_user))
        .order_by(Enterprise.name_sort)
    )
    return list(db.session.scalars(stmt.limit(500)))


@bp.route("/match")
@access(Level.SIGNED_IN)
def quick() -> str:
    """Type a need during a visit, see candidates at once, save it as a need in one tap."""
    q = (request.args.get("q") or "").strip()[:QUICK_LIMIT]
    found = services.match_text(q, top=15) if q else []
    return render_template(
        "matching/quick.html",
        q=q,
        found=found,
        enterprises=_my_enterprises() if policy.can_write(current_user) else [],
        enterprise_id=id_arg("enterprise"),
        highlight=highlight,
        submission_key=submissions.new_key(),
    )


@bp.route("/match/save", methods=["POST"])
@access(Level.OFFICER)
def save_quick() -> Response:
    """The typed text becomes a need of the chosen enterprise, matched at once."""
    q = (request.form.get("q") or "").strip()[:QUICK_LIMIT]
    enterprise_id = id_arg("enterprise", request.form)
    form = OnceForm()
    if not form.validate_on_submit() or not q or not enterprise_id:
        flash("请先输入需求并选择企业。", "warning")
        return redirect(url_for("matching.quick", q=q))
    claimed = submissions.claim(form, current_user.id)  # a double tap saves one need
    enterprise = get_enterprise(enterprise_id)
    title = q.splitlines()[0][:60]
    need = create_need(current_user, enterprise, NeedData(title=title, description=q))
    suggestions.generate(current_user, need)
    target = url_for("needs.detail", record_id=need.id, _anchor="suggestions")
    submissions.fulfil(claimed, target)
    db.session.commit()
    flash("已保存为技术需求，并生成了匹配推荐。", "success")
    return redirect(target)


# ---- the industry thesaurus (admins) ----------------------------------------------------------


@bp.route("/admin/thesaurus", methods=["GET", "POST"])
@access(Level.ADMIN)
def thesaurus() -> Response | tuple[str, int]:
    """The thesaurus lines, a form to add one, and a box to try how a sentence expands."""
    form = ThesaurusForm()
    tried = request.args.get("try", "").strip()[:200]
    expansion = []
    if tried:
        query = widen(build_query(tried), services.current_index())
        expansion = sorted(
            ((term, weight, query.via.get(term)) for term, weight in query.weights.items()),
            key=lambda t: (t[2] is None, -t[1]),
        )
    return save_form(
        form,
        lambda: thesaurus_service.create(current_user, _entry_data(form)),
        template="matching/thesaurus.html",
        done=lambda _entry: url_for("matching.thesaurus"),
        success=lambda entry: f"已添加：{entry.line}",
        default_field="spoken",
        entries=thesaurus_service.entries(),
        tried=tried,
        expansion=expansion,
    )


@bp.route("/admin/thesaurus/<int:entry_id>", methods=["GET", "POST"])
@access(Level.ADMIN)
def thesaurus_entry(entry_id: int) -> Response | tuple[str, int]:
    entry = db.get_or_404(ThesaurusEntry, entry_id)
    form = ThesaurusForm(obj=entry if request.method == "GET" else None)
    return save_form(
        form,
        lambda: thesaurus_service.update(
            current_user, entry, _entry_data(form), int(form.version.data or 0)
        ),
        template="matching/thesaurus_entry.html",
        done=lambda _entry: url_for("matching.thesaurus"),
        success=lambda saved: f"已保存：{saved.line}",
        default_field="spoken",
        record=entry,
        conflict=lambda: _entry_data(form),
        entry=entry,
        delete_form=FlaskForm(),
    )


@bp.route("/admin/thesaurus/<int:entry_id>/delete", methods=["POST"])
@access(Level.ADMIN)
def delete_thesaurus_entry(entry_id: int) -> Response:
    entry = db.get_or_404(ThesaurusEntry, entry_id)
    if FlaskForm().validate_on_submit():
        line = entry.line
        try:
            thesaurus_service.delete(current_user, entry, version_arg())
        except Conflict:
            db.session.rollback()
            flash("这一条已被他人修改，请核对后再删除。", "warning")
            return redirect(url_for("matching.thesaurus_entry", entry_id=entry_id))
        db.session.commit()
        flash(f"已删除：{line}", "success")
    return redirect(url_for("matching.thesaurus"))


def _entry_data(form: ThesaurusForm) -> thesaurus_service.EntryData:
    return thesaurus_service.EntryData(form.spoken.data, form.experts.data, form.note.data)


# ---- batch matching from the web (admins) -----------------------------------------------------


@bp.route("/admin/matching")
@access(Level.ADMIN)
def runs_page() -> str:
    """批量匹配: start a run for every open need and watch it; and how far the records'
    vectors are (semantic matching), or why matching runs on keywords alone here."""
    return render_template(
        "matching/runs.html",
        runs=runs.latest(),
        going=runs.running(),
        form=FlaskForm(),
        semantic=embedder.status(),
    )


@bp.route("/admin/matching/vectors.json")
@access(Level.ADMIN)
def vectors_status() -> Response:
    """What the page polls while records wait for their vectors."""
    return jsonify(embedder.status().as_dict())


@bp.route("/admin/matching/vectors", methods=["POST"])
@access(Level.ADMIN)
def start_embedding() -> Response:
    """Embed every waiting record now, in a process of its own using every core."""
    if FlaskForm().validate_on_submit():
        state = embedder.status()
        if state.unavailable:
            flash(f"语义模型不可用：{state.unavailable}", "warning")
        elif state.working:
            flash("向量正在计算中，请稍候。", "info")
        elif not state.pending:
            flash("所有记录的向量都已是最新的。", "info")
        else:
            embedder.launch()
            flash(f"已开始为 {state.pending} 条记录计算向量。", "success")
    return redirect(url_for("matching.runs_page"))


@bp.route("/admin/matching/start", methods=["POST"])
@access(Level.ADMIN)
def start_run() -> Response:
    if FlaskForm().validate_on_submit():
        try:
            run = runs.start(current_user)
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            runs.launch(run, current_user)
            flash(f"已开始为 {run.total} 条待匹配需求生成推荐。", "success")
    return redirect(url_for("matching.runs_page"))


@bp.route("/admin/matching/runs/<int:run_id>.json")
@access(Level.ADMIN)
def run_status(run_id: int) -> Response:
    """What the page polls while a run goes on."""
    run = db.get_or_404(MatchRun, run_id)
    return jsonify(
        id=run.id,
        status=run.status.value,
        label=run.status.label,
        done=run.done,
        total=run.total,
        percent=run.percent,
        added=run.added,
        refreshed=run.refreshed,
        kept=run.kept,
        message=run.message,
    )
