"""What the writer announces after each commit, and who is told.

Callbacks run on the writer thread, after the data is committed: they must be quick and
must not block (the app's bridge only emits a Qt signal). A failing callback is logged and
never reaches the writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """One commit. Deletions are announced too: `deleted_trace_ids` are gone (their
    `trace_ids` are other traces whose totals changed as a result), and `cleared` says that
    everything was deleted. Where events are merged, a trace in both sets was deleted and
    then got new data."""

    trace_ids: frozenset[str]  # traces that got new spans or log records (or new totals)
    spans_written: int
    logs_written: int = 0
    metric_points_written: int = 0
    deleted_trace_ids: frozenset[str] = frozenset()
    cleared: bool = False
    derived_updated: bool = False  # what is read after commits (cost by attribute) caught up


Subscriber = Callable[[IngestEvent], None]


class Subscribers:
    """A thread-safe list of callbacks; `subscribe` returns the function that undoes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def publish(self, event: IngestEvent) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("ingest subscriber %r failed", callback)
