"""What the writer thread is handed: a request's batch as a `WriteTicket` (committed, then
released), or a `Job` (a function of the write connection run between two batches); and
`Written`, what a request added."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from receiver.errors import StorageFailed
from receiver.records import WriteBatch
from receiver.storage.batch_rows import span_rows_json

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Written:
    """Rows a request added (re-sent items that were already stored are not counted)."""

    spans: int = 0
    logs: int = 0
    metric_points: int = 0

    def __add__(self, other: Written) -> Written:
        return Written(self.spans + other.spans, self.logs + other.logs,
                       self.metric_points + other.metric_points)


class WriteTicket:
    """One request's batch on its way to the database; `wait` returns once it is committed."""

    __slots__ = ("batch", "span_rows_json", "_done", "error", "written")

    def __init__(self, batch: WriteBatch) -> None:
        self.batch = batch
        # Encoded by the submitting (decoding) thread: the writer thread is the pipeline's
        # narrow stage, so it should only have SQLite left to do.
        self.span_rows_json = span_rows_json(batch.span_rows)
        self._done = threading.Event()
        self.error: Exception | None = None
        self.written = Written()

    def wait(self, timeout: float) -> Written:
        """Block until committed; return what was new. Raises the write's error."""
        if not self._done.wait(timeout):
            raise StorageFailed(f"the database did not commit within {timeout:g} s; retry later")
        if self.error is not None:
            raise self.error
        return self.written

    def _finish(self, error: Exception | None = None) -> None:
        self.error = error
        self._done.set()


class Job(Generic[T]):
    """A function of the write connection, run by the writer thread (see `run_job`)."""

    __slots__ = ("work", "before", "after_commit", "started", "_done", "result", "error")

    def __init__(self, work: Callable[[sqlite3.Connection], T], *,
                 before: Callable[[sqlite3.Connection], None] | None = None,
                 after_commit: Callable[[T], None] | None = None) -> None:
        self.work, self.before, self.after_commit = work, before, after_commit
        self.started = False  # set by the writer thread under the writer's lock
        self._done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self._done.set()
