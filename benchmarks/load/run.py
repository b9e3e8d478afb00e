"""Load test: 50 officers at once against gunicorn (4 workers) on PostgreSQL.

Fills a throw-away PostgreSQL database once (kept for the next run; --fresh to rebuild) with
a county's worth of records — 10,000 enterprises in 7 departments, 50,000 visits, 20,000
owner-worded needs, 3,000 cooperation records, ~102,000 researchers imported from a roster
and the search and match index over all of it — then serves it with the committed
`gunicorn.conf.py` and runs locust headless (`benchmarks/load/locustfile.py`) in two phases:

1. one officer alone, clicking without pause, for --baseline seconds: each page unloaded
   (the peer for phase 2);
2. --users officers (default 50), signing in two a second, then all at work for --seconds
   (default 120, measured from when the last has signed in; 1–3 s between clicks): browsing
   lists and records, searching, logging visits, 生成匹配 and quick match, the pipeline, the
   tasks and the dashboard.

Prints throughput and p50 / p95 / p99 per page for both phases, the server's 5xx and
tracebacks, and checks the targets: p95 ≤ 200 ms for list / detail / search, ≤ 300 ms for
matching and the dashboard, no errors. Exits non-zero when one is missed. Everything is
bounded: each locust run has a hard timeout, the server is stopped on the way out.

    .venv/bin/pip install -e '.[load]'
    .venv/bin/python -m benchmarks.load.run [--database postgresql://…/crm_load] [--fresh]
        [--users 50] [--seconds 120] [--baseline 20] [--workers 4] [--researchers 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
import sqlalchemy as sa
from flask_migrate import upgrade

from benchmarks.bench_dashboard import PASSWORD, generate
from benchmarks.bench_import import write_roster
from benchmarks.bench_match_speed import OWNER_TAILS, OWNER_TOPICS
from crm import create_app
from crm.auth import services as auth
from crm.auth.models import Department, Role, User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.imports import services as imports
from crm.institutions.models import Researcher
from crm.needs.models import Need
from crm.search import index
from tests.serving import gunicorn

HERE = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_load"
OFFICERS = 50
RAMP = 2  # officers signing in per second
ROSTER = 100_000

# which target a page name is held to (names as the locustfile reports them)
TARGETS = {
    "match": 300,
    "dashboard": 300,
}
LIST_DETAIL_SEARCH = 200
SEARCHES = [
    "领带", "硅藻土", "电机", "厨具", "集成灶", "抗皱", "永磁", "香港理工", "浙江大学",
    "测试企业01", "纺织", "数码印花", "矿物加工", "电磁振动", "油烟", "zhejiang", "lingdai",
    "茶叶", "新材料", "真丝",
]  # fmt: skip
QUICK = [
    "领带洗后起皱，想找专家看看",
    "马达嗡嗡响，噪声大",
    "硅藻土含铁多发黄，想提纯",
    "集成灶油烟吸不干净",
    "真丝掉色，客户投诉多",
    "磁钢退磁，电机没劲",
]


def target_of(name: str) -> int | None:
    """The p95 target for a page name; None for form posts' follow-ups and the static peer."""
    if name.startswith("peer") or "login" in name:
        return None  # signing in hashes the password slowly on purpose, once a day
    for key, limit in TARGETS.items():
        if key in name:
            return limit
    return LIST_DETAIL_SEARCH


def make_app(url: str):  # noqa: ANN201
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load" * 10})
    app.logger.setLevel(logging.WARNING)
    logging.getLogger("crm").setLevel(logging.WARNING)  # not a line per account created
    return app


