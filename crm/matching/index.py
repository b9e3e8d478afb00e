"""The in-memory matching index: researchers, achievements and institutions as a term-major
sparse matrix of BM25 contributions, built from the terms stored when each record was written.

Nothing is re-tokenised here: `search_term` already holds every record's analysed terms with the
weight of the field they came from (research directions and achievement titles above bios). A
stored weight stands for a field-weighted term frequency, saturated the BM25 way against the
record's total weight, and scaled by the term's rarity (idf). Scoring a query is one sparse
row-slice and a dot product; the best few come from `argpartition`.

Records saved after the build are absorbed without a rebuild: every save rewrites all of a
record's terms, so the rows above the index's stamp are exactly the changed records, complete.
Their old columns are masked and their new terms kept in a small inverted "delta" scored beside
the matrix; past `MAX_DELTA` changed records the next use rebuilds.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from scipy import sparse

from crm.search.index import NAME, NORMAL, STRONG, WEAK
from crm.search.models import SearchTerm

TARGETS = ("researcher", "achievement", "institution")  # who can solve a need
ADOPTERS = ("need", "enterprise")  # who may want an achievement (成果推介)
#: How much a term from each kind of field counts for matching. Names say who, not what they
#: know: a need that mentions 理工 should not pull in every 理工大学.
FIELD_WEIGHT = {NAME: 0.2, STRONG: 2.0, NORMAL: 1.0, WEAK: 0.6}
K1, B = 1.2, 0.6
MAX_DELTA = 20_000
Key = tuple[int, int]  # (index into the index's kinds, record id)


@dataclass
class MatchIndex:
    terms: dict[str, int]
    matrix: sparse.csr_matrix  # terms × documents
    kinds: np.ndarray  # index into `targets`, per document
    ids: np.ndarray  # record id, per document
    built_in: float = 0.0
    targets: tuple[str, ...] = TARGETS
    stamp: int = -1  # the stored terms it was built from (see `stamp`)
    rows: int = -1  # how many stored rows of the target kinds there were (see `_row_count`)
    idf: np.ndarray | None = None  # per term
    average: float = 1.0  # document length the BM25 saturation is relative to
    masked: np.ndarray | None = None  # documents superseded by the delta
    delta: dict[Key, dict[str, float]] = field(default_factory=dict)
    delta_terms: dict[str, dict[Key, float]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, connection: sa.Connection, targets: tuple[str, ...] = TARGETS) -> MatchIndex:
        """From the stored terms, vectorised: rows come ordered by record, so a record's number
        is a running count of where the (kind, id) pair changes."""
        started = time.perf_counter()
        table = SearchTerm.__table__
        rows = connection.execute(
            sa.select(table.c.kind, table.c.record_id, table.c.term, table.c.weight).where(
                table.c.kind.in_(targets), ~table.c.term.like("py%:%")
            )
        ).all()  # in table order: a sequential scan, sorted below in numpy
        if not rows:
            empty = sparse.csr_matrix((0, 0), dtype=np.float32)
            return cls({}, empty, np.zeros(0, np.int8), np.zeros(0, np.int64), 0.0, targets)
        kind_col, id_col, term_col, weight_col = zip(*rows, strict=True)
        del rows
        codes = {k: i for i, k in enumerate(targets)}
        kinds_all = np.fromiter((codes[k] for k in kind_col), dtype=np.int64, count=len(kind_col))
        ids_all = np.fromiter(id_col, dtype=np.int64, count=len(id_col))
        keys, d_idx = np.unique((kinds_all << 40) | ids_all, return_inverse=True)
        d_idx = d_idx.astype(np.int32)
        terms: dict[str, int] = {}
        t_idx = np.fromiter(
            (terms.setdefault(t, len(terms)) for t in term_col), dtype=np.int32, count=len(term_col)
        )
        stored = np.fromiter(weight_col, dtype=np.float32, count=len(weight_col))
        weight = stored.copy()
        for level, value in FIELD_WEIGHT.items():
            weight[stored == level] = value
        n_docs = len(keys)
        length = np.bincount(d_idx, weights=weight, minlength=n_docs)
        average = float(length.mean())
        df = np.bincount(t_idx, minlength=len(terms)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = K1 * (1 - B + B * length[d_idx] / average)
        contribution = idf[t_idx] * weight * (K1 + 1) / (weight + norm)
        matrix = sparse.csr_matrix(
            (contribution.astype(np.float32), (t_idx, d_idx)), shape=(len(terms), n_docs)
        )
        kinds = (keys >> 40).astype(np.int8)
        ids = keys & ((1 << 40) - 1)
        built = cls(terms, matrix, kinds, ids, time.perf_counter() - started, targets)
        built.idf, built.average = idf, average
        return built

    def save(self, path: Path) -> None:
        """Keep the built index next to the database, for the next process (the CLI)."""
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            data=self.matrix.data,
            indices=self.matrix.indices,
            indptr=self.matrix.indptr,
            shape=np.array(self.matrix.shape),
            kinds=self.kinds,
            ids=self.ids,
            terms=np.array(list(self.terms), dtype=object),
            stamp=np.array([self.stamp]),
            rows=np.array([self.rows]),
            idf=self.idf if self.idf is not None else np.zeros(0, np.float32),
            average=np.array([self.average]),
        )
        os.replace(tmp, path)  # readers never see half a file

    @classmethod
    def load(cls, path: Path, connection: sa.Connection, expected_stamp: int) -> MatchIndex | None:
        """A saved index, if it was built from the terms the database holds now: the same
        stamp and the same number of rows (SQLite can hand out a rolled-back id again, so the
        stamp alone could match a file built from terms that were never committed)."""
        try:
            with np.load(path, allow_pickle=True) as saved:  # our own file, written by `save`
                if int(saved["stamp"][0]) != expected_stamp:
                    return None
                saved_rows = int(saved["rows"][0])
                if saved_rows != _row_count(connection):
                    return None
                matrix = sparse.csr_matrix(
                    (saved["data"], saved["indices"], saved["indptr"]),
                    shape=tuple(saved["shape"]),
                )
                terms = {t: i for i, t in enumerate(saved["terms"].tolist())}
                loaded = cls(terms, matrix, saved["kinds"], saved["ids"])
                loaded.idf, loaded.average = saved["idf"], float(saved["average"][0])
        except (OSError, KeyError, ValueError):
            return None
        loaded.stamp, loaded.rows = expected_stamp, int(saved_rows)
        return loaded

    def absorb(self, connection: sa.Connection, current: int) -> int:
        """Take in the records whose terms were written since the stamp; returns how many."""
        table = SearchTerm.__table__
        rows = connection.execute(  # an id range on the primary key; kinds are sorted out below
            sa.select(table.c.kind, table.c.record_id, table.c.term, table.c.weight).where(
                table.c.id > self.stamp, table.c.id <= current
            )
        ).all()
        changed: dict[Key, dict[str, float]] = {}
        codes = {k: i for i, k in enumerate(self.targets)}
        for kind, record_id, term, stored in rows:
            if kind in codes and not term.startswith(("py:", "pyi:")):
                changed.setdefault((codes[kind], record_id), {})[term] = FIELD_WEIGHT.get(
                    stored, stored
                )
        keys = (self.kinds.astype(np.int64) << 40) | self.ids  # sorted: built by np.unique
        if self.masked is None:
            self.masked = np.zeros(self.size, dtype=bool)
        unseen = float(np.log1p((self.size + 0.5) / 1.5))  # a term no built record has
        for key, weights in changed.items():
            wanted = (key[0] << 40) | key[1]
            position = int(np.searchsorted(keys, wanted))
            if position < len(keys) and keys[position] == wanted:
                self.masked[position] = True
            for term in self.delta.pop(key, {}):
                self.delta_terms[term].pop(key, None)
            length = sum(weights.values())
            norm = K1 * (1 - B + B * length / self.average)
            contributions = {}
            for term, weight in weights.items():
                position_t = self.terms.get(term)
                idf = float(self.idf[position_t]) if position_t is not None else unseen
                contributions[term] = idf * weight * (K1 + 1) / (weight + norm)
                self.delta_terms.setdefault(term, {})[key] = contributions[term]
            self.delta[key] = contributions
        self.stamp = current
        return len(changed)

    def score(
        self, query: dict[str, float], kinds: tuple[str, ...] | None = None, top: int = 10
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        """The best `top` documents of these kinds: (kind, id, score, {term: contribution})."""
        kinds = kinds or self.targets
        found = self._score_matrix(query, kinds, top)
        if self.delta:
            found = sorted(found + self._score_delta(query, kinds), key=lambda f: -f[2])[:top]
        return found

    def _score_delta(
        self, query: dict[str, float], kinds: tuple[str, ...]
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        wanted = {self.targets.index(k) for k in kinds}
        parts: dict[Key, dict[str, float]] = {}
        for term, weight in query.items():
            for key, contribution in self.delta_terms.get(term, {}).items():
                if key[0] in wanted:
                    parts.setdefault(key, {})[term] = weight * contribution
        return [(self.targets[k], i, sum(p.values()), p) for (k, i), p in parts.items()]

    def _score_matrix(
        self, query: dict[str, float], kinds: tuple[str, ...], top: int
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        known = [(t, w) for t, w in query.items() if t in self.terms]
        if not known or self.size == 0:
            return []
        rows = self.matrix[[self.terms[t] for t, _ in known]]
        weights = np.array([w for _, w in known], dtype=np.float32)
        scores = np.asarray(rows.T @ weights).ravel()
        if self.masked is not None:
            scores[self.masked] = 0.0
        if set(kinds) != set(self.targets):
            allowed = np.isin(self.kinds, [self.targets.index(k) for k in kinds])
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
            kind = self.targets[self.kinds[doc]]
            found.append((kind, int(self.ids[doc]), float(scores[doc]), parts))
        return found


_lock = threading.Lock()
_indexes: dict[tuple[str, ...], MatchIndex] = {}


def _row_count(connection: sa.Connection, targets: tuple[str, ...] = TARGETS) -> int:
    """Stored rows of the target kinds: counted on the (kind, record_id, term) index."""
    table = SearchTerm.__table__
    return int(
        connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.kind.in_(targets))
        ).scalar_one()
    )


def stamp(connection: sa.Connection) -> int:
    """Changes whenever terms are written: every save of a record inserts its terms anew, so
    the highest row id moves (an index lookup, not a scan). A record deleted since the index
    was built is dropped when results are read."""
    table = SearchTerm.__table__
    return int(connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0)


def get_index(
    connection: sa.Connection, saved: Path | None = None, targets: tuple[str, ...] = TARGETS
) -> MatchIndex:
    """The process's index of these kinds, kept current: records saved since it was built are
    taken in; it is built (or, with `saved`, loaded from the file an earlier process left, and
    written there for the next one) only when there is none or the delta has grown large."""
    current = stamp(connection)
    index = _indexes.get(targets)
    if index is not None and index.stamp > current:
        # rows at the top were deleted (or a transaction we read rolled back): nothing new to
        # take in; a deleted record is dropped when results are read, and ids above `current`
        # that show up again are taken in then
        with _lock:
            index.stamp = min(index.stamp, current)
        return index
    if index is not None and index.stamp < current and len(index.delta) < MAX_DELTA:
        with _lock:
            if index.stamp < current:
                index.absorb(connection, current)
        return index
    if index is None or index.stamp != current:
        with _lock:
            index = _indexes.get(targets)
            if index is None or index.stamp != current:
                loaded = (
                    MatchIndex.load(saved, connection, current)
                    if saved is not None and targets == TARGETS and saved.exists()
                    else None
                )
                if loaded is None:
                    loaded = MatchIndex.build(connection, targets)
                    loaded.stamp, loaded.rows = current, _row_count(connection, targets)
                    if saved is not None and targets == TARGETS:
                        loaded.save(saved)
                _indexes[targets] = index = loaded
    return index


def rebuild(connection: sa.Connection, targets: tuple[str, ...] = TARGETS) -> MatchIndex:
    """Build afresh (tests, benchmarks)."""
    with _lock:
        index = MatchIndex.build(connection, targets)
        index.stamp, index.rows = stamp(connection), _row_count(connection, targets)
        _indexes[targets] = index
    return index
