"""The keyword index's top-k (summing postings, looking only above a bound) against a plain
reference: every document scored densely, single characters never enough on their own."""

from __future__ import annotations

import random

import numpy as np
import pytest

from crm.matching.index import TARGETS, MatchIndex
from crm.text.terms import NORMAL, STRONG, WEAK, pack

WORDS = [f"词{i}" for i in range(25)] + ["不", "的", "锅"]


def _reference(index: MatchIndex, query: dict[str, float], kinds, top):
    dense = index.matrix.toarray()
    words = [(t, w) for t, w in query.items() if t in index.terms and len(t) > 1]
    singles = [(t, w) for t, w in query.items() if t in index.terms and len(t) == 1]
    multi = sum((dense[index.terms[t]] * w for t, w in words), np.zeros(index.size))
    total = multi + sum((dense[index.terms[t]] * w for t, w in singles), np.zeros(index.size))
    allowed = np.isin(index.kinds, [index.targets.index(k) for k in kinds])
    if index.masked is not None:
        allowed &= ~index.masked
    ok = np.flatnonzero((multi > 0) & allowed)
    ranked = sorted(ok.tolist(), key=lambda d: -total[d])[:top]
    return [round(float(total[d]), 4) for d in ranked]


@pytest.mark.parametrize("seed", range(25))
def test_top_k_matches_a_dense_reference(seed):
    rnd = random.Random(seed)
    rows = []
    for doc in range(rnd.randint(5, 300)):
        terms = {
            w: rnd.choice([STRONG, NORMAL, WEAK]) for w in rnd.sample(WORDS, rnd.randint(1, 6))
        }
        rows.append((rnd.choice(TARGETS), doc + 1, pack(terms)))
    index = MatchIndex.from_docs(rows)
    if seed % 3 == 0:  # some documents superseded by the delta
        index.take([(k, i, pack({"词1": NORMAL})) for k, i, _ in rows[: len(rows) // 4]])
    for _ in range(20):
        query = {w: rnd.choice([1.5, 1.0, 0.3]) for w in rnd.sample(WORDS, rnd.randint(1, 5))}
        kinds = rnd.choice([TARGETS, ("researcher",), ("achievement", "institution")])
        top = rnd.choice([1, 3, 10, 30])
        found = [d for d in index._best(query, kinds, top)]
        assert [round(s, 4) for _, _, s, _, _ in found] == _reference(index, query, kinds, top)


@pytest.mark.parametrize("seed", range(10))
def test_both_ways_of_explaining_agree_with_the_matrix(seed):
    rnd = random.Random(seed)
    rows = [
        (rnd.choice(TARGETS), doc + 1, pack({w: NORMAL for w in rnd.sample(WORDS, 4)}))
        for doc in range(120)
    ]
    index = MatchIndex.from_docs(rows)
    dense = index.matrix.toarray()
    query = {w: rnd.choice([1.5, 0.7]) for w in rnd.sample(WORDS, 6)}
    documents = rnd.sample(range(index.size), 60)
    by_term = index._explain_by_term(query, documents)
    by_document = {d: index._explain(query, [d])[d] for d in documents}
    assert by_term.keys() == by_document.keys()
    for d in documents:
        expected = {
            t: float(dense[index.terms[t], d]) * w
            for t, w in query.items()
            if t in index.terms and dense[index.terms[t], d] > 0
        }
        assert by_term[d] == pytest.approx(expected) and by_document[d] == pytest.approx(expected)
