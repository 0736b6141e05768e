"""Keeps the trace list live: the queries behind `TraceListModel`, run on the `QueryWorker`.

- a filter change reloads the first page (key "list": a user typing supersedes each keystroke's query);
- the view scrolling to the end asks for the next page (`sig_more_wanted`);
- every coalesced commit (`ReceiverBridge.sig_spans_ingested`) re-reads the first page and
  the loaded traces it touched, and merges them in place, so new runs appear at the top and
  growing ones update while selection and scroll stay where the user left them;
- deleted traces leave the list; a cleared database empties it.

Answers for an older filter are dropped by generation, since pages of two filters must never mix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.list_filter import ListFilter
from app.models.trace_list_model import TraceListModel
from app.workers import QueryWorker
from receiver import IngestEvent, TraceFilter, TracePage, TraceStore, TraceSummary

__all__ = ["PAGE_SIZE", "TraceListController"]

PAGE_SIZE = 200  # rows per page: a screenful many times over, one quick indexed query


class TraceListController(QObject):
    sig_loaded = Signal(bool)  # a first page arrived; True when the list shows no trace at all
    sig_traces_arrived = Signal(list)  # trace ids of new rows a refresh inserted, newest first
    sig_failed = Signal(str)

    def __init__(self, worker: QueryWorker, model: TraceListModel, *, page_size: int = PAGE_SIZE,
                 clock_ns: Callable[[], int] = time.time_ns, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker, self.model = worker, model
        self._page_size = page_size
        self._clock_ns = clock_ns
        self._filter = ListFilter()
        self._generation = 0
        self.loaded_once = False
        model.sig_more_wanted.connect(self._load_more)

    @property
    def list_filter(self) -> ListFilter:
        return self._filter

    def set_filter(self, list_filter: ListFilter) -> None:
        self._filter = list_filter
        self.reload()

    def reload(self) -> None:
        """Replace the list with the first page of the current filter."""
        self._generation += 1
        generation, trace_filter, limit = self._generation, self._trace_filter(), self._page_size
        self.worker.ask(lambda store: store.list_traces(trace_filter, limit=limit),
                        lambda page: self._apply_first_page(generation, page), key="list",
                        on_failed=self.sig_failed.emit)

    def on_spans_ingested(self, event: IngestEvent) -> None:
        if event.cleared:
            self.reload()
            return
        if event.deleted_trace_ids:
            self.model.remove_traces(event.deleted_trace_ids)
        if not event.trace_ids:
            return
        loaded = set(self.model.trace_ids())
        touched = sorted(event.trace_ids & loaded)
        generation, trace_filter, limit = self._generation, self._trace_filter(), self._page_size

        def refresh(store: TraceStore) -> list[TraceSummary]:
            first = store.list_traces(trace_filter, limit=limit).traces
            seen = {t.trace_id for t in first}
            return first + [t for t in store.get_trace_summaries(touched) if t.trace_id not in seen]

        pinned_only = trace_filter.pinned_only
        self.worker.ask(refresh, lambda traces: self._apply_refresh(generation, traces, pinned_only),
                        key="list-refresh", on_failed=self.sig_failed.emit)

    # --- answers (GUI thread) -----------------------------------------------------------

    def _trace_filter(self) -> TraceFilter:
        return self._filter.to_trace_filter(self._clock_ns())

    def _apply_first_page(self, generation: int, page: TracePage) -> None:
        if generation != self._generation:
            return
        self.model.reset_pages(page)
        self.loaded_once = True
        self.sig_loaded.emit(not page.traces)

    def _apply_refresh(self, generation: int, traces: list[TraceSummary], pinned_only: bool = False) -> None:
        if generation != self._generation:
            return
        if pinned_only:  # a trace unpinned while only pinned ones are listed leaves the list
            unpinned = {t.trace_id for t in traces if not t.pinned}
            if unpinned:
                self.model.remove_traces(unpinned)
                traces = [t for t in traces if t.pinned]
        was_empty = self.model.rowCount() == 0
        before = set(self.model.trace_ids())
        self.model.merge(traces)
        arrived = [t for t in self.model.trace_ids() if t not in before]
        if arrived:
            self.sig_traces_arrived.emit(arrived)
        if was_empty and self.model.rowCount():
            self.sig_loaded.emit(False)

    def _load_more(self, cursor: tuple[int, str]) -> None:
        generation, trace_filter, limit = self._generation, self._trace_filter(), self._page_size
        self.worker.ask(lambda store: store.list_traces(trace_filter, limit=limit, after=cursor),
                        lambda page: self._apply_more(generation, page), key="list-more",
                        on_failed=self.sig_failed.emit)

    def _apply_more(self, generation: int, page: TracePage) -> None:
        if generation == self._generation:
            self.model.append_page(page)