def ready(url: str, roster: int) -> bool:
    """The database holds a complete fill (the last step writes the load officers)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            officers = conn.execute(
                sa.text("SELECT count(*) FROM \"user\" WHERE username LIKE 'load%'")
            ).scalar_one()
            researchers = conn.execute(sa.text("SELECT count(*) FROM researcher")).scalar_one()
        return officers == OFFICERS and researchers >= roster
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()


def recreate(url: str) -> None:
    parts = sa.engine.make_url(url)
    admin = parts.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.database}"')


def fill(url: str, roster_rows: int) -> None:
    """The county's records, written as the app would (imports and the index included)."""
    recreate(url)
    app = make_app(url)
    rnd = random.Random(17)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        upgrade()
        started = time.perf_counter()
        generate(date.today().year)
        needs = list(db.session.scalars(sa.select(Need.id)))
        db.session.execute(
            sa.update(Need),
            [
                {
                    "id": n,
                    "version": 1,
                    "title": rnd.choice(OWNER_TOPICS) + rnd.choice(OWNER_TAILS),
                    "description": rnd.choice(OWNER_TOPICS) + "。" + rnd.choice(OWNER_TOPICS),
                }
                for n in needs
            ],
        )
        db.session.commit()
        print(f"records generated in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        roster = Path(tmp) / "roster.xlsx"
        write_roster(roster, roster_rows)
        admin = db.session.scalars(sa.select(User).where(User.username == "bench")).one()
        report = imports.run_import(admin, roster, roster.name)
        db.session.commit()
        print(f"roster imported in {time.perf_counter() - started:.0f} s: {report.counts}")
        started = time.perf_counter()
        total = index.reindex(db.session)
        db.session.commit()
        print(f"index of {total:,} records built in {time.perf_counter() - started:.0f} s")
        departments = list(db.session.scalars(sa.select(Department).order_by(Department.id)))
        for n in range(OFFICERS):
            auth.create_user(
                auth.UserData(
                    f"load{n:02d}",
                    f"压测联络员{n:02d}",
                    Role.OFFICER,
                    PASSWORD,
                    departments[n % len(departments)].name,
                )
            )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def plan(url: str, path: Path) -> None:
    """What each simulated officer works on: its department's enterprises and needs."""
    app = make_app(url)
    rnd = random.Random(23)
    with app.app_context():
        researchers = list(db.session.scalars(sa.select(Researcher.id)))
        officers = []
        for user in db.session.scalars(
            sa.select(User).where(User.username.like("load%")).order_by(User.username)
        ):
            enterprises = list(
                db.session.scalars(
                    sa.select(Enterprise.id).where(Enterprise.department_id == user.department_id)
                )
            )
            needs = list(
                db.session.scalars(
                    sa.select(Need.id)
                    .join(Enterprise, Need.enterprise_id == Enterprise.id)
                    .where(Enterprise.department_id == user.department_id)
                )
            )
            officers.append(
                {
                    "username": user.username,
                    "password": PASSWORD,
                    "enterprises": rnd.sample(enterprises, min(300, len(enterprises))),
                    "needs": rnd.sample(needs, min(300, len(needs))),
                }
            )
        body = {
            "officers": officers,
            "researchers": rnd.sample(researchers, 2000),
            "searches": SEARCHES,
            "quick": QUICK,
        }
        db.session.remove()
        db.engine.dispose()
    path.write_text(json.dumps(body, ensure_ascii=False))


def swarm(
    base: str, plan_path: Path, users: int, seconds: int, prefix: Path, pause: bool = True
) -> list[dict]:
    """One headless locust run; its per-page rows from the CSV it writes."""
    locust = Path(sys.executable).with_name("locust")
    # officers sign in over the first seconds (the password hash is slow on purpose), then the
    # figures start from zero: `seconds` of everybody at work are measured
    ramp = -(-users // RAMP)
    command = [
        str(locust), "-f", str(HERE / "locustfile.py"), "--headless", "--host", base,
        "-u", str(users), "-r", str(RAMP), "-t", f"{seconds + ramp}s", "--reset-stats",
        "--stop-timeout", "10", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "CRM_LOAD_PLAN": str(plan_path), "CRM_LOAD_PAUSE": str(int(pause))}
    with open(f"{prefix}.log", "wb") as log:  # locust's own tables: the rows are read below
        subprocess.run(  # noqa: S603
            command, env=env, timeout=seconds + ramp + 90, check=False, stdout=log, stderr=log
        )
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def table(title: str, rows: list[dict], check: bool) -> list[str]:
    print(f"\n{title}")
    head = ("page", "reqs", "req/s", "p50", "p95", "p99", "fail")
    print("{:<34} {:>6} {:>6} {:>5} {:>5} {:>5} {:>4}  target".format(*head))
    missed = []
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Name"])):
        name = row["Name"] if row["Name"] != "Aggregated" else "all pages"
        limit = target_of(name) if row["Name"] != "Aggregated" else None
        p95 = float(row["95%"] or 0)
        fails = int(row["Failure Count"])
        verdict = ""
        if check and limit is not None:
            verdict = f"≤ {limit} ms " + ("ok" if p95 <= limit else "MISSED")
            if p95 > limit:
                missed.append(f"{name}: p95 {p95:.0f} ms > {limit} ms")
        if check and fails:
            missed.append(f"{name}: {fails} failed")
        print(
            f"{name:<34} {int(row['Request Count']):>6} {float(row['Requests/s']):>6.1f} "
            f"{row['50%']:>5} {row['95%']:>5} {row['99%']:>5} {fails:>4}  {verdict}"
        )
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=DEFAULT_URL, help="a throw-away PostgreSQL database")
    parser.add_argument("--fresh", action="store_true", help="fill the database again")
    parser.add_argument("--users", type=int, default=OFFICERS)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--baseline", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--researchers", type=int, default=ROSTER, help="roster rows imported")
    args = parser.parse_args()
    if args.fresh or not ready(args.database, args.researchers):
        fill(args.database, args.researchers)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        plan(args.database, out / "plan.json")
        log = out / "gunicorn.log"
        with gunicorn(args.database, workers=args.workers, log=log) as base:
            baseline = swarm(base, out / "plan.json", 1, args.baseline, out / "one", pause=False)
            loaded = swarm(base, out / "plan.json", args.users, args.seconds, out / "many")
        server = log.read_text(errors="replace")
    errors = sum(1 for line in server.splitlines() if '" 5' in line and "HTTP/1.1" in line)
    tracebacks = server.count("Traceback")
    print(
        f"\n{args.workers} gunicorn workers, PostgreSQL, {os.cpu_count()} cores shared with locust"
    )
    table(f"peer: one officer alone, no pauses, {args.baseline} s", baseline, check=False)
    missed = table(f"{args.users} officers at once, {args.seconds} s", loaded, check=True)
    print(f"\nserver: {errors} responses 5xx, {tracebacks} tracebacks in the log")
    if errors or tracebacks:
        missed.append(f"server: {errors} 5xx, {tracebacks} tracebacks")
    if missed:
        print("MISSED:\n  " + "\n  ".join(missed))
        raise SystemExit(1)
    print("all targets met")


if __name__ == "__main__":
    main()
