"""Search latency on a big county: 10,000 enterprises and 100,000 researchers.

Builds a throw-away SQLite database (or PostgreSQL with --database-url) from generated data,
indexes it, then times `crm.search.services.search` for a mix of queries and, as the peer, a
plain `LIKE '%q%'` over the same tables (names, research directions, bios, products).
Prints p50/p95 for both. Target: search p95 <= 50 ms in-process.

    .venv/bin/python benchmarks/bench_search.py [--enterprises 10000] [--researchers 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from crm import create_app
from crm.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionAlias, InstitutionKind, Researcher
from crm.search import index, names, services

SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "志远建华晓东海峰丽娟文博宇航雪梅俊杰嘉怡明轩思源国栋慧敏晓燕立群永强振宇佳琪浩然"
BRANDS = "锦程丽珩华彩云锦鼎盛翔鹭东盈赛丝明翰金帛越丰剡溪华力长乐新锐恒达博远东科金鑫三江"
PRODUCTS = [
    "真丝提花领带",
    "永磁同步电机",
    "集成灶",
    "硅藻土助滤剂",
    "名优绿茶",
    "液压阀",
    "冷凝器",
]
DIRECTIONS = [
    "纺织品功能整理；抗皱免烫整理",
    "永磁同步电机设计；电磁振动与噪声",
    "伺服系统；电机驱动与控制",
    "硅藻土提纯；矿物加工",
    "燃烧器设计；燃气具热效率",
    "茶叶加工；茶叶机械",
    "数码印花；色彩管理",
    "稀土永磁材料；钕铁硼",
    "机器视觉检测；工业机器人",
    "中药提取分离；制剂工艺",
]
QUERIES = [
    "硅藻土",
    "永磁同步电机",
    "抗皱",
    "jcld",
    "jinchengld",
    "港理工",
    "PolyU",
    "香港理工大學",
    "锦成领带",
    "伺服电机控制",
    "茶叶机械",
    "钕铁硼",
    "机器视觉",
    "集成灶 噪声",
    "wangzy",
]
# as officers type a firm's name: part of it, from its start or inside it (issue 19)
PARTIAL = [
    "jincheng",
    "lingdai",
    "jinchengling",
    "锦程",
    "领带",
    "程领",
    "锦cld",
    "jc",
    "chengl",
    "wangzhi",
]


def build(n_enterprises: int, n_researchers: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    polyu = Institution(name="香港理工大学", kind=InstitutionKind.UNIVERSITY)
    polyu.aliases = [InstitutionAlias(alias=a) for a in ("港理工", "PolyU", "香港理工大學")]
    db.session.add(polyu)
    insts = [polyu] + [
        Institution(name=f"第{i}研究院", kind=InstitutionKind.RESEARCH_INSTITUTE) for i in range(80)
    ]
    db.session.add_all(insts[1:])
    db.session.flush()
    ent_rows = [{"name": "浙江锦程领带有限公司", "main_products": "真丝提花领带"}]
    for i in range(n_enterprises - 1):
        brand = "".join(rnd.sample(BRANDS, 2))
        ent_rows.append(
            {"name": f"嵊州市{brand}{i}有限公司", "main_products": rnd.choice(PRODUCTS)}
        )
    stamp = {"created_at": utcnow(), "updated_at": utcnow(), "version": 1}
    db.session.execute(
        sa.insert(Enterprise.__table__), [{**r, **stamp, "is_above_scale": False} for r in ent_rows]
    )
    res_rows = []
    for _ in range(n_researchers):
        d = rnd.choice(DIRECTIONS)
        res_rows.append(
            {
                "name": rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)),
                "institution_id": rnd.choice(insts).id,
                "title": rnd.choice(["教授", "副教授", "研究员"]),
                "research_directions": d,
                "bio": f"长期从事{d.split('；')[0]}研究，主持基金项目{rnd.randint(1, 5)}项。",
            }
        )
    for start in range(0, len(res_rows), 20000):
        db.session.execute(
            sa.insert(Researcher.__table__),
            [{**r, **stamp} for r in res_rows[start : start + 20000]],
        )
    db.session.commit()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def like_search(q: str) -> int:
    pattern = f"%{q}%"
    n = 0
    for stmt in (
        sa.select(Enterprise.id)
        .where(sa.or_(Enterprise.name.like(pattern), Enterprise.main_products.like(pattern)))
        .limit(30),
        sa.select(Researcher.id)
        .where(
            sa.or_(
                Researcher.name.like(pattern),
                Researcher.research_directions.like(pattern),
                Researcher.bio.like(pattern),
            )
        )
        .limit(30),
        sa.select(Institution.id).where(Institution.name.like(pattern)).limit(30),
    ):
        n += len(db.session.scalars(stmt).all())
    return n


def timed(fn, queries: list[str], rounds: int) -> tuple[list[float], dict[str, int]]:
    times, found = [], {}
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            result = fn(q)
            times.append((time.perf_counter() - started) * 1000)
            found[q] = result if isinstance(result, int) else len(result)
            db.session.rollback()
    return times, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=10_000)
    parser.add_argument("--researchers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app(
        {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        build(args.enterprises, args.researchers)
        print(
            f"data: {args.enterprises} enterprises, {args.researchers} researchers "
            f"in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        total = index.reindex(db.session)
        db.session.commit()
        spent = time.perf_counter() - started
        # what autovacuum does on a live PostgreSQL after a bulk load; SQLite gets ANALYZE
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            vacuum = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
            conn.exec_driver_sql(vacuum)
        terms = db.session.scalar(sa.text("SELECT COUNT(*) FROM search_term"))
        print(
            f"index: {total} records, {terms} terms in {spent:.1f} s"
            f" ({total / spent:,.0f} records/s)"
        )

        services.search("预热")  # jieba and OpenCC load once per process
        queries = QUERIES + PARTIAL
        search_ms, found = timed(lambda q: services.search(q, limit=30), queries, args.rounds)
        like_ms, like_found = timed(like_search, queries, args.rounds)
        filter_ms, filtered = timed(lambda q: names.named("enterprise", q), PARTIAL, args.rounds)
        print(f"\n{'query':<16}{'search hits':>12}{'LIKE hits':>10}{'list filter':>12}")
        for q in queries:
            extra = f"{filtered[q]:>12}" if q in filtered else ""
            print(f"{q:<16}{found[q]:>12}{like_found[q]:>10}{extra}")
        partial_ms = [ms for i, ms in enumerate(search_ms) if queries[i % len(queries)] in PARTIAL]
        print(f"\n{'':<34}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
        for name, ms in (
            ("search, all queries (this CRM)", search_ms),
            ("search, partial names only", partial_ms),
            ("list filter's name part", filter_ms),
            ("LIKE '%q%' (peer)", like_ms),
        ):
            print(
                f"{name:<34}{statistics.median(ms):>8.1f}{percentile(ms, 95):>8.1f}{max(ms):>8.1f}"
            )
        verdict = "meets" if percentile(search_ms, 95) <= 50 else "MISSES"
        print(f"\nsearch p95 {percentile(search_ms, 95):.1f} ms {verdict} the 50 ms target")
        db.engine.dispose()


if __name__ == "__main__":
    main()
