"""The in-memory matching index: researchers, achievements and institutions as a term-major
sparse matrix of BM25 contributions, built from the terms stored when each record was written.

Nothing is re-tokenised here: each record's analysed terms were packed into one `match_doc`
row when it was saved, grouped by the weight of the field they came from (research directions
and achievement titles above bios). A stored weight stands for a field-weighted term
frequency, saturated the BM25 way against the record's total weight, and scaled by the
term's rarity (idf). Scoring a query is one sparse row-slice and a dot product; the best few
come from `argpartition`; each term's part in a score shown is read in `crm.matching.contributions`.

Staying current across workers: every transaction that writes docs takes the next value of
the `docs` counter as it commits (`crm.text.docs.bump`) and stamps its docs with it. A
worker compares its index's version with the counter (one primary-key read) and takes in the
docs stamped since: their old columns are masked and their new terms kept in a small inverted
"delta" scored beside the matrix. A deleted record's doc is empty, so it is masked
everywhere. Past `MAX_DELTA` changed records the next use rebuilds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sqlalchemy as sa
from scipy import sparse

from crm.matching.contributions import TermContributions
from crm.text.docs import versions
from crm.text.models import MatchDoc
from crm.text.normal import CJK
from crm.text.terms import NAME, NORMAL, STRONG, WEAK, unpack

TARGETS = ("researcher", "achievement", "institution")  # who can solve a need
ADOPTERS = ("need", "enterprise")  # who may want an achievement (成果推介)
#: How much a term from each kind of field counts for matching. Names say who, not what they
#: know: a need that mentions 理工 should not pull in every 理工大学.
FIELD_WEIGHT = {NAME: 0.2, STRONG: 2.0, NORMAL: 1.0, WEAK: 0.6}
K1, B = 1.2, 0.6
MAX_DELTA = 20_000
KTH_CACHE = 100_000  # (term, k) bounds kept per index
Key = tuple[int, int]  # (index into the index's kinds, record id)


@dataclass
class MatchIndex(TermContributions):
    terms: dict[str, int]
    matrix: sparse.csr_matrix  # terms × documents
    kinds: np.ndarray  # index into `targets`, per document
    ids: np.ndarray  # record id, per document
    built_in: float = 0.0
    targets: tuple[str, ...] = TARGETS
    stamp: int = -1  # the docs version it holds
    epoch: int = 0  # the database it was built from
    idf: np.ndarray | None = None  # per term
    described: np.ndarray | None = None  # per term: found in a field other than a name
    average: float = 1.0  # document length the BM25 saturation is relative to
    masked: np.ndarray | None = None  # documents superseded by the delta
    delta: dict[Key, dict[str, float]] = field(default_factory=dict)
    delta_terms: dict[str, dict[Key, float]] = field(default_factory=dict)
    #: (term, k) → the term's k-th largest contribution in the matrix, worked out once: the
    #: matrix never changes (changes go to the delta), and needs share most of their words
    _kth: dict[tuple[int, int], float] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.ids)

    @cached_property
    def _by_character(self) -> dict[str, set[str]]:
        """Words of two or more characters by each character in them, from what records say
        about their work (not their names: 计量 in 中国计量大学 says nothing about 计算)."""
        out: dict[str, set[str]] = {}
        described = self.described
        for term, number in self.terms.items():
            if len(term) >= 2 and CJK.search(term) and (described is None or described[number]):
                for ch in set(term):
                    out.setdefault(ch, set()).add(term)
        return out

    def words_with(self, character: str) -> set[str]:
        return self._by_character.get(character, set())

    @cached_property
    def keys(self) -> np.ndarray:
        """(kind, id) of each document as one sorted number, for bisection."""
        return (self.kinds.astype(np.int64) << 40) | self.ids

    @classmethod
    def build(cls, connection: sa.Connection, targets: tuple[str, ...] = TARGETS) -> MatchIndex:
        """From the stored docs (one row per record), at the docs version read first: a doc
        committed meanwhile may be read too, and is simply taken in again later."""
        started = time.perf_counter()
        counters = versions(connection)
        table = MatchDoc.__table__
        rows = connection.execute(
            sa.select(table.c.kind, table.c.record_id, table.c.terms).where(
                table.c.kind.in_(targets), table.c.terms != ""
            )
        ).all()
        built = cls.from_docs(rows, targets)
        built.stamp, built.epoch = counters.get("docs", 0), counters.get("epoch", 0)
        built.built_in = time.perf_counter() - started
        return built

    @classmethod
    def from_docs(cls, rows: Sequence[Any], targets: tuple[str, ...] = TARGETS) -> MatchIndex:
        """Vectorised: each doc's weight groups are counted in Python; terms get their numbers
        through one dict built in C, and everything else is numpy."""
        if not rows:
            empty = sparse.csr_matrix((0, 0), dtype=np.float32)
            return cls({}, empty, np.zeros(0, np.int8), np.zeros(0, np.int64), 0.0, targets)
        codes = {k: i for i, k in enumerate(targets)}
        keys = np.fromiter(
            ((codes[kind] << 40) | record_id for kind, record_id, _ in rows),
            dtype=np.int64,
            count=len(rows),
        )
        order = np.argsort(keys, kind="stable")  # documents in key order: found by bisection
        words: list[str] = []
        counts: list[int] = []
        group_weights: list[float] = []
        group_docs: list[int] = []
        group_named: list[bool] = []  # a name's terms say who, not what (see `words_with`)
        for doc, position in enumerate(order.tolist()):
            for weight, group in unpack(rows[position][2]):
                words += group
                counts.append(len(group))
                group_weights.append(FIELD_WEIGHT.get(weight, weight))
                group_named.append(weight >= NAME)
                group_docs.append(doc)
        terms = {w: i for i, w in enumerate(dict.fromkeys(words))}
        t_idx = np.fromiter(map(terms.__getitem__, words), dtype=np.int32, count=len(words))
        del words
        repeat = np.array(counts, dtype=np.int64)
        d_idx = np.repeat(np.array(group_docs, dtype=np.int32), repeat)
        weight = np.repeat(np.array(group_weights, dtype=np.float32), repeat)
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
        matrix.sort_indices()  # each term's postings in document order: `_explain` bisects
        sorted_keys = keys[order]
        kinds = (sorted_keys >> 40).astype(np.int8)
        ids = sorted_keys & ((1 << 40) - 1)
        built = cls(terms, matrix, kinds, ids, 0.0, targets)
        built.idf, built.average = idf, average
        named = np.repeat(np.array(group_named, dtype=bool), repeat)
        built.described = np.zeros(len(terms), dtype=bool)
        built.described[t_idx[~named]] = True
        return built

    def absorb(self, connection: sa.Connection, current: int) -> int:
        """Take in the docs stamped after this index's version, up to `current`; returns how
        many records changed."""
        table = MatchDoc.__table__
        # kinds are sorted out here: a kind filter in SQL leads SQLite to the primary key
        # (a scan of every researcher) instead of the version index
        changed = sa.select(table.c.kind, table.c.record_id, table.c.terms).where(
            table.c.version > self.stamp, table.c.version <= current
        )
        rows = [row for row in connection.execute(changed) if row.kind in self.targets]
        self.take(rows)
        self.stamp = current
        return len(rows)

    def take(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """Replace these records' documents by the given packed terms (empty: deleted)."""
        keys = self.keys
        if self.masked is None:
            self.masked = np.zeros(self.size, dtype=bool)
        codes = {k: i for i, k in enumerate(self.targets)}
        unseen = float(np.log1p((self.size + 0.5) / 1.5))  # a term no built record has
        for kind, record_id, packed in rows:
            key = (codes[kind], record_id)
            wanted = (key[0] << 40) | key[1]
            position = int(np.searchsorted(keys, wanted))
            if position < len(keys) and keys[position] == wanted:
                self.masked[position] = True
            for term in self.delta.pop(key, {}):
                self.delta_terms[term].pop(key, None)
            weights = {
                term: FIELD_WEIGHT.get(weight, weight)
                for weight, group in unpack(packed)
                for term in group
            }
            if not weights:
                continue  # deleted
            length = sum(weights.values())
            norm = K1 * (1 - B + B * length / self.average)
            contributions = {}
            for term, weight in weights.items():
                position_t = self.terms.get(term)
                idf = float(self.idf[position_t]) if position_t is not None else unseen
                contributions[term] = idf * weight * (K1 + 1) / (weight + norm)
                self.delta_terms.setdefault(term, {})[key] = contributions[term]
            self.delta[key] = contributions

    def score(
        self, query: dict[str, float], kinds: tuple[str, ...] | None = None, top: int = 10
    ) -> list[tuple[str, int, float, dict[str, float]]]:
        """The best `top` documents of these kinds: (kind, id, score, {term: contribution})."""
        return [(k, i, s, parts) for k, i, s, parts, _ in self.rank(query, kinds, top)]

    def rank(
        self,
        query: dict[str, float],
        kinds: tuple[str, ...] | None = None,
        top: int = 10,
        adjust: Callable[[tuple[str, int]], list[Any]] | None = None,
        pool: int = 3,
    ) -> list[tuple[str, int, float, dict[str, float], list[Any]]]:
        """The best `top` by text score; with `adjust` (a need's priors: (kind, id) → parts
        with a `factor`), the best `pool` × top by text reordered by text × prior. Only the
        final few are explained (per-term contributions)."""
        kinds = kinds or self.targets
        want = top * pool if adjust is not None else top
        found = self._best(query, kinds, want)  # (kind, id, score, document or -1, parts)
        if self.delta:
            found = sorted(found + self._score_delta(query, kinds), key=lambda f: -f[2])[:want]
        ranked = []
        for kind, record_id, text_score, document, parts in found:
            adjustments = adjust((kind, record_id)) if adjust is not None else []
            factor = 1.0
            for a in adjustments:
                factor *= a.factor
            ranked.append((kind, record_id, text_score * factor, document, parts, adjustments))
        ranked.sort(key=lambda r: -r[2])
        ranked = ranked[:top]
        explained = self._explain(query, [r[3] for r in ranked if r[3] >= 0])
        return [
            (kind, record_id, score, parts if document < 0 else explained[document], adjustments)
            for kind, record_id, score, document, parts, adjustments in ranked
        ]

    def _score_delta(
        self, query: dict[str, float], kinds: tuple[str, ...]
    ) -> list[tuple[str, int, float, int, dict[str, float]]]:
        wanted = {self.targets.index(k) for k in kinds}
        parts: dict[Key, dict[str, float]] = {}
        for term, weight in query.items():
            for key, contribution in list(self.delta_terms.get(term, {}).items()):
                if key[0] in wanted:
                    parts.setdefault(key, {})[term] = weight * contribution
        return [
            (self.targets[k], i, sum(p.values()), -1, p)
            for (k, i), p in parts.items()
            if any(len(t) > 1 for t in p)  # single characters alone are no match
        ]

    def _best(
        self, query: dict[str, float], kinds: tuple[str, ...], top: int
    ) -> list[tuple[str, int, float, int, dict[str, float]]]:
        """The `top` matrix documents by score, best first (not yet explained). A document
        that shares only single characters with the query (不, 过, 冒 …) is not a match.

        Scores are summed over the query terms' postings (`np.bincount` of their CSR row
        slices) and only the documents those postings name are filtered and ranked: no pass
        over every document but the one that sums."""
        known = [(self.terms[t], w, len(t) > 1) for t, w in query.items() if t in self.terms]
        if self.size == 0 or not any(multi for _, _, multi in known):
            return []
        indptr, indices, data = self.matrix.indptr, self.matrix.indices, self.matrix.data
        words = [(n, w) for n, w, multi in known if multi]
        postings = [indices[indptr[n] : indptr[n + 1]] for n, _ in words]
        values = [data[indptr[n] : indptr[n + 1]] * w for n, w in words]
        matched = np.concatenate(postings)
        scores = np.bincount(matched, weights=np.concatenate(values), minlength=self.size)
        for number, weight, multi in known:
            if not multi:  # counts only where a word already matched
                docs = indices[indptr[number] : indptr[number + 1]]
                hit = scores[docs] > 0
                scores[docs[hit]] += data[indptr[number] : indptr[number + 1]][hit] * weight
        # A lower bound on the top-th best score: one term's top-th largest contribution
        # (its documents score at least that much). Only documents above it are looked at:
        # a comparison pass instead of gathering every non-zero of 100k scores.
        bound = 0.0
        for number, weight in words:
            if top > 0 and indptr[number + 1] - indptr[number] >= top:
                bound = max(bound, self._kth_largest(number, top) * weight)
        above = scores >= bound * (1 - 1e-6) if bound > 0 else scores > 0
        candidates = self._allowed(np.flatnonzero(above), kinds)
        if bound > 0 and len(candidates) < top:  # the bound was met by documents left out
            candidates = self._allowed(np.flatnonzero(scores), kinds)
        if len(candidates) > top:
            best = np.argpartition(-scores[candidates], top)[:top]
            candidates = candidates[best]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [
            (self.targets[self.kinds[doc]], int(self.ids[doc]), float(scores[doc]), int(doc), {})
            for doc in order
        ]

    def _kth_largest(self, number: int, k: int) -> float:
        found = self._kth.get((number, k))
        if found is None:
            if len(self._kth) >= KTH_CACHE:  # k varies with a need's rejected count: bounded
                self._kth.clear()
            row = self.matrix.data[self.matrix.indptr[number] : self.matrix.indptr[number + 1]]
            found = self._kth[(number, k)] = float(np.partition(row, -k)[-k])
        return found

    def _allowed(self, candidates: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
        """Candidates less the masked (superseded) documents and those of other kinds."""
        if self.masked is not None:
            candidates = candidates[~self.masked[candidates]]
        if set(kinds) != set(self.targets):
            wanted = [self.targets.index(k) for k in kinds]
            candidates = candidates[np.isin(self.kinds[candidates], wanted)]
        return candidates
