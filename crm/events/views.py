"""对接会: events, the proposed one-on-one schedule (printable), edits, and outcomes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm.enterprises.models import Industry
from crm.errors import ValidationError
from crm.events import services
from crm.events.forms import EventForm
from crm.events.models import EventKind, EventPairing, EventParticipant, PairingOutcome
from crm.extensions import db
from crm.institutions.models import Institution
from crm.policy import Level, access
from crm.queries import get_live
from crm.web import run_action, save_form

bp = Blueprint("events", __name__)


@bp.route("/events")
@access(Level.SIGNED_IN)
def index() -> str:
    return render_template("events/index.html", events=services.list_events())


@bp.route("/events/<int:event_id>")
@access(Level.SIGNED_IN)
def detail(event_id: int) -> str:
    event = services.get_event(event_id)
    meetings = services.pairings(event)
    rounds: dict[datetime, list[EventPairing]] = {}
    for p in meetings:
        rounds.setdefault(p.slot_starts_at, []).append(p)
    return render_template(
        "events/detail.html",
        industries=db.session.scalars(sa.select(Industry).order_by(Industry.sort_order)).all(),
        institutions=db.session.scalars(
            sa.select(Institution)
            .where(Institution.deleted_at.is_(None))
            .order_by(Institution.name_sort)
        ).all(),
        event=event,
        people=services.participants(event),
        rounds=rounds,
        outcomes=PairingOutcome,
        form=FlaskForm(),
        zone=ZoneInfo(current_app.config["TIMEZONE"]),
    )


def _local(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("时间格式不对。") from None
    return moment.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _int(name: str, default: int = 0) -> int:
    """A small count from the form (tables, minutes): the default when it is not one."""
    value = request.form.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else default


@bp.route("/events/<int:event_id>/schedule", methods=["POST"])
@access(Level.OFFICER)
def schedule(event_id: int) -> Response:
    """Propose the schedule: best pairs first, nobody double-booked."""
    event = services.get_event(event_id)

    def propose() -> tuple[int, int]:
        slots = services.Slots(
            _local(request.form.get("starts_at", "")),
            _int("minutes"),
            _int("count"),
            _int("tables"),
        )
        return services.propose(current_user, event, slots)

    run_action(
        propose,
        lambda made: (
            f"已排出 {made[0]} 场一对一对接"
            + (f"；另有 {made[1]} 对因时间或桌位不够未能安排。" if made[1] else "。")
        ),
    )
    return redirect(url_for("events.detail", event_id=event.id, _anchor="schedule"))


@bp.route("/events/pairings/<int:pairing_id>/move", methods=["POST"])
@access(Level.OFFICER)
def move(pairing_id: int) -> Response:
    pairing = get_live(EventPairing, pairing_id)
    run_action(
        lambda: services.move(
            current_user, pairing, _local(request.form.get("slot", "")), _int("table_no")
        ),
        "已调整。",
    )
    return redirect(url_for("events.detail", event_id=pairing.event_id, _anchor="schedule"))


@bp.route("/events/pairings/<int:pairing_id>/outcome", methods=["POST"])
@access(Level.OFFICER)
def outcome(pairing_id: int) -> Response:
    """After the event: what the meeting led to."""
    pairing = get_live(EventPairing, pairing_id)
    if FlaskForm().validate_on_submit():
        try:
            result = PairingOutcome(request.form.get("outcome", ""))
            made = services.record_outcome(current_user, pairing, result, request.form.get("note"))
        except ValueError:
            flash("请选择对接结果。", "warning")
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            db.session.commit()
            flash(
                {
                    PairingOutcome.LEAD: "已登记，并转为合作意向。",
                    PairingOutcome.FOLLOW_UP: "已登记，并生成跟进待办。",
                }.get(result, "已登记。"),
                "success",
            )
            if result == PairingOutcome.LEAD:
                return redirect(url_for("cooperation.detail", coop_id=made.id))
    return redirect(url_for("events.detail", event_id=pairing.event_id, _anchor="schedule"))


@bp.route("/events/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def create() -> Response | tuple[str, int]:
    form = EventForm()
    return save_form(
        form,
        lambda: services.create_event(
            current_user,
            services.EventData(
                EventKind(form.kind.data),
                form.title.data,
                form.starts_on.data,
                form.ends_on.data,
                form.place.data,
                form.description.data,
            ),
        ),
        template="events/form.html",
        done=lambda event: url_for("events.detail", event_id=event.id),
        success="已登记活动，请添加参会企业和专家。",
        default_field="title",
    )


@bp.route("/events/<int:event_id>/participants", methods=["POST"])
@access(Level.OFFICER)
def add_participants(event_id: int) -> Response:
    event = services.get_event(event_id)
    run_action(
        lambda: services.add_participants(
            current_user,
            event,
            enterprise_name=request.form.get("enterprise_name"),
            industry_id=_int("industry_id") or None,
            expert_name=request.form.get("expert_name"),
            institution_id=_int("institution_id") or None,
        ),
        lambda added: f"已添加 {added} 位参会者。" if added else "没有新的参会者（已在名单中）。",
    )
    return redirect(url_for("events.detail", event_id=event.id, _anchor="people"))


@bp.route("/events/participants/<int:participant_id>/delete", methods=["POST"])
@access(Level.OFFICER)
def remove_participant(participant_id: int) -> Response:
    participant = get_live(EventParticipant, participant_id)
    event_id = participant.event_id
    if FlaskForm().validate_on_submit():
        services.remove_participant(current_user, participant)
        db.session.commit()
    return redirect(url_for("events.detail", event_id=event_id, _anchor="people"))
