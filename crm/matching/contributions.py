"""Which terms made a record's keyword score: each document's per-term contributions to a
query, mixed into `crm.matching.index.MatchIndex` (`TermContributions`).

For the few a query ranked first, their columns' terms are read from the document-major copy
of the matrix (`_explain`); for the many found by meaning, each query term's postings are
searched for all of them at once (`_explain_by_term`); a record changed since the build is
read from the delta (`parts_of`). `present` says which records the index holds as live.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import sparse


class TermContributions:
    """The explaining side of `MatchIndex`: reads its terms and matrix, its documents' keys
    (`keys`, `size`) and which are superseded (`masked`), its kinds (`targets`) and the
    records changed since the build (`delta`)."""

    terms: dict[str, int]
    matrix: sparse.csr_matrix
    targets: tuple[str, ...]
    keys: np.ndarray
    size: int
    masked: np.ndarray | None
    delta: dict[tuple[int, int], dict[str, float]]

    def _documents(self, records: list[tuple[str, int]]) -> dict[int, tuple[str, int]]:
        """The live matrix documents of these records (not those in the delta), by number."""
        codes = {k: i for i, k in enumerate(self.targets)}
        rest = [(k, i) for k, i in records if k in codes and (codes[k], i) not in self.delta]
        if not rest or not self.size:
            return {}
        numbers = np.fromiter(
            ((codes[k] << 40) | i for k, i in rest), dtype=np.int64, count=len(rest)
        )
        at = np.minimum(np.searchsorted(self.keys, numbers), self.size - 1)
        found = self.keys[at] == numbers
        if self.masked is not None:
            found &= ~self.masked[at]
        return {int(a): rest[j] for j, a in enumerate(at.tolist()) if bool(found[j])}

    def _in_delta(self, records: list[tuple[str, int]]) -> list[tuple[str, int]]:
        codes = {k: i for i, k in enumerate(self.targets)}
        return [(k, i) for k, i in records if k in codes and (codes[k], i) in self.delta]

    def present(self, wanted: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """Those of these records the index holds as live (a deleted record is masked and
        has no delta; its vector may not have been emptied yet)."""
        return set(self._in_delta(wanted)) | set(self._documents(wanted).values())

    def parts_of(
        self, query: dict[str, float], wanted: list[tuple[str, int]]
    ) -> dict[tuple[str, int], dict[str, float]]:
        """Per-term contributions of given records (found some other way: by meaning) to
        this query's score; a record that matches no term is left out."""
        codes = {k: i for i, k in enumerate(self.targets)}
        out: dict[tuple[str, int], dict[str, float]] = {}
        for kind, record_id in self._in_delta(wanted):
            terms = self.delta[(codes[kind], record_id)]
            if parts := {t: w * terms[t] for t, w in query.items() if t in terms}:
                out[(kind, record_id)] = parts
        documents = self._documents(wanted)
        for document, parts in self._explain(query, list(documents)).items():
            if parts:
                out[documents[document]] = parts
        return out

    @cached_property
    def by_document(self) -> sparse.csc_matrix:
        """The same matrix document-major, for explanations: a document's terms are one
        column slice (made once, at the first explanation; about a third of the matrix's
        memory again)."""
        by_document = self.matrix.tocsc()
        by_document.sort_indices()
        return by_document

    def _explain(
        self, query: dict[str, float], documents: list[int]
    ) -> dict[int, dict[str, float]]:
        """Each document's per-term contributions to its score: for a few documents, their
        columns' terms that the query has; for many (those found by meaning), each query
        term's postings searched for all of them at once."""
        if not documents:
            return {}
        if len(documents) > 30:
            return self._explain_by_term(query, documents)
        numbers = {self.terms[t]: (t, w) for t, w in query.items() if t in self.terms}
        columns = self.by_document
        indptr, indices, data = columns.indptr, columns.indices, columns.data
        out: dict[int, dict[str, float]] = {}
        for doc in documents:
            start, end = int(indptr[doc]), int(indptr[doc + 1])
            parts: dict[str, float] = {}
            for number, value in zip(
                indices[start:end].tolist(), data[start:end].tolist(), strict=True
            ):
                found = numbers.get(number)
                if found is not None:
                    parts[found[0]] = value * found[1]
            out[doc] = parts
        return out

    def _explain_by_term(
        self, query: dict[str, float], documents: list[int]
    ) -> dict[int, dict[str, float]]:
        indptr, indices, data = self.matrix.indptr, self.matrix.indices, self.matrix.data
        wanted = np.asarray(documents)
        out: dict[int, dict[str, float]] = {doc: {} for doc in documents}
        for term, weight in query.items():
            number = self.terms.get(term)
            if number is None:
                continue
            row = indices[indptr[number] : indptr[number + 1]]
            if not len(row):
                continue
            at = np.minimum(np.searchsorted(row, wanted), len(row) - 1)
            for j in np.flatnonzero(row[at] == wanted).tolist():
                out[documents[j]][term] = float(data[indptr[number] + at[j]]) * weight
        return out
