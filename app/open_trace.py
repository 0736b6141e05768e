"""The trace the user has open: loaded on the `QueryWorker` when selected, and loaded again
when a commit touches it, so its waterfall grows while its spans are still arriving."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.workers import QueryWorker
from receiver import IngestEvent, TraceDetail

__all__ = ["OpenTrace"]


class OpenTrace(QObject):
    sig_loaded = Signal(object)  # TraceDetail of the open trace (again, with more spans, as it grows)
    sig_closed = Signal()  # nothing is open (deselected, or the trace was deleted)
    sig_failed = Signal(str)

    def __init__(self, worker: QueryWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.trace_id: str | None = None
        self.detail: TraceDetail | None = None

    def open(self, trace_id: str | None) -> None:
        if trace_id == self.trace_id:
            return
        self.trace_id, self.detail = trace_id, None
        if trace_id is None:
            self.worker.ask(lambda store: None, lambda _: None, key="open-trace")  # drops a load in flight
            self.sig_closed.emit()
            return
        self._load()

    def on_spans_ingested(self, event: IngestEvent) -> None:
        if self.trace_id is None:
            return
        if self.trace_id in getattr(event, "deleted_trace_ids", ()) or getattr(event, "cleared", False):
            self.open(None)
        elif self.trace_id in event.trace_ids:
            self._load()

    def _load(self) -> None:
        trace_id = self.trace_id
        self.worker.ask(lambda store: store.get_trace(trace_id), lambda detail: self._apply(trace_id, detail),
                        key="open-trace", on_failed=self.sig_failed.emit)

    def _apply(self, trace_id: str, detail: TraceDetail) -> None:
        if trace_id == self.trace_id:
            self.detail = detail
            self.sig_loaded.emit(detail)
