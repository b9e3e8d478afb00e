"""Keyword and meaning, fused so that each counts where it can be trusted.

Candidates are the best `POOL` by keywords (BM25 over the stored terms) and the best
`meaning.POOL` by meaning (`VectorIndex.meaning`). Each gets two scores in [0, 1]:

- **keyword**: how much of the need its matched words *cover* (`coverage`): each word of the
  need, with the expansions it fired, weighted by its rarity (idf; a word no expert uses
  counts as the rarest) and product words at `context.WEIGHT`; full marks from `FULL`
  coverage up, squared below it. Not min-max over the candidates: min-max calls the best
  keyword match 1.0 even when it shares one product word with a need told in symptoms
  ("涤丝领带一过熨斗就发亮": 领带 alone), and that noise then outvotes the meaning side. When
  the thesaurus knows the owner's words, coverage is high and keywords count fully.
- **meaning**: similarity scaled between the pool's last (0) and its first (1).

fused = `KEYWORD` × keyword + (1 − `KEYWORD`) × meaning: a linear fusion, not reciprocal rank,
because ranks forget how far apart scores are and coverage is exactly how far. Then the
records' priors, as before. The figures behind these choices (three evaluation sets, naive
min-max fusion beside this one) are in `benchmarks/bench_match_quality.py` and the README.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crm.matching.index import MatchIndex
from crm.matching.priors import Adjustment
from crm.matching.vectors import VectorIndex

POOL = 50  # candidates by keywords
KEYWORD = 0.5  # weight of the keyword side
FULL = 0.25  # coverage of the need that earns the keyword side full marks


@dataclass
class Fused:
    kind: str
    id: int
    score: float
    parts: dict[str, float]  # matched term → contribution (keyword side)
    similarity: float  # cosine (meaning side)
    keyword: float  # [0, 1]
    meaning: float  # [0, 1]
    adjustments: list[Adjustment]
    product_like: float = 0.0  # taken off the similarity for nearing the product, not the need


def coverage(
    parts: dict[str, float], weights: dict[str, float], via: dict[str, str], index: MatchIndex
) -> float:
    """Share of the query's words (by weight × idf) this candidate's matched terms stand for;
    an expansion covers its word in proportion to its weight."""
    return Coverage(weights, via, index)(parts)


class Coverage:
    """`coverage` for one query and many candidates: the words' importance worked out once,
    then each candidate costs as many steps as it has matched terms."""

    def __init__(self, weights: dict[str, float], via: dict[str, str], index: MatchIndex):
        unseen = math.log1p((index.size + 0.5) / 1.5)
        self.importance: dict[str, float] = {}
        for word, weight in weights.items():
            if word in via:
                continue  # an expansion: counted with its word
            number = index.terms.get(word)
            known = number is not None and index.idf is not None
            self.importance[word] = weight * (float(index.idf[number]) if known else unseen)
        self.total = sum(self.importance.values())
        self.stands_for: dict[str, tuple[str, float]] = {w: (w, 1.0) for w in self.importance}
        for term, word in via.items():
            if term in weights and word in self.importance and term not in self.stands_for:
                self.stands_for[term] = (word, min(1.0, weights[term] / weights[word]))

    def __call__(self, parts: dict[str, float]) -> float:
        if not self.total:
            return 0.0
        best: dict[str, float] = {}
        for term in parts:
            found = self.stands_for.get(term)
            if found is not None and found[1] > best.get(found[0], 0.0):
                best[found[0]] = found[1]
        return sum(self.importance[w] * share for w, share in best.items()) / self.total


def rank(
    index: MatchIndex,
    weights: dict[str, float],
    via: dict[str, str],
    vectors: VectorIndex,
    query_vector: np.ndarray,
    kinds: tuple[str, ...],
    top: int,
    adjust: Callable[[tuple[str, int]], list[Adjustment]] | None = None,
    pool: int = 3,
    nearest: list[int] | None = None,
    context_vector: np.ndarray | None = None,
) -> list[Fused]:
    """The best `top` by fused score (with `adjust`: the best `pool` × top reordered by the
    records' priors). `nearest`: the meaning side's pool, when found for many needs at once
    (`VectorIndex.pools`)."""
    by_words = index.rank(weights, kinds, POOL)
    parts: dict[tuple[str, int], dict[str, float]] = {(k, i): p for k, i, _, p, _ in by_words}
    meant = vectors.meaning(query_vector, kinds, list(parts), nearest, context_vector)
    similarity = meant.scores
    others = [key for key in similarity if key not in parts]
    for gone in set(others) - index.present(others):  # deleted: its vector not yet emptied
        del similarity[gone]
    for key, found in index.parts_of(weights, others).items():
        if any(len(t) > 1 for t in found):
            parts[key] = found
    ceiling = max(similarity.values(), default=1.0)
    floor = min(similarity.values(), default=0.0) if len(similarity) > 1 else 0.0
    span = max(ceiling - floor, 1e-6)
    covers = Coverage(weights, via, index)
    scored: list[tuple[float, str, int, float, float]] = []
    for key in set(parts) | set(similarity):
        keyword = evidence(covers(parts[key])) if key in parts else 0.0
        if key in similarity:
            meaning = min(1.0, max(0.0, (similarity[key] - floor) / span))
        else:  # no vector yet (saved seconds ago): its keywords speak for both halves
            meaning = keyword
        score = KEYWORD * keyword + (1 - KEYWORD) * meaning
        if score > 0:
            scored.append((-score, key[0], key[1], keyword, meaning))
    scored.sort()  # best first, then by kind and id; only those kept become Fused
    fused = [
        Fused(
            kind,
            record_id,
            -negative,
            parts.get((kind, record_id), {}),
            similarity.get((kind, record_id), 0.0),
            keyword,
            meaning,
            [],
            meant.product_like.get((kind, record_id), 0.0),
        )
        for negative, kind, record_id, keyword, meaning in scored[
            : top * pool if adjust is not None else top
        ]
    ]
    if adjust is not None:
        for f in fused:
            f.adjustments = adjust((f.kind, f.id))
            for a in f.adjustments:
                f.score *= a.factor
        fused.sort(key=lambda f: (-f.score, f.kind, f.id))
    return fused[:top]


def evidence(covered: float) -> float:
    """The keyword side's score of a candidate that covers this share of the need."""
    return min(1.0, covered / FULL) ** 2


def as_dict(
    semantic: tuple[str, str, float] | None, product_like: float = 0.0
) -> dict[str, Any] | None:
    """What a suggestion keeps of its closest sentence (and whether it was nearer to the
    firm's product than to its problem)."""
    if semantic is None:
        return None
    field, sentence, similarity = semantic
    out = {"field": field, "sentence": sentence, "similarity": round(similarity, 3)}
    if product_like > 0:
        out["product_like"] = True
    return out
