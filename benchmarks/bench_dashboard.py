"""Dashboard and pipeline speed with a county's worth of records, on SQLite and PostgreSQL.

Generates 10,000 enterprises in 7 departments and 11 industries, with 50,000 visits by 30
officers, 20,000 needs, 20,000 suggestions, 3,000 cooperation records with their stage
history, 2,000 recognitions, 10,000 yearly figures, 12 events and this year's targets split
across the departments — written with Core, as an import would. Then times whole requests
through the app (test client, signed in): /dashboard, /pipeline, /targets. Target: the
dashboard ≤ 300 ms server time. The same run on the other backend is the peer.

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
from crm.db import utcnow
from crm.enterprises.models import (
    Enterprise,
    EnterpriseYear,
    Industry,
    Recognition,
    RecognitionKind,
    enterprise_industry,
)
from crm.events.models import Event, EventKind, EventParticipant
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching.models import Suggestion
from crm.needs.models import Need
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
    for metric in METRICS:
        target = Target(year=year, metric=metric.code, value=Decimal(rnd.randint(5, 50)))
        target.shares = [TargetShare(department_id=d.id, value=Decimal(1)) for d in departments]
        db.session.add(target)
    db.session.commit()


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
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "dash" * 10, "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        generate(year)
        db.session.execute(sa.text("ANALYZE"))  # statistics, as a database in use has them
        db.session.commit()
        print(f"{url.split(':')[0]}: data generated in {time.perf_counter() - started:.1f} s")
        db.session.remove()
    result = timed(app, [f"/dashboard?year={year}", f"/targets?year={year}", "/pipeline"], rounds)
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
                f"{backend:<10} {path:<22} p50 {statistics.median(samples):7.1f} ms  "
                f"p95 {p95:7.1f} ms" + ("  (target <= 300 ms)" if "dashboard" in path else "")
            )


if __name__ == "__main__":
    main()
