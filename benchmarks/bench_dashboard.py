"""Dashboard and pipeline speed with a county's worth of records, on SQLite and PostgreSQL.

Generates 10,000 enterprises in 7 departments and 11 industries, with 50,000 visits by 30
officers, 20,000 needs, 20,000 suggestions, 3,000 cooperation records with their stage
history, 2,000 recognitions, 10,000 yearly figures, 12 events, 5,000 科技项目 (with their
history, at every stage and level, over 12 programmes), 300 institution branches, 1,000
firms founded on an achievement, a 培育库 of 2,000 candidates and this year's targets split
across the departments — written with Core, as an import would. Then times whole requests
through the app (test client, signed in): /dashboard, /targets, /pipeline, /projects,
/projects/calendar. Target: the dashboard ≤ 300 ms server time. The same run on the other
backend is the peer.

    .venv/bin/python -m benchmarks.bench_dashboard [--database-url postgresql://…] [--rounds 15]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from crm import create_app
from crm.auth import services as auth
from crm.auth.models import Department, Role
from crm.cooperation.models import Cooperation, Stage, StageChange
from crm.cultivation.models import Candidate, PoolStage
from crm.db import utcnow
from crm.enterprises.models import (
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_founding,
    enterprise_industry,
)
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.institutions.models import Achievement, Branch, Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need
from crm.projects.models import Level, Programme, Project, ProjectStageChange
from crm.targets.metrics import METRICS
from crm.targets.models import Target, TargetShare
from crm.visits.models import Visit

PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away benchmark account
FLOW = [Stage.INTENT, Stage.NEGOTIATION, Stage.SIGNED, Stage.IMPLEMENTATION, Stage.ACCEPTANCE]


def generate(year: int, seed: int = 3) -> None:
    rnd = random.Random(seed)
    now = utcnow()
    stamp = {"created_at": now, "updated_at": now, "version": 1}
    departments = [Department(name=f"测试科室{i}") for i in range(7)]
    industries = [Industry(code=f"b{i}", name=f"行业{i}" if i else "电机") for i in range(11)]
    db.session.add_all(departments + industries)
    db.session.flush()
    officers = [
        auth.create_user(
            auth.UserData(
                f"officer{i}", f"联络员{i}", Role.OFFICER, PASSWORD, departments[i % 7].name
            )
        )
        for i in range(30)
    ]
    auth.create_user(auth.UserData("bench", "压测", Role.ADMIN, PASSWORD))
    insts = [Institution(name=f"院所{i}", kind=InstitutionKind.UNIVERSITY) for i in range(40)]
    db.session.add_all(insts)
    db.session.flush()
    run = db.session.execute
    run(
        sa.insert(Researcher.__table__),
        [
            {"name": f"专家{i}", "institution_id": rnd.choice(insts).id, **stamp}
            for i in range(2000)
        ],
    )
    run(
        sa.insert(Enterprise.__table__),
        [
            {
                "name": f"测试企业{i:05d}有限公司",
                "department_id": rnd.choice(departments).id,
                "owner_id": rnd.choice(officers).id,
                "is_above_scale": i % 3 == 0,
                **stamp,
            }
            for i in range(10_000)
        ],
    )
    ents = list(db.session.scalars(sa.select(Enterprise.id)))
    researchers = list(db.session.scalars(sa.select(Researcher.id)))
    run(
        sa.insert(enterprise_industry),
        [{"enterprise_id": e, "industry_id": rnd.choice(industries).id} for e in ents],
    )
    start = date(year, 1, 1)

    def day() -> date:
        return start + timedelta(days=rnd.randrange(330))

    run(
        sa.insert(Visit.__table__),
        [
            {
                "enterprise_id": rnd.choice(ents),
                "officer_id": rnd.choice(officers).id,
                "visited_on": day(),
                **stamp,
            }
            for _ in range(50_000)
        ],
    )
    run(
        sa.insert(Need.__table__),
        [
            {"enterprise_id": rnd.choice(ents), "title": f"需求{i}", "status": "open", **stamp}
            for i in range(20_000)
        ],
    )
    needs = list(db.session.scalars(sa.select(Need.id)))
    picked = rnd.sample(needs, 10_000)
    run(
        sa.insert(Suggestion.__table__),
        [
            {
                "need_id": n,
                "researcher_id": r,
                "score": 1.0,
                "matched_terms": [],
                "adjustments": [],
                "status": "accepted" if k % 7 == 0 else "new",
                **stamp,
            }
            for k, n in enumerate(picked)
            for r in rnd.sample(researchers, 2)
        ],
    )
    accepted = list(
        db.session.scalars(sa.select(Suggestion).where(Suggestion.status == "accepted"))
    )
    coops, changes = [], []
    for k in range(3000):
        steps = FLOW[: rnd.randint(1, 5)]
        when = sorted(day() for _ in steps)
        coop = {
            "title": f"合作{k}",
            "enterprise_id": rnd.choice(ents),
            "researcher_id": rnd.choice(researchers),
            "institution_id": rnd.choice(insts).id,
            "type": rnd.choice(["development", "transfer", "license", "joint_rnd_centre"]),
            "stage": steps[-1].value,
            "stage_changed_on": when[-1],
            "signed_on": when[2] if len(steps) > 2 else None,
            "officer_id": rnd.choice(officers).id,
            "origin": "manual",
            "suggestion_id": accepted[k].id if k < len(accepted) else None,
            **stamp,
        }
        coops.append(coop)
        changes.append([(s.value, w) for s, w in zip(steps, when, strict=True)])
    run(sa.insert(Cooperation.__table__), coops)
    ids = list(db.session.scalars(sa.select(Cooperation.id).order_by(Cooperation.id)))
    run(
        sa.insert(StageChange.__table__),
        [
            {"cooperation_id": c, "to_stage": s, "changed_on": w, "changed_at": now}
            for c, history in zip(ids, changes, strict=True)
            for s, w in history
        ],
    )
    kinds = list(RecognitionKind)
    run(
        sa.insert(Recognition.__table__),
        [
            {"enterprise_id": e, "kind": rnd.choice(kinds).value, "granted_on": day(), **stamp}
            for e in rnd.sample(ents, 2000)
        ],
    )
    run(
        sa.insert(EnterpriseYear.__table__),
        [
            {
                "enterprise_id": e,
                "year": year,
                "above_scale": True,
                "revenue": Decimal(rnd.randint(1, 900)) * 10**6,
                "rnd_spend": Decimal(rnd.randint(1, 30)) * 10**5,
                "industrial_output": Decimal(rnd.randint(1, 900)) * 10**6,
                "hitech_output": Decimal(rnd.randint(0, 300)) * 10**6,
                **stamp,
            }
            for e in ents
        ],
    )
    events = [
        Event(kind=rnd.choice(list(EventKind)), title=f"活动{i}", starts_on=day())
        for i in range(12)
    ]
    db.session.add_all(events)
    db.session.flush()
    run(
        sa.insert(EventParticipant.__table__),
        [
            {"event_id": ev.id, "enterprise_id": e, "created_at": now, "updated_at": now}
            for ev in events
            for e in rnd.sample(ents, 40)
        ],
    )
    _projects_and_more(rnd, year, run, stamp, now, ents, insts, officers, day)
    for metric in METRICS:
        target = Target(year=year, metric=metric.code, value=Decimal(rnd.randint(5, 50)))
        target.shares = [TargetShare(department_id=d.id, value=Decimal(1)) for d in departments]
        db.session.add(target)
    db.session.commit()


PROJECT_FLOW = ["applying", "recommended", "approved", "midterm", "accepted"]


def _projects_and_more(rnd, year, run, stamp, now, ents, insts, officers, day) -> None:  # noqa: ANN001, PLR0913
    """5,000 projects with their history, 300 branches, 1,000 firms founded on an achievement,
    2,000 candidates in the pool."""
    levels = [lv.value for lv in Level]
    programmes = [
        Programme(name=f"计划{i}", level=Level(levels[i % 4]), deadline=date(year, 12, 1 + i))
        for i in range(12)
    ]
    db.session.add_all(programmes)
    db.session.flush()
    rows, histories = [], []
    for k in range(5000):
        programme = rnd.choice(programmes)
        ended = rnd.random()
        steps = PROJECT_FLOW[: rnd.randint(1, 5)]
        if ended < 0.1 and len(steps) <= 2:
            steps = [*steps, "rejected"]
        elif ended < 0.15 and len(steps) >= 3:
            steps = [*steps[:3], "terminated"]
        when = sorted(day() for _ in steps)
        approved = "approved" in steps
        rows.append(
            {
                "title": f"项目{k}",
                "number": f"B{k:06d}" if approved else None,
                "enterprise_id": rnd.choice(ents),
                "programme_id": programme.id,
                "level": programme.level.value,
                "year": year,
                "grant_amount": Decimal(rnd.randint(10, 300)) * 10**4,
                "applied_on": when[0],
                "approved_on": when[steps.index("approved")] if approved else None,
                "stage": steps[-1],
                "stage_changed_on": when[-1],
                "end_reason": "原因" if steps[-1] in ("rejected", "terminated") else None,
                "officer_id": rnd.choice(officers).id,
                **stamp,
            }
        )
        histories.append(list(zip(steps, when, strict=True)))
    run(sa.insert(Project.__table__), rows)
    ids = list(db.session.scalars(sa.select(Project.id).order_by(Project.id)))
    run(
        sa.insert(ProjectStageChange.__table__),
        [
            {"project_id": p, "to_stage": s, "changed_on": w, "changed_at": now}
            for p, history in zip(ids, histories, strict=True)
            for s, w in history
        ],
    )
    run(
        sa.insert(Branch.__table__),
        [
            {
                "name": f"分支{k}",
                "kind": "branch",
                "institution_id": rnd.choice(insts).id,
                "host_enterprise_id": rnd.choice(ents) if k % 4 else None,
                "host_place": None if k % 4 else "经济开发区",
                "established_on": day(),
                **stamp,
            }
            for k in range(300)
        ],
    )
    achievements = [Achievement(title=f"成果{k}") for k in range(200)]
    db.session.add_all(achievements)
    db.session.flush()
    founded = rnd.sample(ents, 1000)
    db.session.execute(
        sa.update(Enterprise).where(Enterprise.id.in_(founded)).values(founded_on=date(year, 3, 1))
    )
    run(
        sa.insert(enterprise_founding),
        [{"enterprise_id": e, "achievement_id": rnd.choice(achievements).id} for e in founded],
    )
    kinds = [k.value for k in RecognitionKind]
    stages = [s.value for s in PoolStage if s != PoolStage.GRANTED]
    run(
        sa.insert(Candidate.__table__),
        [
            {
                "enterprise_id": e,
                "kind": rnd.choice(kinds),
                "year": year,
                "stage": rnd.choice(stages),
                "officer_id": rnd.choice(officers).id,
                **stamp,
            }
            for e in rnd.sample(ents, 2000)
        ],
    )


def timed(app: Flask, paths: list[str], rounds: int) -> dict[str, list[float]]:
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": PASSWORD})
    out: dict[str, list[float]] = {}
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        out[path] = samples
    return out


def measure(url: str, year: int, rounds: int) -> dict[str, list[float]]:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "dash" * 10,
            "WTF_CSRF_ENABLED": False,
            "EMBEDDER": False,  # the page alone, not a background pass over 2,000 new experts
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        generate(year)
        db.session.execute(sa.text("ANALYZE"))  # statistics, as a database in use has them
        db.session.commit()
        print(f"{url.split(':')[0]}: data generated in {time.perf_counter() - started:.1f} s")
        db.session.remove()
    paths = [
        f"/dashboard?year={year}",
        f"/targets?year={year}",
        "/pipeline",
        "/projects",
        f"/projects?level=provincial&stage=approved&year={year}",
        "/projects/calendar",
    ]
    result = timed(app, paths, rounds)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", help="PostgreSQL database to fill (emptied first: give a throw-away one)"
    )
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    year = date.today().year
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs["SQLite"] = measure(f"sqlite:///{tmp}/dash.sqlite3", year, args.rounds)
    if args.database_url:
        runs["PostgreSQL"] = measure(args.database_url, year, args.rounds)
    for backend, result in runs.items():
        for path, samples in result.items():
            ordered = sorted(samples)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(
                f"{backend:<10} {path:<48} p50 {statistics.median(samples):7.1f} ms  "
                f"p95 {p95:7.1f} ms" + ("  (target <= 300 ms)" if "dashboard" in path else "")
            )


if __name__ == "__main__":
    main()
