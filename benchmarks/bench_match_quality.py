"""Matching quality on the evaluation set in benchmarks/data/match_eval/, against plain BM25.

Loads the 2,320 experts (320 judged, 2,000 background) into a throw-away database through the
ORM (so their terms are stored as in production), then for each need of both sets — the first
44, and a second 24 written later and never used for tuning; all written as owners speak —
ranks researchers with `crm.matching.services.match_text` and, as the peer,
with `rank_bm25.BM25Okapi` over `jieba.lcut` of the same profile text (name, title, research
directions, bio). Prints, for both: nDCG@10 (gains 2^grade − 1), MRR (first grade-2 expert)
and recall@10 (judged-relevant found in the top 10, over min(10, all relevant)).
Target: nDCG@10 >= 0.90 and >= 0.10 above the peer.

    .venv/bin/python benchmarks/bench_match_quality.py [--show N]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import jieba
from flask_migrate import upgrade
from rank_bm25 import BM25Okapi

from crm import create_app
from crm.extensions import db
from crm.institutions.models import Institution, InstitutionKind, Researcher
from crm.matching import cache, services

DATA = Path(__file__).resolve().parent / "data" / "match_eval"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def ndcg(ranked: list[int], grades: dict[int, int], k: int = 10) -> float:
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def mrr(ranked: list[int], grades: dict[int, int]) -> float:
    return next((1 / (i + 1) for i, d in enumerate(ranked) if grades.get(d) == 2), 0.0)


def recall(ranked: list[int], grades: dict[int, int], k: int = 10) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / min(k, len(relevant)) if relevant else 0.0


def report(
    label: str, runs: dict[str, list[int]], qrels: dict[str, dict[int, int]]
) -> dict[str, float]:
    scores = {
        "nDCG@10": statistics.mean(ndcg(runs[q], qrels[q]) for q in qrels),
        "MRR": statistics.mean(mrr(runs[q], qrels[q]) for q in qrels),
        "recall@10": statistics.mean(recall(runs[q], qrels[q]) for q in qrels),
    }
    print(f"{label:<28} " + "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    return scores


SETS = {"first": "", "second": "_second"}  # needs{suffix}.csv and qrels{suffix}.csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=int, default=0, help="print the N worst needs for us")
    args = parser.parse_args()
    experts = read("experts.csv")
    sets = {}
    for name, suffix in SETS.items():
        qrels: dict[str, dict[int, int]] = defaultdict(dict)
        for row in read(f"qrels{suffix}.csv"):
            qrels[row["need_id"]][int(row["expert_id"])] = int(row["grade"])
        sets[name] = (read(f"needs{suffix}.csv"), qrels)

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/eval.sqlite3", "SECRET_KEY": "eval" * 10}
        )
        with app.app_context():
            upgrade()
            places: dict[str, Institution] = {}
            people = []
            for e in experts:
                inst = places.setdefault(
                    e["institution"], Institution(name=e["institution"], kind=InstitutionKind.OTHER)
                )
                people.append(
                    (
                        int(e["id"]),
                        Researcher(
                            name=e["name"],
                            institution=inst,
                            title=e["title"],
                            research_directions=e["research_directions"],
                            bio=e["bio"],
                        ),
                    )
                )
            db.session.add_all(p for _, p in people)
            db.session.commit()
            expert_of = {p.id: eid for eid, p in people}
            built = cache.rebuild(db.session.connection())
            print(
                f"{len(experts):,} experts; index built in "
                f"{built.built_in * 1000:.0f} ms ({len(built.terms):,} terms)"
            )
            corpus = [
                jieba.lcut(" ".join((e["name"], e["title"], e["research_directions"], e["bio"])))
                for e in experts
            ]
            bm25 = BM25Okapi(corpus)
            for name, (needs, qrels) in sets.items():
                print(f"-- {name} set: {len(needs)} needs")
                evaluate(needs, qrels, expert_of, experts, bm25, args.show)
            db.session.remove()
            db.engine.dispose()


def evaluate(
    needs: list[dict[str, str]],
    qrels: dict[str, dict[int, int]],
    expert_of: dict[int, int],
    experts: list[dict[str, str]],
    bm25: BM25Okapi,
    show: int,
) -> None:
    ours: dict[str, list[int]] = {}
    started = time.perf_counter()
    for need in needs:
        found = services.match_text(need["text"], top=10, kinds=("researcher",))
        ours[need["id"]] = [expert_of[c.id] for c in found]
    ours_ms = (time.perf_counter() - started) * 1000 / len(needs)
    started = time.perf_counter()
    peer: dict[str, list[int]] = {}
    for need in needs:
        scores = bm25.get_scores(jieba.lcut(need["text"]))
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:10]
        peer[need["id"]] = [int(experts[i]["id"]) for i in best if scores[i] > 0]
    peer_ms = (time.perf_counter() - started) * 1000 / len(needs)
    mine = report(f"ours ({ours_ms:.1f} ms/query)", ours, qrels)
    theirs = report(f"jieba + BM25Okapi ({peer_ms:.1f} ms)", peer, qrels)
    gap = mine["nDCG@10"] - theirs["nDCG@10"]
    print(f"nDCG@10 gap {gap:+.3f} (target >= +0.10; ours >= 0.90)")
    if show:
        text = {n["id"]: n["text"] for n in needs}
        worst = sorted(qrels, key=lambda q: ndcg(ours[q], qrels[q]))[:show]
        for q in worst:
            print(
                f"  {ndcg(ours[q], qrels[q]):.2f}  {text[q]}  top: "
                + " ".join(f"{e}:{qrels[q].get(e, 0)}" for e in ours[q][:10])
            )


if __name__ == "__main__":
    main()
