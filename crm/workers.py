"""Worker processes for text analysis: a big import's (or a batch match's) records are
analysed by forked workers while the main process reads the next chunk.

Workers are forked once the analyzer is loaded (jieba's dictionary is then shared), and only
from a single-threaded process: a web worker analyses in process instead.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

from crm.search.index import term_rows
from crm.text.analyzer import get_analyzer
from crm.text.docs import Rows

BIG = 2000  # records in one submission worth a worker


def _may_fork() -> bool:
    """Fork only a single-threaded process (`crm import`, `crm seed`): a child forked from a
    threaded one (a gunicorn gthread worker serving other requests) can inherit a lock another
    thread held at that instant and hang for ever — seen when a worker was killed mid-import
    and the import was confirmed again. The web analyses in process instead."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class AnalysisPool:
    """A pool of worker processes for text analysis, started only when an import is big."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Pool | None = None

    def submit(self, kind: str, ids: list[int], records: list[dict[str, Any]]) -> Any:
        """The index rows of these new records, now or (a big chunk) from a worker."""
        big = len(records) >= BIG  # a small import never starts processes
        if big and self.workers > 1 and _may_fork():
            if self._pool is None:
                get_analyzer().tokens("预热")  # load jieba once; the workers inherit it
                self._pool = multiprocessing.get_context("fork").Pool(self.workers)
            return self._pool.apply_async(term_rows, (kind, ids, records))
        return term_rows(kind, ids, records)

    @staticmethod
    def ready(pending: Any) -> bool:
        return not isinstance(pending, AsyncResult) or pending.ready()

    @staticmethod
    def result(pending: Any) -> Rows:
        return pending.get() if isinstance(pending, AsyncResult) else pending

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))
