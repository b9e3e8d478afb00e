"""Each process's matching indexes: kept per app, brought up to date from the docs committed
since (`get_index`), saved next to the database for the next process and loaded from there,
and fed what this process commits without reading it back (`install`)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from flask import current_app, has_app_context
from scipy import sparse

from crm.matching.index import MAX_DELTA, TARGETS, MatchIndex
from crm.text.docs import COMMITTED, versions


def save(index: MatchIndex, path: Path) -> None:
    """Keep the built index next to the database, for the next process (the CLI)."""
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        data=index.matrix.data,
        indices=index.matrix.indices,
        indptr=index.matrix.indptr,
        shape=np.array(index.matrix.shape),
        kinds=index.kinds,
        ids=index.ids,
        terms=np.array(list(index.terms), dtype=object),
        stamp=np.array([index.stamp, index.epoch]),
        idf=index.idf if index.idf is not None else np.zeros(0, np.float32),
        described=index.described if index.described is not None else np.zeros(0, bool),
        average=np.array([index.average]),
    )
    os.replace(tmp, path)  # readers never see half a file


def load(path: Path, current: dict[str, int]) -> MatchIndex | None:
    """A saved index of this database no newer than its docs; what changed since it was
    saved is taken in by `absorb`."""
    try:
        with np.load(path, allow_pickle=True) as saved:  # our own file, written by `save`
            stamp, epoch = (int(v) for v in saved["stamp"])
            if epoch != current.get("epoch", 0) or stamp > current.get("docs", 0):
                return None
            matrix = sparse.csr_matrix(
                (saved["data"], saved["indices"], saved["indptr"]),
                shape=tuple(saved["shape"]),
            )
            matrix.sort_indices()
            terms = {t: i for i, t in enumerate(saved["terms"].tolist())}
            loaded = MatchIndex(terms, matrix, saved["kinds"], saved["ids"])
            loaded.idf, loaded.average = saved["idf"], float(saved["average"][0])
            loaded.described = saved["described"]
    except (OSError, KeyError, ValueError):
        return None
    loaded.stamp, loaded.epoch = stamp, epoch
    return loaded


_lock = threading.Lock()
_process_indexes: dict[tuple[str, ...], MatchIndex] = {}


def _indexes() -> dict[tuple[str, ...], MatchIndex]:
    """This app's indexes (two apps in one process are two workers, as in the tests)."""
    if has_app_context():
        return current_app.extensions.setdefault("match_indexes", {})
    return _process_indexes


def get_index(
    connection: sa.Connection, saved: Path | None = None, targets: tuple[str, ...] = TARGETS
) -> MatchIndex:
    """The app's index of these kinds, kept current: docs committed since it was built are
    taken in; it is built (or, with `saved`, loaded from the file an earlier process left and
    brought up to date) only when there is none, the database is another one, or the delta
    has grown large."""
    current = versions(connection)
    docs, epoch = current.get("docs", 0), current.get("epoch", 0)
    indexes = _indexes()
    index = indexes.get(targets)
    if index is not None and index.epoch == epoch and index.stamp == docs:
        return index
    with _lock:
        index = indexes.get(targets)
        if index is not None and index.epoch == epoch and index.stamp == docs:
            return index
        if index is None or index.epoch != epoch or index.stamp > docs:
            index = None
            if saved is not None and targets == TARGETS and saved.exists():
                index = load(saved, current)
        if index is not None and index.stamp < docs:
            took = index.absorb(connection, docs)
            if len(index.delta) > MAX_DELTA:
                index = None
            elif saved is not None and targets == TARGETS and took > SAVE_AFTER:
                save(index, saved)
        if index is None:
            index = MatchIndex.build(connection, targets)
            if saved is not None and targets == TARGETS:
                save(index, saved)
        indexes[targets] = index
    return index


SAVE_AFTER = 1000  # records taken in before a loaded index is saved again


def _took_own(version: int, docs: list[tuple[str, int, str]]) -> None:
    """Docs this process has just committed as `version`: an index that was current up to
    the version before takes them in without reading them back (any other case is left to
    the next `get_index`, which reads what changed)."""
    if not has_app_context():
        return
    for targets, index in list(_indexes().items()):
        if index.stamp == version - 1:
            with _lock:
                if index.stamp == version - 1:
                    index.take([d for d in docs if d[0] in targets])
                    index.stamp = version


def rebuild(connection: sa.Connection, targets: tuple[str, ...] = TARGETS) -> MatchIndex:
    """Build afresh (tests, benchmarks)."""
    with _lock:
        index = MatchIndex.build(connection, targets)
        _indexes()[targets] = index
    return index


def install() -> None:
    """Let this process's indexes take in what it commits itself (idempotent)."""
    if _took_own not in COMMITTED:
        COMMITTED.append(_took_own)
