"""The demo county: fictional firms, people, visits, needs, suggestions, cooperation at every
stage and events, at real institutions, dated relative to `today` so the dashboard is alive.
Its projects, branches, founded firms and cultivation pool are loaded by `demo_outcomes`."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm.auth import services as auth_services
from crm.auth.models import Department, Role, User
from crm.cooperation.models import Cooperation, CooperationType, Origin, Stage, StageChange
from crm.db import utcnow
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    Town,
)
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.institutions.models import Achievement, Institution, Maturity, Researcher, TransferMode
from crm.matching.models import Suggestion, SuggestionStatus
from crm.needs.models import Need, NeedStatus
from crm.seed import demo_outcomes
from crm.seed.services import Loader, load_institutions, load_reference, money, read_csv
from crm.targets.metrics import BY_CODE
from crm.targets.models import Target, TargetShare
from crm.visits.models import Task, Visit

logger = logging.getLogger(__name__)


def load_demo(today: date) -> Loader:
    """The fictional demo data set; dates in the files are days before `today`."""
    loader = load_reference()
    ago = lambda days: today - timedelta(days=int(days))  # noqa: E731
    d = "demo/"

    for row in read_csv(d + "departments.csv"):
        loader.ensure(Department, {"name": row["name"]}, kind=row["kind"])
    for row in read_csv(d + "users.csv"):
        if auth_services.get_user(row["username"]) is None:
            auth_services.create_user(
                auth_services.UserData(
                    row["username"],
                    row["display_name"],
                    Role(row["role"]),
                    secrets.token_urlsafe(16),  # set a real one with `crm user password NAME`
                    row["department"],
                )
            )
            loader.created["user"] += 1

    def user(username: str) -> User:
        return loader.need(User, username=username)

    load_institutions(loader, d + "institutions.csv")

    for row in read_csv(d + "researchers.csv"):
        inst = loader.need(Institution, name=row["institution"])
        loader.ensure(
            Researcher,
            {"name": row["name"], "institution_id": inst.id},
            title=row["title"] or None,
            research_directions=row["research_directions"] or None,
            bio=row["bio"] or None,
            team=row["team"] or None,
        )

    for row in read_csv(d + "achievements.csv"):
        inst = loader.need(Institution, name=row["institution"])
        person = loader.find(Researcher, name=row["researcher"], institution_id=inst.id)
        loader.ensure(
            Achievement,
            {"title": row["title"]},
            institution=inst,
            researcher=person,
            maturity=Maturity(row["maturity"]),
            transfer_mode=TransferMode(row["transfer_mode"]),
            description=row["description"] or None,
        )

    for row in read_csv(d + "enterprises.csv"):
        owner = user(row["owner"])
        ent, created = loader.ensure(
            Enterprise,
            {"name": row["name"]},
            uscc=row["uscc"] or None,
            town=loader.need(Town, name=row["town"]),
            main_products=row["main_products"] or None,
            is_above_scale=row["is_above_scale"] == "1",
            owner=owner,
            department=loader.need(Department, name=row["department"]),
            address=row["address"] or None,
            notes=row["notes"] or None,
        )
        if created:
            ent.industries = [loader.need(Industry, code=c) for c in row["industries"].split("|")]

    def enterprise(name: str) -> Enterprise:
        return loader.need(Enterprise, name=name)

    figures = read_csv(d + "enterprise_years.csv")
    # the file's latest year is this year: the ratios of this year's targets have figures
    shift = today.year - max((int(row["year"]) for row in figures), default=today.year)
    for row in figures:
        loader.ensure(
            EnterpriseYear,
            {"enterprise_id": enterprise(row["enterprise"]).id, "year": int(row["year"]) + shift},
            above_scale=row["above_scale"] == "1",
            revenue=money(row["revenue"]),
            rnd_spend=money(row["rnd_spend"]),
            industrial_output=money(row["industrial_output"]),
            hitech_output=money(row["hitech_output"]),
        )

    for row in read_csv(d + "recognitions.csv"):
        loader.ensure(
            Recognition,
            {
                "enterprise_id": enterprise(row["enterprise"]).id,
                "kind": RecognitionKind(row["kind"]),
                "granted_on": ago(row["days_ago"]),
            },
            certificate_no=row["certificate_no"] or None,
        )

    for row in read_csv(d + "contacts.csv"):
        org = loader.find(Enterprise, name=row["organisation"])
        inst = None if org else loader.need(Institution, name=row["organisation"])
        keys = {"name": row["name"], "enterprise_id": org.id if org else None}
        keys["institution_id"] = inst.id if inst else None
        loader.ensure(
            Contact,
            keys,
            position=row["position"] or None,
            phone=row["phone"] or None,
            email=row["email"] or None,
        )

    visits_by_enterprise: dict[int, Visit] = {}
    for row in read_csv(d + "visits.csv"):
        ent = enterprise(row["enterprise"])
        officer = user(row["officer"])
        visit, created = loader.ensure(
            Visit,
            {"enterprise_id": ent.id, "officer_id": officer.id, "visited_on": ago(row["days_ago"])},
            notes=row["notes"] or None,
            next_steps=row["next_steps"] or None,
        )
        if created and row["companions"]:
            visit.companions = [user(u) for u in row["companions"].split("|")]
        visits_by_enterprise.setdefault(ent.id, visit)

    for row in read_csv(d + "needs.csv"):
        ent = enterprise(row["enterprise"])
        loader.ensure(
            Need,
            {"enterprise_id": ent.id, "title": row["title"]},
            description=row["description"] or None,
            budget=money(row["budget"]),
            status=NeedStatus(row["status"]),
            visit=visits_by_enterprise.get(ent.id),
        )

    for row in read_csv(d + "tasks.csv"):
        assignee = user(row["assignee"])
        loader.ensure(
            Task,
            {"title": row["title"], "assignee_id": assignee.id},
            due_on=today + timedelta(days=int(row["due_in_days"])),
            enterprise=enterprise(row["enterprise"]) if row["enterprise"] else None,
            done_at=utcnow() if row["done"] == "1" else None,
        )

    for row in read_csv(d + "events.csv"):
        starts = ago(row["days_ago"])
        event, created = loader.ensure(
            Event,
            {"title": row["title"]},
            kind=EventKind(row["kind"]),
            starts_on=starts,
            ends_on=starts + timedelta(days=int(row["duration_days"] or 0)),
            place=row["place"] or None,
            description=row["description"] or None,
        )
        if created:
            _add_event_participants(event, row, loader)

    for row in read_csv(d + "cooperations.csv"):
        _load_cooperation(row, loader, ago)

    demo_outcomes.load_projects(loader, today, ago)
    demo_outcomes.load_branches_and_founded_firms(loader, ago)
    demo_outcomes.load_pool(loader, today, ago)

    for row in read_csv(d + "targets.csv"):
        if row["metric"] not in BY_CODE:
            raise LookupError(f"unknown target metric {row['metric']!r} in targets.csv")
        target, created = loader.ensure(
            Target, {"year": today.year, "metric": row["metric"]}, value=Decimal(row["value"])
        )
        if created:
            for share in filter(None, row["shares"].split("|")):
                dept_name, value = share.rsplit(":", 1)
                target.shares.append(
                    TargetShare(
                        department=loader.need(Department, name=dept_name), value=Decimal(value)
                    )
                )
    db.session.flush()
    logger.info("Demo data loaded: %s", dict(loader.created) or "nothing new")
    return loader


def _add_event_participants(event: Event, row: dict[str, str], loader: Loader) -> None:
    industry = loader.need(Industry, code=row["participant_industry"])
    enterprises = db.session.scalars(
        sa.select(Enterprise)
        .where(Enterprise.industries.contains(industry))
        .order_by(Enterprise.id)
        .limit(8)
    )
    for ent in enterprises:
        event.participants.append(EventParticipant(enterprise=ent))
    for name in filter(None, row["participant_institutions"].split("|")):
        inst = loader.need(Institution, name=name)
        event.participants.append(EventParticipant(institution=inst))
        for person in inst.researchers[:4]:
            event.participants.append(EventParticipant(researcher=person))


def _load_cooperation(row: dict[str, str], loader: Loader, ago: Any) -> None:
    history = [tuple(step.split(":")) for step in row["history"].split("|")]
    final = Stage(history[-1][0])
    inst = loader.need(Institution, name=row["institution"])
    person = (
        loader.find(Researcher, name=row["researcher"], institution_id=inst.id)
        if row["researcher"]
        else None
    )
    coop, created = loader.ensure(
        Cooperation,
        {
            "title": row["title"],
            "enterprise_id": loader.need(Enterprise, name=row["enterprise"]).id,
        },
        institution=inst,
        researcher=person,
        type=CooperationType(row["type"]),
        amount=money(row["amount"]),
        stage=final,
        stage_changed_on=ago(history[-1][1]),
        signed_on=ago(row["signed_days_ago"]) if row["signed_days_ago"] else None,
        parties=row["parties"] or None,
        contract_no=row["contract_no"] or None,
        termination_reason=row["termination_reason"] or None,
        officer=loader.need(User, username=row["officer"]),
        origin=Origin(row["origin"]),
        achievement=loader.find(Achievement, title=row["achievement"])
        if row["achievement"]
        else None,
    )
    if created and coop.origin == Origin.SUGGESTION:
        _link_suggestion(coop, ago(history[0][1]))
    if created:
        previous: Stage | None = None
        for stage_code, days in history:
            stage = Stage(stage_code)
            coop.history.append(
                StageChange(from_stage=previous, to_stage=stage, changed_on=ago(days))
            )
            previous = stage


def _link_suggestion(coop: Cooperation, decided_on: Any) -> None:
    """A lead that came from a match suggestion: the accepted suggestion on one of the
    enterprise's needs (the need is marked 已匹配), so the funnel has its history."""
    need = db.session.scalars(
        sa.select(Need).where(Need.enterprise_id == coop.enterprise_id).order_by(Need.id).limit(1)
    ).first()
    if need is None:
        return
    column = (
        {"researcher_id": coop.researcher_id}
        if coop.researcher_id
        else {"institution_id": coop.institution_id}
    )
    suggestion = db.session.scalars(
        sa.select(Suggestion).filter_by(need_id=need.id, **column)
    ).first() or Suggestion(need_id=need.id, score=1.0, **column)
    suggestion.status = SuggestionStatus.ACCEPTED
    suggestion.decided_by_id = coop.officer_id
    suggestion.decided_at = datetime.combine(decided_on, time(9), tzinfo=UTC)
    db.session.add(suggestion)
    db.session.flush()
    coop.suggestion_id = suggestion.id
    if need.status == NeedStatus.OPEN:
        need.status = NeedStatus.MATCHED
