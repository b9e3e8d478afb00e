"""Each process's in-memory vector index of the records matching reads: built from the stored
vectors (`crm.matching.embeddings` says what they are and how they are made), saved next to
the database for the next process, and kept current.

**Reading**: `get_vectors` keeps each process's index current as `get_index` does for
keywords: the `vectors` counter says what changed, and rows stamped since are taken in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from flask import current_app, has_app_context

from crm.matching.embeddings import PASSAGES, unpack
from crm.matching.meaning import MeaningSearch
from crm.text import embed
from crm.text.docs import versions
from crm.text.models import MatchVector

logger = logging.getLogger(__name__)

REBUILD_AFTER = 5000  # records changed since the build: then the index is built again


@dataclass
class VectorIndex(MeaningSearch):
    """Each record's vectors for one side — passages (what needs are matched to) or queries
    (what achievements are offered to): the mean vectors as rows of one float32 matrix, in
    (kind, id) key order, and every sentence vector (float16) with each record's offset.
    Searched by meaning through `MeaningSearch` (`pools`, `meaning`, `nearest`)."""

    kinds: tuple[str, ...]
    keys: np.ndarray  # sorted (kind index << 40 | id)
    matrix: np.ndarray  # float32, len(keys) × DIM; a deleted record's row is zeros
    sentences: np.ndarray  # float16, every sentence of every record, in key order
    offsets: np.ndarray  # int64, len(keys) + 1: record i's sentences are offsets[i]:[i + 1]
    stamp: int = -1
    epoch: int = 0
    # records written since the build: (mean, sentences) by key; replaces the built row
    extra: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(np.count_nonzero(self.live)) + len(self.extra)

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + self.sentences.nbytes + self.keys.nbytes + self.offsets.nbytes

    def key(self, kind: str, record_id: int) -> int:
        return (self.kinds.index(kind) << 40) | record_id

    @classmethod
    def build(cls, connection: sa.Connection, kinds: tuple[str, ...]) -> VectorIndex:
        counters = versions(connection)
        table = MatchVector.__table__
        rows = connection.execute(
            sa.select(
                table.c.kind, table.c.record_id, table.c.vector, table.c.sentence_vectors
            ).where(table.c.kind.in_(kinds), table.c.vector != b"", table.c.model == embed.MODEL)
        ).all()
        codes = {k: i for i, k in enumerate(kinds)}
        keys = np.fromiter(
            ((codes[r[0]] << 40) | r[1] for r in rows), dtype=np.int64, count=len(rows)
        )
        order = np.argsort(keys).tolist()
        matrix = np.zeros((len(rows), embed.DIM), dtype=np.float32)
        if rows:
            data = np.frombuffer(b"".join(rows[i][2] for i in order), dtype=np.float16)
            matrix[:] = data.reshape(len(rows), embed.DIM)
        row_bytes = embed.DIM * 2
        counts = np.fromiter(
            (len(rows[i][3] or b"") // row_bytes for i in order), dtype=np.int64, count=len(rows)
        )
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        sentences = np.frombuffer(
            b"".join(rows[i][3] or b"" for i in order), dtype=np.float16
        ).reshape(-1, embed.DIM)
        built = cls(kinds, keys[order], matrix, sentences, offsets)
        built.stamp, built.epoch = counters.get("vectors", 0), counters.get("epoch", 0)
        return built

    ARRAYS = ("keys", "matrix", "sentences", "offsets")

    def save(self, folder: Path) -> None:
        """Arrays as .npy files (memory-mappable), written to a new folder that then takes
        the place of the old one, so a reader never sees half an index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        fresh = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        live = self.live.copy()
        if self.extra:
            live &= ~np.isin(self.keys, np.fromiter(self.extra, np.int64, len(self.extra)))
        keys, matrix, sentences = self.keys, self.matrix, self.sentences
        counts = np.diff(self.offsets)
        if self.extra or not live.all():
            kept = np.flatnonzero(live)
            spans = [self.sentences[self.offsets[i] : self.offsets[i + 1]] for i in kept.tolist()]
            extra_keys = np.fromiter(self.extra, np.int64, len(self.extra))
            keys = np.concatenate([self.keys[kept], extra_keys])
            rows = [self.matrix[kept], *(mean[None, :] for mean, _ in self.extra.values())]
            spans += [sent.astype(np.float16) for _, sent in self.extra.values()]
            order = np.argsort(keys, kind="stable")
            keys, matrix = keys[order], np.vstack(rows)[order]
            spans = [spans[i] for i in order.tolist()]
            counts = np.array([len(x) for x in spans], dtype=np.int64)
            sentences = np.vstack(spans) if spans else np.zeros((0, embed.DIM), np.float16)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        for name, array in (
            ("keys", keys),
            ("matrix", matrix),
            ("sentences", sentences),
            ("offsets", offsets),
        ):
            np.save(fresh / f"{name}.npy", np.ascontiguousarray(array))
        meta = {
            "kinds": list(self.kinds),
            "stamp": self.stamp,
            "epoch": self.epoch,
            "model": embed.MODEL,
            "dim": embed.DIM,
        }
        (fresh / "meta.json").write_text(json.dumps(meta))
        old = folder.with_name(f"{folder.name}.{os.getpid()}.old")
        try:  # another process may be saving the same index at the same moment: either wins
            if folder.exists():
                folder.rename(old)
            fresh.rename(folder)
        except OSError:
            logger.info("Vector index not saved to %s: another process saved it", folder)
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(
        cls, folder: Path, kinds: tuple[str, ...], epoch: int, stamp: int
    ) -> VectorIndex | None:
        """A saved index of this database no newer than its vectors, or None. Copy-on-write
        mapped: pages are read when used and shared with every process that maps them."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if (
                tuple(meta["kinds"]) != kinds
                or meta["epoch"] != epoch
                or meta["stamp"] > stamp
                or meta.get("model") != embed.MODEL
                or meta.get("dim") != embed.DIM
            ):
                return None
            arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="c") for n in cls.ARRAYS}
        except (OSError, KeyError, ValueError):
            return None
        loaded = cls(
            kinds, arrays["keys"], arrays["matrix"], arrays["sentences"], arrays["offsets"]
        )
        loaded.stamp, loaded.epoch = meta["stamp"], meta["epoch"]
        return loaded

    def absorb(self, connection: sa.Connection, current: int) -> None:
        table = MatchVector.__table__
        rows = connection.execute(
            sa.select(
                table.c.kind,
                table.c.record_id,
                table.c.vector,
                table.c.sentence_vectors,
                table.c.model,
            ).where(table.c.version > self.stamp, table.c.version <= current)
        )
        self.take((k, i, v if m == embed.MODEL else b"", s) for k, i, v, s, m in rows)
        self.stamp = current

    def take(self, rows: Iterable[tuple[str, int, bytes, bytes]]) -> None:
        for kind, record_id, data, sentence_data in rows:
            if kind not in self.kinds:
                continue
            key = self.key(kind, record_id)
            if data:
                sentences = unpack(sentence_data) if sentence_data else unpack(data)
                self.extra[key] = (unpack(data)[0], sentences)
            else:
                self.extra.pop(key, None)
            at = int(np.searchsorted(self.keys, key))
            if at < len(self.keys) and self.keys[at] == key:
                self.live[at] = False  # superseded (or gone): `extra` holds what is current

    @cached_property
    def live(self) -> np.ndarray:
        """Built rows that stand for a record (not deleted, not superseded by `extra`)."""
        return self.matrix.any(axis=1) if len(self.keys) else np.zeros(0, dtype=bool)

    def copy(self) -> VectorIndex:
        """A new index sharing the big arrays, with its own `extra` and `live`: changes are
        made to a copy and swapped in, never under a request that is reading."""
        twin = VectorIndex(
            self.kinds,
            self.keys,
            self.matrix,
            self.sentences,
            self.offsets,
            self.stamp,
            self.epoch,
            dict(self.extra),
        )
        twin.__dict__["live"] = self.live.copy()
        return twin


_lock = threading.Lock()
_process: dict[tuple[str, ...], VectorIndex] = {}


def _indexes() -> dict[tuple[str, ...], VectorIndex]:
    if has_app_context():
        return current_app.extensions.setdefault("vector_indexes", {})
    return _process


def get_vectors(
    connection: sa.Connection, kinds: tuple[str, ...] = PASSAGES, saved: Path | None = None
) -> VectorIndex:
    """This process's vector index of these kinds, current with what is committed. With
    `saved` (a folder next to the database, as the keyword index's file): loaded from what an
    earlier process left there — memory-mapped, so a cold `crm match` starts at once and
    processes share the pages — then brought up to date; saved again after a build."""
    current = versions(connection)
    stamp, epoch = current.get("vectors", 0), current.get("epoch", 0)
    indexes = _indexes()
    index = indexes.get(kinds)
    if index is not None and index.epoch == epoch and index.stamp == stamp:
        return index
    with _lock:
        index = indexes.get(kinds)
        if index is None and saved is not None:
            index = VectorIndex.load(saved, kinds, epoch, stamp)
        if index is not None and index.epoch == epoch and index.stamp < stamp:
            index = index.copy()  # others may be reading the current one
            index.absorb(connection, stamp)
            if len(index.extra) > REBUILD_AFTER:  # appended records: time to lay them out again
                index = None
        elif index is not None and (index.epoch != epoch or index.stamp > stamp):
            index = None
        if index is None:
            index = VectorIndex.build(connection, kinds)
            if saved is not None and index.size:
                index.save(saved)
        indexes[kinds] = index
    return index


def saved_path(instance: Path, database_url: str) -> Path:
    """Where processes leave the built vector index for each other (per database)."""
    name = hashlib.sha1(database_url.encode(), usedforsecurity=False).hexdigest()[:12]
    return instance / f"match-vectors-{name}"
