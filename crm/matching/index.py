"""The in-memory matching index: researchers, achievements and institutions as a term-major
sparse matrix of BM25 contributions, built from the terms stored when each record was written.

Nothing is re-tokenised here: `search_term` already holds every record's analysed terms with the
weight of the field they came from (research directions and achievement titles above bios). A
stored weight stands for a field-weighted term frequency, saturated the BM25 way against the
record's total weight, and scaled by the term's rarity (idf). Scoring a query is one sparse
row-slice and a dot product; the best few come from `argpartition`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from scipy import sparse

from crm.search.index import NAME, NORMAL, STRONG, WEAK
from crm.search.models import SearchTerm

TARGETS = ("researcher", "achievement", "institution")
#: How much a term from each kind of field counts for matching. Names say who, not what they
#: know: a need that mentions 理工 should not pull in every 理工大学.
FIELD_WEIGHT = {NAME: 0.2, STRONG: 2.0, NORMAL: 1.0, WEAK: 0.6}
K1, B = 1.2, 0.6


@dataclass
class MatchIndex:
    terms: dict[str, int]
    matrix: sparse.csr_matrix  # terms × documents
    kinds: np.ndarray  # index into TARGETS, per document
    ids: np.ndarray  # record id, per document
    built_in: float = 0.0
    positions: dict[tuple[int, int], int] = field(default_factory=dict)
    stamp: int = -1  # the stored terms it was built from (see `stamp`)

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, connection: sa.Connection) -> MatchIndex:
        started = time.perf_counter()
        table = SearchTerm.__table__
        rows = connection.execute(
            sa.select(table.c.kind, table.c.record_id, table.c.term, table.c.weight)
            .where(table.c.kind.in_(TARGETS), ~table.c.term.like("py%:%"))
            .order_by(table.c.kind, table.c.record_id)
        ).all()
        kind_code = {k: i for i, k in enumerate(TARGETS)}
        terms: dict[str, int] = {}
        docs: dict[tuple[int, int], int] = {}
        t_idx = np.empty(len(rows), dtype=np.int32)
        d_idx = np.empty(len(rows), dtype=np.int32)
        weight = np.empty(len(rows), dtype=np.float32)
        for n, (kind, record_id, term, stored) in enumerate(rows):
            t_idx[n] = terms.setdefault(term, len(terms))
            d_idx[n] = docs.setdefault((kind_code[kind], record_id), len(docs))
            weight[n] = FIELD_WEIGHT.get(stored, stored)
        n_docs = max(len(docs), 1)
        length = np.bincount(d_idx, weights=weight, minlength=n_docs)
        average = float(length.mean()) if len(docs) else 1.0
        df = np.bincount(t_idx, minlength=len(terms)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = K1 * (1 - B + B * length[d_idx] / average)
        contribution = idf[t_idx] * weight * (K1 + 1) / (weight + norm)
        matrix = sparse.csr_matrix(
            (contribution.astype(np.float32), (t_idx, d_idx)), shape=(len(terms), n_docs)
        )
        keys = list(docs)
        kinds = np.array([k for k, _ in keys], dtype=np.int8)
        ids = np.array([i for _, i in keys], dtype=np.int64)
        return cls(terms, matrix, kinds, ids, time.perf_counter() - started, docs)

    def score(
        self, query: dict[str, float], kinds: tuple[str, ...] = TARGETS, top: int = 10
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        """The best `top` documents of these kinds: (kind, id, score, {term: contribution})."""
        known = [(t, w) for t, w in query.items() if t in self.terms]
        if not known or self.size == 0:
            return []
        rows = self.matrix[[self.terms[t] for t, _ in known]]
        weights = np.array([w for _, w in known], dtype=np.float32)
        scores = np.asarray(rows.T @ weights).ravel()
        if set(kinds) != set(TARGETS):
            allowed = np.isin(self.kinds, [TARGETS.index(k) for k in kinds])
            scores = np.where(allowed, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > top:
            best = np.argpartition(-scores[candidates], top)[:top]
            candidates = candidates[best]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        dense = rows[:, order].toarray() * weights[:, None] if len(order) else None
        found = []
        for j, doc in enumerate(order):
            parts = {t: float(dense[i, j]) for i, (t, _) in enumerate(known) if dense[i, j] > 0}
            found.append((TARGETS[self.kinds[doc]], int(self.ids[doc]), float(scores[doc]), parts))
        return found


_lock = threading.Lock()
_index: MatchIndex | None = None


def stamp(connection: sa.Connection) -> int:
    """Changes whenever terms are written: every save of a record inserts its terms anew, so
    the highest row id moves (an index lookup, not a scan). A record deleted since the index
    was built is dropped when results are read."""
    table = SearchTerm.__table__
    return int(connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0)


def get_index(connection: sa.Connection) -> MatchIndex:
    """The process's index, rebuilt when the stored terms have changed since it was built."""
    global _index
    current = stamp(connection)
    if _index is None or _index.stamp != current:
        with _lock:
            if _index is None or _index.stamp != current:
                _index = MatchIndex.build(connection)
                _index.stamp = current
    return _index


def rebuild(connection: sa.Connection) -> MatchIndex:
    """Build afresh (after records changed in this process; tests)."""
    global _index
    with _lock:
        _index = MatchIndex.build(connection)
    _index.stamp = stamp(connection)
    return _index
