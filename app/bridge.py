"""From the receiver's commits (on its writer thread) to one Qt signal on the GUI thread.

The writer may commit dozens of times a second under load; views refresh far less often.
So the events are coalesced: the first commit after a quiet spell starts a short timer on
the GUI thread, later commits only add their trace ids, and when the timer fires
`sig_spans_ingested` is emitted once with everything that arrived meanwhile. A view sees new
data within `interval_ms` of its commit, and never more often than that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from receiver import IngestEvent

__all__ = ["ReceiverBridge"]

DEFAULT_INTERVAL_MS = 200  # under the app's "within a second", over a frame or two


class ReceiverBridge(QObject):
    """Lives on the GUI thread; `subscribe` is `Receiver.subscribe` (or anything alike)."""

    sig_spans_ingested = Signal(object)  # IngestEvent: the union of the coalesced commits
    _sig_first_arrived = Signal()  # writer thread -> GUI thread (a queued connection)

    def __init__(self, subscribe: Callable[[Callable[[IngestEvent], None]], Callable[[], None]], *,
                 interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: IngestEvent | None = None
        self._timer = QTimer(self, singleShot=True, interval=interval_ms)
        self._timer.timeout.connect(self._emit_pending)
        self._sig_first_arrived.connect(self._timer.start)
        self._unsubscribe: Callable[[], None] | None = subscribe(self._on_commit)

    def close(self) -> None:
        """Stop listening; what is pending is dropped."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._timer.stop()
        with self._lock:
            self._pending = None

    def _on_commit(self, event: IngestEvent) -> None:
        # the writer thread: add to the pending union, and wake the GUI thread only for the first
        with self._lock:
            first = self._pending is None
            self._pending = event if first else _union(self._pending, event)
        if first:
            self._sig_first_arrived.emit()

    @Slot()
    def _emit_pending(self) -> None:
        with self._lock:
            event, self._pending = self._pending, None
        if event is not None:
            self.sig_spans_ingested.emit(event)


def _union(a: IngestEvent, b: IngestEvent) -> IngestEvent:
    # `b` came later: what it deleted (or cleared) of `a`'s new data is gone; a trace left in
    # both sets was deleted and then got new data
    kept = frozenset() if b.cleared else a.trace_ids - b.deleted_trace_ids
    return IngestEvent(kept | b.trace_ids, a.spans_written + b.spans_written,
                       a.logs_written + b.logs_written, a.metric_points_written + b.metric_points_written,
                       a.deleted_trace_ids | b.deleted_trace_ids, a.cleared or b.cleared,
                       a.derived_updated or b.derived_updated)
