"""Matching speed with 100,000 researchers and 10,000 open needs.

Imports a generated 100k roster (benchmarks/bench_import.py's), 2,000 enterprises and 10,000
owner-worded needs into a SQLite database (kept with --database for the next run), then
measures:
- building the in-memory index from the stored docs;
- one query in process (tokenise + thesaurus + score + top 10 + explanation), p50/p95 over the
  owner-worded needs of the evaluation set, against `bm25s` on the same stored tokens (index
  built once, query tokens given) as the peer;
- the suggestion page request (a need's page, database and template included);
- a changed researcher: visible to the worker that saved it, and to another worker;
- `crm match --text … --json` as a whole new process, cold;
- `crm match --all` for the 10,000 needs, as a new process (time and peak memory).
And the meaning side (issue 18), once every record has its vectors:
- the model's rate through `crm.matching.embeddings.embed_pending` on a sample of 1,000
  researchers (the rest of the 110k records get random unit vectors: the cost of searching
  them does not depend on what they say, and embedding all would take about an hour here);
- the vector index: build from the database, its memory, loading the saved one (mapped);
- a hybrid query through the service (query embedded, both sides, fused, explained);
- the need page and 生成匹配 again, now hybrid; a saved record's vector: one embedder pass,
  then another worker's next request;
- cold `crm match --text` and `crm match --all` again, hybrid.
Targets: build <= 3 s; keyword p50/p95 at or under bm25s's; need page p95 <= 100 ms (hybrid);
saved → same worker <= 1 ms, other worker <= 2 s (keywords), vector within the embedder's
poll (2 s) plus one pass; cold CLI <= 3 s; --all <= 60 s, <= 1.5 GB.

    .venv/bin/python -m benchmarks.bench_match_speed [--rows 100000] [--needs 10000]
        [--database /tmp/match-speed.sqlite3]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import bm25s
import numpy as np
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from openpyxl import Workbook

from benchmarks.bench_import import write_roster
from crm import create_app
from crm.auth import services as auth
from crm.auth.models import Role
from crm.extensions import db
from crm.imports import services as imports
from crm.institutions.models import Researcher
from crm.matching import cache, embeddings, index, queries, services, vectors
from crm.needs.models import Need
from crm.text import embed
from crm.text.models import MatchDoc, MatchVector, SearchTerm

NEEDS = Path(__file__).resolve().parent / "data" / "match_eval" / "needs.csv"
SECRET = "speed" * 8
OWNER_TOPICS = [
    "领带洗后起皱",
    "马达嗡嗡响",
    "电机发抖",
    "硅藻土含铁多发黄",
    "集成灶火力不旺",
    "油烟吸不干净",
    "真丝掉色",
    "茶叶炒出来颜色发暗",
    "磁钢退磁",
    "产品表面有气孔",
    "机器老是卡料",
    "废水颜色深排不掉",
    "印花对不准",
    "电池不耐用",
    "包装里的东西容易坏",
]
OWNER_TAILS = ["，客户投诉多", "，想找专家看看", "，一直解决不了", "，想提高效率", "", "，成本太高"]


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def make_app(url: str) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "WTF_CSRF_ENABLED": False,
            "EMBEDDER": False,  # the benchmark embeds when it means to
        }
    )


def write_needs(folder: Path, enterprises: int, needs: int, texts: list[str]) -> list[Path]:
    """An enterprise sheet and a needs sheet in owners' words (the evaluation set's needs
    and common complaints, recombined)."""
    rnd = random.Random(5)
    names = [f"嵊州市测试{i:05d}制造有限公司" for i in range(enterprises)]
    books = []
    for title, header, rows in (
        ("企业", ["企业名称", "主营产品"], [[n, rnd.choice(OWNER_TOPICS)[:2]] for n in names]),
        (
            "技术需求",
            ["企业名称", "需求名称", "需求描述"],
            unique_needs(rnd, names, needs, texts),
        ),
    ):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title)
        ws.append(header)
        for row in rows:
            ws.append(row)
        path = folder / f"{title}.xlsx"
        wb.save(path)
        books.append(path)
    return books


def unique_needs(rnd: random.Random, names: list[str], n: int, texts: list[str]) -> list[list[str]]:
    """Needs no two alike (an enterprise's need title is its key in the import)."""
    seen: dict[tuple[str, str], list[str]] = {}
    while len(seen) < n:
        name = rnd.choice(names)
        title = rnd.choice(OWNER_TOPICS) + rnd.choice(OWNER_TAILS)
        text = rnd.choice(texts) + "。" + rnd.choice(OWNER_TOPICS)
        seen.setdefault((name, title), [name, title, text])
    return list(seen.values())


def prepare(database: Path, rows: int, needs: int, texts: list[str]) -> str:
    url = f"sqlite:///{database}"
    if database.exists():
        print(f"using {database} as it is")
        return url
    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    app = make_app(f"sqlite:///{partial}")
    with tempfile.TemporaryDirectory() as tmp, app.app_context():
        upgrade()
        user = auth.create_user(auth.UserData("bench", "压测", Role.ADMIN, "bench-password-1"))
        db.session.commit()
        roster = Path(tmp) / "roster.xlsx"
        write_roster(roster, rows)
        books = [roster, *write_needs(Path(tmp), max(needs // 5, 1), needs, texts)]
        for book in books:
            report = imports.run_import(user, book, book.name)
            db.session.commit()
            print(f"imported {book.name}: {report.counts}, {len(report.errors)} rows refused")
        db.session.remove()
        db.engine.dispose()
    partial.rename(database)  # only a complete database is used again
    return url


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark check failed: {what}")


def first_hit(round_: int) -> int:
    return services.match_text(f"钛合金激光熔覆 tc{round_:03d}", top=1)[0].id


def timed(call, rounds: int = 1) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", type=Path, help="keep the prepared database here")
    parser.add_argument(
        "--part", choices=["all", "keywords", "hybrid"], default="all", help="what to measure"
    )
    args = parser.parse_args()
    with NEEDS.open(encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or Path(tmp) / "speed.sqlite3"
        url = prepare(database, args.rows, args.needs, texts)
        app = make_app(url)
        if args.part in ("all", "keywords"):
            embed._reset_for_tests("the keyword part: engine off, as on a machine without it")
            try:
                keyword_part(app, url, texts, args.rounds)
            finally:
                embed._reset_for_tests()
        if args.part in ("all", "hybrid"):
            if not embed.available():
                print(f"meaning side not measured: {embed.unavailable()}")
                return
            print("-- with vectors (hybrid)")
            fill_vectors(app)
            with app.app_context():
                hybrid_queries(texts, args.rounds)
                db.session.remove()
            pages(app, "hybrid")
            vector_visibility(app, url)
            command_line(url, texts[0])


def keyword_part(app: Flask, url: str, texts: list[str], rounds: int) -> None:
    with app.app_context():
        print(
            f"{db.session.scalar(sa.select(sa.func.count(Researcher.id))):,} researchers, "
            f"{db.session.scalar(sa.select(sa.func.count(Need.id))):,} needs"
        )
        build = timed(lambda: cache.rebuild(db.session.connection()), 3)
        built = cache.get_index(db.session.connection())
        print(
            f"index build from stored docs: median {statistics.median(build) / 1000:.2f} s "
            f"({len(built.terms):,} terms x {built.size:,} documents; target <= 3 s)"
        )
        in_memory, service, peer, peer_build = one_query(built, texts, rounds)
        for label, values in (
            ("ours, in memory", in_memory),
            ("ours, whole service", service),
            ("bm25s, same tokens", peer),
        ):
            print(
                f"one query, {label}: p50 {percentile(values, 50):.2f} ms  "
                f"p95 {percentile(values, 95):.2f} ms"
            )
        print(f"(targets p50 <= 3, p95 <= 8; bm25s index {peer_build:.1f} s, scores only)")
        db.session.remove()
    pages(app, "keywords")
    visibility(app, url)
    command_line(url, texts[0], {"CRM_EMBEDDINGS": "off"})


def one_query(
    built: index.MatchIndex, texts: list[str], rounds: int
) -> tuple[list[float], list[float], list[float], float]:
    services.match_text(texts[0])  # jieba and the dictionary load once per process
    ours, service = [], []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            query = queries.widen(queries.build_query(text), built)  # tokenise + expand
            built.score(query.weights, top=10)  # score + top 10 + per-term explanation
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            services.match_text(text, top=10)  # + staleness check + names from the db
            service.append((time.perf_counter() - started) * 1000)
    # peer: bm25s over the same stored tokens, queries given as the same tokens
    docs: dict[tuple[str, int], list[str]] = defaultdict(list)
    for kind, record_id, term in db.session.execute(
        sa.select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.term).where(
            SearchTerm.kind.in_(index.TARGETS), ~SearchTerm.term.like("py%:%")
        )
    ):
        docs[(kind, record_id)].append(term)
    started = time.perf_counter()
    retriever = bm25s.BM25()
    tokenized = _as_ids(list(docs.values()))
    retriever.index(tokenized, show_progress=False)
    peer_build = time.perf_counter() - started
    vocab = tokenized.vocab
    retrieve, scores_only, widened = [], [], []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            query = queries.build_query(text)
            ids = [[vocab[t] for t in query.weights if t in vocab] or [0]]
            retriever.retrieve(ids, k=10, show_progress=False)
            retrieve.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()  # its lower-level path: scores, then our top 10
            query = queries.build_query(text)
            scores = retriever.get_scores([vocab[t] for t in query.weights if t in vocab] or [0])
            np.argpartition(-scores, 10)[:10]
            scores_only.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()  # the terms ours scores: the thesaurus's widening too
            query = queries.widen(queries.build_query(text), built)
            scores = retriever.get_scores([vocab[t] for t in query.weights if t in vocab] or [0])
            np.argpartition(-scores, 10)[:10]
            widened.append((time.perf_counter() - started) * 1000)
    print(
        f"one query, bm25s on the widened terms ours scores (no explanation): "
        f"p50 {percentile(widened, 50):.2f} ms  p95 {percentile(widened, 95):.2f} ms"
    )
    # the peer is whichever of its two paths is faster here
    peer = min(retrieve, scores_only, key=lambda v: percentile(v, 50))
    return ours, service, peer, peer_build


def fill_vectors(app: Flask, sample: int = 1000) -> None:
    """Vectors for every record: a sample through the model (its rate), the rest random."""
    with app.app_context():
        connection = db.session.connection()
        if embeddings.pending_count(connection) == 0:
            print("vectors already there")
        else:
            done, started = 0, time.perf_counter()
            sentences = 0
            while done < sample:
                step = embeddings.embed_pending(128)
                done, sentences = done + step.looked, sentences + step.sentences
                if not step.looked:
                    break
            took = time.perf_counter() - started
            print(
                f"model through embed_pending: {done:,} records ({sentences:,} distinct sentences)"
                f" in {took:.1f} s = {done / took:.1f} records/s "
                f"(100k researchers: about {100_000 / (done / took) / 60:.0f} min)"
            )
            started = time.perf_counter()
            added = random_vectors()
            took = time.perf_counter() - started
            print(f"random unit vectors for the other {added:,} records: {took:.1f} s")
        for label, kinds in (("passages", embeddings.PASSAGES), ("queries", embeddings.QUERIES)):
            started = time.perf_counter()
            built = vectors.VectorIndex.build(db.session.connection(), kinds)
            took = time.perf_counter() - started
            print(
                f"vector index ({label}) from the database: {took:.2f} s, {built.size:,} records,"
                f" {len(built.sentences):,} sentences, {built.nbytes / 2**20:.0f} MB in memory"
            )
        folder = services.saved_vectors_path()
        vectors.get_vectors(db.session.connection(), saved=folder)  # built and saved
        cache.get_index(db.session.connection(), services.saved_index_path())
        app.extensions.pop("vector_indexes", None)
        started = time.perf_counter()
        vectors.get_vectors(db.session.connection(), saved=folder)
        size = sum(f.stat().st_size for f in folder.iterdir())
        took = (time.perf_counter() - started) * 1000
        print(
            f"saved vector index mapped by a new process: {took:.0f} ms "
            f"({size / 2**20:.0f} MB on disk, shared by the processes that map it)"
        )
        db.session.remove()


def random_vectors() -> int:
    """MatchVector rows for every pending record: random unit vectors, the record's real
    sentences (research directions and bio, as `sentences_of` cuts them)."""
    rng = np.random.default_rng(18)
    doc = MatchDoc.__table__
    connection = db.session.connection()
    pending = connection.execute(embeddings._pending_query(10**9).order_by(None)).all()
    directions = {
        i: text
        for i, text in connection.execute(sa.select(Researcher.id, Researcher.research_directions))
    }
    asked = {  # a need's source as the embedder computes it: the batch takes it as current
        row.id: embeddings.source_of(embeddings.sentences_of("need", row))
        for row in connection.execute(sa.select(Need.id, Need.title, Need.description))
    }
    rows = []
    for kind, record_id, version, empty in pending:
        if empty:
            continue
        count = 1 if kind in embeddings.QUERIES else 3
        said = embeddings._pieces(directions.get(record_id, "")) if kind == "researcher" else []
        said = (said + ["简介"] * count)[:count]
        block = rng.standard_normal((count, embed.DIM)).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        mean = block.mean(axis=0)
        rows.append(
            {
                "kind": kind,
                "record_id": record_id,
                "model": embed.MODEL,
                "source": asked.get(record_id, "random") if kind == "need" else "random",
                "doc_version": version,
                "vector": embeddings.pack((mean / np.linalg.norm(mean))[None, :]),
                "sentences": [f"研究方向\t{t}" for t in said],
                "sentence_vectors": embeddings.pack(block),
            }
        )
    for start in range(0, len(rows), 5000):
        connection.execute(sa.insert(MatchVector.__table__), rows[start : start + 5000])
    from crm.text.docs import changed

    changed(connection, "vectors")
    db.session.commit()
    del doc
    return len(rows)


def hybrid_queries(texts: list[str], rounds: int) -> None:
    services.match_text(texts[0])  # the model and the vector index load once per process
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            found = services.match_text(text, top=10)
            times.append((time.perf_counter() - started) * 1000)
            check(bool(found) and found[0].semantic is not None, "no semantic explanation")
    started = time.perf_counter()
    for text in texts:
        embed.embed_query(text)
    embedding = (time.perf_counter() - started) * 1000 / len(texts)
    print(
        f"one query, hybrid service (embed + both sides + fuse + explain): p50 "
        f"{percentile(times, 50):.1f} ms  p95 {percentile(times, 95):.1f} ms "
        f"(of which embedding the query {embedding:.1f} ms)"
    )


def vector_visibility(app: Flask, url: str) -> None:
    """A researcher saved: one embedder pass gives it a vector; another worker's next request
    takes it in."""
    other = make_app(url)
    with other.app_context():
        vectors.get_vectors(db.session.connection())
        db.session.remove()
    passes, absorbed = [], []
    for round_ in range(10):
        with app.app_context():
            researcher = db.session.get(Researcher, round_ + 101)
            researcher.research_directions = f"锂电池热失控预警 第{round_}版"
            db.session.commit()
            passes += timed(lambda: embeddings.embed_pending(64))
            db.session.remove()
        with other.app_context():
            absorbed += timed(lambda: vectors.get_vectors(db.session.connection()))
            index_ = vectors.get_vectors(db.session.connection())
            check(
                index_.has("researcher", round_ + 101),
                "vector",
            )
            db.session.remove()
    print(
        f"a saved researcher's vector: embedder pass median {statistics.median(passes):.0f} ms "
        f"(max {max(passes):.0f}); another worker takes it in on its next request, median "
        f"{statistics.median(absorbed):.1f} ms; with the embedder's 2 s poll: <= "
        f"{2 + max(passes) / 1000 + max(absorbed) / 1000:.1f} s (the saving process: its commit "
        "wakes the embedder at once)"
    )


def pages(app: Flask, label: str = "keywords") -> None:
    """A need's page with its suggestions, and 生成匹配, through the whole app."""
    client = app.test_client()
    response = client.post("/login", data={"username": "bench", "password": "bench-password-1"})
    check(response.status_code == 302, f"login: {response.status_code}")
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Need.id).order_by(Need.id).limit(60)))
        db.session.remove()
    generate, page = [], []
    for need_id in ids:
        generate += timed(lambda: client.post(f"/needs/{need_id}/match"))  # noqa: B023
        response = client.get(f"/needs/{need_id}")
        check(response.status_code == 200 and "已联系" in response.get_data(as_text=True), "page")
        page += timed(lambda: client.get(f"/needs/{need_id}"), 3)  # noqa: B023
    print(
        f"need page with suggestions ({label}): p50 {percentile(page, 50):.1f} ms  "
        f"p95 {percentile(page, 95):.1f} ms (target p95 <= 100 ms); "
        f"生成匹配 POST p50 {percentile(generate, 50):.1f} ms  "
        f"p95 {percentile(generate, 95):.1f} ms"
    )


def visibility(app: Flask, url: str) -> None:
    """A researcher saved in one worker: how long until each worker's index has it."""
    other = make_app(url)
    with other.app_context():
        theirs = cache.get_index(db.session.connection())
        db.session.remove()
    ours_ms, theirs_ms = [], []
    for round_ in range(20):
        with app.app_context():
            researcher = db.session.get(Researcher, round_ + 1)
            researcher.research_directions = f"钛合金激光熔覆 tc{round_:03d}"
            db.session.commit()
            ours_ms += timed(lambda: cache.get_index(db.session.connection()))
            check(first_hit(round_) == round_ + 1, "the saved researcher was not found")
            db.session.remove()
        with other.app_context():
            theirs_ms += timed(lambda: cache.get_index(db.session.connection()))
            check(first_hit(round_) == round_ + 1, "the saved researcher was not found")
            db.session.remove()
    with other.app_context():
        check(cache.get_index(db.session.connection()) is theirs, "rebuilt")
        db.session.remove()
    print(
        f"a saved researcher reaches the index: same worker median {statistics.median(ours_ms):.2f}"
        f" ms (max {max(ours_ms):.2f}; target <= 1 ms), another worker median "
        f"{statistics.median(theirs_ms):.2f} ms (max {max(theirs_ms):.2f}) on its next request "
        f"(target <= 2 s); no rebuild"
    )


def command_line(url: str, text: str, extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, **(extra or {})}
    crm = str(Path(sys.executable).with_name("crm"))
    cold = []
    for _ in range(3):
        started = time.perf_counter()
        command = [crm, "match", "--text", text, "--json"]
        subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603
        cold.append(time.perf_counter() - started)
    print(
        f"cold `crm match --text … --json`: median {statistics.median(cold):.2f} s (target <= 3 s)"
    )
    for label in ("first run", "second run (nothing new)"):
        started = time.perf_counter()
        command = [crm, "match", "--all", "--user", "bench"]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
        peak = peak_of_tree(child)
        output, _ = child.communicate()
        seconds = time.perf_counter() - started
        print(
            f"`crm match --all`, {label}: {seconds:.1f} s, peak memory {peak / 1024:,.0f} MB "
            f"(the process and its scoring workers together, PSS; "
            f"targets <= 60 s, <= 1.5 GB): {output.strip().splitlines()[-1]}"
        )


def peak_of_tree(child: subprocess.Popen[str]) -> int:
    """Highest summed memory (kB, PSS) of a process and its descendants, sampled every
    0.1 s from /proc until it ends. (getrusage would not do: Linux carries a parent's peak
    across fork and exec.)"""
    peak = 0
    while child.poll() is None:
        peak = max(peak, sum(_rss(pid) for pid in _tree(child.pid)))
        time.sleep(0.1)
    return peak


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _rss(pid: int) -> int:
    """Proportional set size: a page shared by n processes counts 1/n in each, so the sum over
    the tree is the memory the run really takes (the forked workers share the index)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _as_ids(corpus: list[list[str]]) -> bm25s.tokenization.Tokenized:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


if __name__ == "__main__":
    main()
